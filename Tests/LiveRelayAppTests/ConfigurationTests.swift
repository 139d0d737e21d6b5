import HTTPServer
import Testing
@testable import LiveRelayApp

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsAreTheDocumentedPorts() {
        let configuration = Configuration()
        #expect(configuration.http.port == 8080)
        #expect(configuration.rtmp.port == 1935)
        #expect(configuration.rtmp.application == "live")
        #expect(configuration.database.url.isEmpty)
    }

    @Test func fileOverridesOnlyWhatItSets() throws {
        let configuration = try Configuration.parse(yaml: """
            http:
              port: 9090
            database:
              url: postgres://lr@db/liverelay
            demo:
              enabled: true
            """)
        #expect(configuration.http.port == 9090)
        #expect(configuration.http.host == "0.0.0.0")
        #expect(configuration.database.url == "postgres://lr@db/liverelay")
        #expect(configuration.demo.enabled)
        #expect(configuration.rtmp.port == 1935)
    }

    @Test func typosAreErrorsNotSilence() {
        #expect(throws: ConfigurationError.self) {
            try Configuration.parse(yaml: "rtmp:\n  prot: 1936\n")
        }
        #expect(throws: ConfigurationError.self) {
            try Configuration.parse(yaml: "http:\n  port: eighty\n")
        }
    }

    @Test func environmentOverridesFile() throws {
        var configuration = try Configuration.parse(yaml: "http:\n  port: 9090\n")
        try configuration.applyEnvironment([
            "LIVERELAY_HTTP_PORT": "7070", "LIVERELAY_ADMIN_TOKEN": "t", "LIVERELAY_DEMO": "true",
            "LIVERELAY_DATABASE_URL": "postgres://x@y/z", "UNRELATED": "1",
        ])
        #expect(configuration.http.port == 7070)
        #expect(configuration.admin.token == "t")
        #expect(configuration.demo.enabled)
        #expect(configuration.database.url == "postgres://x@y/z")
        #expect(throws: ConfigurationError.self) {
            try configuration.applyEnvironment(["LIVERELAY_RTMP_PORT": "abc"])
        }
    }

    @Test func impossibleValuesAreRejected() {
        var configuration = Configuration()
        configuration.http.port = 70000
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration = Configuration()
        configuration.log.level = "loud"
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }

    @Test("every exhaustion limit has a key, a default and a check")
    func exhaustionLimitsAreConfigurable() throws {
        let defaults = Configuration()
        #expect(defaults.rtmp.publishTimeoutSeconds == 10)
        #expect(defaults.rtmp.maximumConnectionsPerAddress == 16)
        #expect(defaults.http.maximumConnectionsPerAddress == 128)
        #expect(defaults.http.headerTimeoutSeconds == 10)
        #expect(defaults.http.maximumBlockingRequestsPerAddress == 64)
        #expect(defaults.http.reactionPageLimit == 1000)
        let configuration = try Configuration.parse(yaml: """
            rtmp: { publishTimeoutSeconds: 3, maximumConnectionsPerAddress: 4 }
            http: { maximumConnections: 500, maximumConnectionsPerAddress: 8, headerTimeoutSeconds: 5, bodyTimeoutSeconds: 6,
                    idleTimeoutSeconds: 7, maximumBlockingRequests: 100, maximumBlockingRequestsPerAddress: 2, reactionPageLimit: 50 }
            """)
        try configuration.validate()
        #expect(configuration.rtmp.publishTimeoutSeconds == 3 && configuration.rtmp.maximumConnectionsPerAddress == 4)
        #expect(configuration.http.maximumConnections == 500 && configuration.http.maximumConnectionsPerAddress == 8)
        #expect(configuration.http.headerTimeoutSeconds == 5 && configuration.http.bodyTimeoutSeconds == 6)
        #expect(configuration.http.idleTimeoutSeconds == 7 && configuration.http.maximumBlockingRequests == 100)
        #expect(configuration.http.maximumBlockingRequestsPerAddress == 2 && configuration.http.reactionPageLimit == 50)
        let limits = HTTPConnectionLimits(configuration.http)
        #expect(limits == HTTPConnectionLimits(maximumConnections: 500, maximumConnectionsPerAddress: 8, headerTimeout: .seconds(5),
                                               bodyTimeout: .seconds(6)))

        for adjust: (inout Configuration) -> Void in [
            { $0.rtmp.publishTimeoutSeconds = 0 }, { $0.rtmp.maximumConnectionsPerAddress = 0 },
            { $0.http.headerTimeoutSeconds = 0 }, { $0.http.maximumBlockingRequestsPerAddress = 0 }, { $0.http.reactionPageLimit = 0 },
        ] {
            var broken = Configuration()
            adjust(&broken)
            #expect(throws: ConfigurationError.self) { try broken.validate() }
        }
    }
}

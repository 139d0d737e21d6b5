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
}

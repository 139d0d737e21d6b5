import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import LiveRelayApp

/// The event WebSocket against abuse: pages from other origins refused when origins are configured, a connection
/// closed when its token expires, anonymous reactions limited per address rather than per connection.
@Suite("Event channel hardening", .serialized)
struct EventChannelHardeningTests {
    /// Opens the channel; runs `body` with the outbound writer's text sink; returns the close frame's code and what
    /// was received, or the error the upgrade failed with.
    static func session(_ server: TestServer, stream: String, query: String = "", origin: String? = nil,
                        send: [String] = [], holdFor: Duration = .seconds(30)) async throws -> (code: UInt16?, received: [String]) {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        if let origin { configuration.additionalHeaders[.origin] = origin }
        let received = NIOLockedValueBox<[String]>([])
        var logger = Logger(label: "test.ws")
        logger.logLevel = .critical
        let close = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.endpoints.httpPort)/api/streams/\(stream)/events\(query)",
                                                      configuration: configuration, logger: logger) { inbound, outbound, _ in
            for text in send { try await outbound.write(.text(text)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { received.withLockedValue { $0.append(text) } }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: holdFor)
                    try await outbound.close(.normalClosure, reason: nil)
                }
                try await group.next()
                group.cancelAll()
            }
        }
        let code: UInt16? = close.map { frame in
            switch frame.closeCode {
            case .unknown(let raw): raw
            case .normalClosure: 1000
            case .policyViolation: 1008
            default: 0
            }
        }
        return (code, received.withLockedValue { $0 })
    }

    @Test func pagesFromOtherOriginsAreRefused() async throws {
        // The WebSocket client sends an Origin of its own (ws://127.0.0.1) before any it is given.
        let server = try await TestServer { $0.http.allowedOrigins = ["https://watch.example", "ws://127.0.0.1"] }
        _ = try await server.createStream("show")
        let refused = try await WHEPTests.whep(server, "GET", "/api/streams/show/events", headers: ["Origin": "https://evil.example"])
        #expect(refused.status == 403, "\(String(decoding: refused.body, as: UTF8.self))")
        await #expect(throws: (any Error).self) {
            _ = try await Self.session(server, stream: "show", origin: "https://evil.example", holdFor: .milliseconds(200))
        }
        let allowed = try await Self.session(server, stream: "show", origin: "https://watch.example", holdFor: .milliseconds(300))
        #expect(allowed.received.contains { $0.contains("stream.status") })
        // Not a browser page (no Origin): not judged by it.
        #expect(try await WHEPTests.whep(server, "GET", "/api/streams/show/events").status == 426)
        try await server.stop()
    }

    @Test func aConnectionEndsWhenItsTokenExpires() async throws {
        let server = try await TestServer()
        _ = try await server.createStream("vip", private: true)
        let token = try await server.token("vip", role: "viewer", sub: "brief", ttl: 2)
        let (code, received) = try await Self.session(server, stream: "vip", query: "?token=\(token)")
        #expect(code == 4001, "closed with \(String(describing: code)) after \(received.count) messages")
        try await server.stop()
    }

    @Test func aBanOrARevocationEndsTheOpenConnectionsItConcerns() async throws {
        let server = try await TestServer()
        _ = try await server.createStream("show")
        let moderator = try await server.token("show", role: "moderator", sub: "mod")
        let troll = try await server.token("show", role: "viewer", sub: "troll")
        let minted = try await server.call("POST", "/api/streams/show/tokens", token: TestServer.adminToken,
                                           json: ["role": "viewer", "sub": "leaky"])
        let leaky = try #require(minted.json["token"] as? String)
        let leakyID = try #require(minted.json["id"] as? String)
        let bystander = try await server.token("show", role: "viewer", sub: "calm")

        async let trollSession = Self.session(server, stream: "show", query: "?token=\(troll)", holdFor: .seconds(20))
        async let leakySession = Self.session(server, stream: "show", query: "?token=\(leaky)", holdFor: .seconds(20))
        async let calmSession = Self.session(server, stream: "show", query: "?token=\(bystander)", holdFor: .seconds(3))
        try await Task.sleep(for: .seconds(1))
        #expect(try await server.call("POST", "/api/streams/show/bans", token: moderator, json: ["sub": "troll"]).status == 201)
        #expect(try await server.call("DELETE", "/api/streams/show/tokens/\(leakyID)", token: TestServer.adminToken).status == 204)
        let (trollCode, _) = try await trollSession
        let (leakyCode, _) = try await leakySession
        let (calmCode, calmReceived) = try await calmSession
        #expect(trollCode == 4003)
        #expect(leakyCode == 4004)
        #expect(calmCode == nil, "the bystander stays until it closes the connection itself: \(String(describing: calmCode))")
        #expect(calmReceived.contains { $0.contains("user.banned") })
        try await server.stop()
    }

    @Test func anonymousReactionsShareOneAllowancePerAddress() async throws {
        let server = try await TestServer { configuration in
            configuration.audience.reactionsPerSecond = 0.1
            configuration.audience.reactionBurst = 5
        }
        _ = try await server.createStream("show")
        let reaction = #"{"type":"reaction","reaction":"heart"}"#
        let first = try await Self.session(server, stream: "show", send: Array(repeating: reaction, count: 5), holdFor: .milliseconds(500))
        #expect(!first.received.contains { $0.contains("rate_limited") }, "the burst is allowed: \(first.received)")
        // Another connection from the same address starts with nothing left.
        let second = try await Self.session(server, stream: "show", send: [reaction], holdFor: .milliseconds(500))
        #expect(second.received.contains { $0.contains("rate_limited") }, "\(second.received)")
        try await server.stop()
    }
}

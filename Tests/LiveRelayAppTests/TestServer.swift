import Foundation
import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
@testable import LiveRelayApp
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A whole LiveRelay node on loopback with ephemeral ports and its own data directory.
final class TestServer: Sendable {
    let server: LiveRelayServer
    let endpoints: ServerEndpoints
    let dataDirectory: String
    private let task: Task<Void, any Error>

    static let adminToken = "test-admin-token-0123456789abcdef0123456789"

    static func makeConfiguration(dataDirectory: String) -> Configuration {
        var configuration = Configuration()
        configuration.http.host = "127.0.0.1"
        configuration.http.port = 0
        configuration.rtmp.host = "127.0.0.1"
        configuration.rtmp.port = 0
        configuration.dataDirectory = dataDirectory
        configuration.admin.token = adminToken
        // The ladder costs a core per publisher; tests that check the rungs turn it on.
        configuration.transcoder.enabled = false
        // An ephemeral media port: a developer's server may hold 10000.
        configuration.webrtc.port = 0
        // Every test client shares one address (loopback); tests of the per-address caps set their own.
        configuration.http.maximumConnectionsPerAddress = configuration.http.maximumConnections
        configuration.rtmp.maximumConnectionsPerAddress = configuration.rtmp.maximumConnections
        // Every test client comes from 127.0.0.1; the per-address WHEP limits have tests of their own (WHEPFloodTests).
        configuration.webrtc.offersPerSecondPerIP = 1000
        configuration.webrtc.offerBurstPerIP = 1000
        return configuration
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-test-\(UUID().uuidString.prefix(8))").path
    }

    init(configuration: Configuration) async throws {
        var logger = Logger(label: "test.liverelay")
        // LIVERELAY_TEST_LOG_LEVEL=debug shows the server's own decisions (layer switches, probes) while a test runs.
        logger.logLevel = ProcessInfo.processInfo.environment["LIVERELAY_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .notice
        let server = LiveRelayServer(configuration: configuration, logger: logger)
        self.server = server
        self.dataDirectory = configuration.dataDirectory
        self.task = Task { try await server.run(handleSignals: false) }
        self.endpoints = try await server.endpoints()
    }

    convenience init(_ adjust: (inout Configuration) -> Void = { _ in }) async throws {
        var configuration = Self.makeConfiguration(dataDirectory: Self.temporaryDirectory())
        adjust(&configuration)
        try await self.init(configuration: configuration)
    }

    var router: MediaRouter { server.router }
    var baseURL: String { "http://127.0.0.1:\(endpoints.httpPort)" }
    func rtmpURL(key: String) -> String { "rtmp://127.0.0.1:\(endpoints.rtmpPort)/live/\(key)" }

    /// Stops the node and waits for it; keeps the data directory when asked (restart tests).
    func stop(keepData: Bool = false) async throws {
        await server.shutdown()
        try await task.value
        if !keepData { try? FileManager.default.removeItem(atPath: dataDirectory) }
    }

    // MARK: HTTP

    struct HTTPResult {
        var status: Int
        var body: Data
        var headers: [String: String]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    func request(_ method: String, _ path: String, json: Any? = nil, rawBody: Data? = nil, admin: Bool = true) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        if admin { request.setValue("Bearer \(Self.adminToken)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let rawBody {
            request.httpBody = rawBody
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return HTTPResult(status: http.statusCode, body: data, headers: headers)
    }

    /// Creates a stream through the API and returns its publish key.
    func createStream(_ name: String, private isPrivate: Bool = false) async throws -> String {
        let result = try await request("POST", "/api/streams", json: ["name": name, "private": isPrivate])
        guard result.status == 201, let key = result.json["publishKey"] as? String else {
            throw TestFailure("creating \(name) answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
        return key
    }

    func streamInfo(_ name: String) async throws -> [String: Any] {
        try await request("GET", "/api/streams/\(name)").json
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `timeout` passes; the condition decides the test, the timeout only bounds it.
func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// Counts what the router delivers for one stream.
final class FrameCounter: MediaObserver {
    struct Counts {
        var started = 0
        var ended = 0
        var videoFrames = 0
        var audioFrames = 0
        var keyframes = 0
        var framesWithReordering = 0
        var video: VideoTrackConfig?
        var audio: AudioTrackConfig?
    }

    private let state = NIOLockedValueBox(Counts())
    var counts: Counts { state.withLockedValue { $0 } }

    func handle(_ event: MediaEvent, stream: String) {
        state.withLockedValue { counts in
            switch event {
            case .started: counts.started += 1
            case .ended: counts.ended += 1
            case .videoConfiguration(let config): counts.video = config
            case .audioConfiguration(let config): counts.audio = config
            case .frame(let frame):
                switch frame.kind {
                case .video:
                    counts.videoFrames += 1
                    if frame.isKeyframe { counts.keyframes += 1 }
                    if frame.pts != frame.dts { counts.framesWithReordering += 1 }
                case .audio:
                    counts.audioFrames += 1
                }
            }
        }
    }
}

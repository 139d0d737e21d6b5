import Foundation
import Logging
import Yams

/// Everything an operator can set. Embedded defaults run a complete server; a YAML file, then `LIVERELAY_*`
/// environment variables, then command-line flags override them, in that order.
public struct Configuration: Sendable, Codable, Equatable {
    public struct HTTP: Sendable, Codable, Equatable {
        public var host = "0.0.0.0"
        public var port = 8080
        /// The base URL viewers reach this node at, used in logged links; derived from host/port when empty.
        public var publicURL = ""
        /// The browser pages (viewer, moderator) served at `/` and `/watch/{stream}`.
        public var pagesDirectory = "signaling"
        /// Origins (`https://example.com`) whose pages may open the event WebSocket; empty: any origin.
        public var allowedOrigins: [String] = []
        /// Connections at once, overall and from one IP address; more are closed on accept.
        public var maximumConnections = 10_000
        public var maximumConnectionsPerAddress = 128
        /// A request head must be complete this long after the connection opens (or after a later request's first
        /// bytes); its body this long after the head. Slow senders (slowloris) are closed.
        public var headerTimeoutSeconds = 10.0
        public var bodyTimeoutSeconds = 30.0
        /// A keep-alive connection with no request for this long is closed.
        public var idleTimeoutSeconds = 60.0
        /// Requests held waiting for media (LL-HLS blocking reloads, preload hints), overall and from one IP address
        /// (429 beyond it, 503 beyond the overall pool).
        public var maximumBlockingRequests = 4096
        public var maximumBlockingRequestsPerAddress = 64
        /// Most rows one `GET /api/streams/{s}/reactions` page returns (`limit` may ask for fewer).
        public var reactionPageLimit = 1000
        public init() {}
    }

    public struct RTMP: Sendable, Codable, Equatable {
        public var host = "0.0.0.0"
        public var port = 1935
        public var application = "live"
        public var maximumChunkSize = 65536
        public var maximumMessageLength = 8 * 1024 * 1024
        public var maximumChunkStreams = 64
        public var idleTimeoutSeconds = 4.0
        /// From TCP accept to an accepted `publish`; a connection that has not published by then is closed.
        public var publishTimeoutSeconds = 10.0
        public var maximumConnections = 256
        /// Connections at once from one IP address (an encoder needs one; a few more cover reconnects and NAT).
        public var maximumConnectionsPerAddress = 16
        public init() {}
    }

    public struct Storage: Sendable, Codable, Equatable {
        /// Empty: SQLite in the data directory. `postgres://user:password@host:5432/db` for several nodes.
        public var url = ""
        public init() {}
    }

    public struct Admin: Sendable, Codable, Equatable {
        /// Bearer token for the admin API, at least 32 bytes. Empty: generated once, stored in the data directory
        /// (mode 0600) and printed to a terminal.
        public var token = ""
        public init() {}
    }

    public struct Log: Sendable, Codable, Equatable {
        public var level = "info"
        /// `auto` (text on a terminal, JSON otherwise), `text` or `json`.
        public var format = "auto"
        public init() {}
    }

    public struct Demo: Sendable, Codable, Equatable {
        public var enabled = false
        public var stream = "demo"
        public var width = 1280
        public var height = 720
        public var fps = 30
        public init() {}
    }

    public struct Audience: Sendable, Codable, Equatable {
        /// HS256 secret of viewer and moderator tokens, at least 32 bytes. Empty: generated once and kept in the data
        /// directory.
        public var tokenKey = ""
        /// The key `tokenKey` replaced: tokens it signed still verify until `previousTokenKeyUntil` (RFC 3339), so a
        /// key is rotated without logging every viewer out. Empty: no previous key.
        public var previousTokenKey = ""
        public var previousTokenKeyUntil = ""
        public var reactionTypes = ["heart", "like", "laugh", "wow", "clap", "fire"]
        /// Per user and stream: a token bucket of this rate with this burst (429 beyond it).
        public var commentsPerSecond = 1.0
        public var commentBurst = 5
        public var reactionsPerSecond = 20.0
        public var reactionBurst = 40
        /// How long a signed DASH/HLS URL of a private stream stays good (seconds; a viewer past it reloads the
        /// manifest with a token).
        public var mediaURLLifetimeSeconds = 7200
        public init() {}
    }

    public struct Metrics: Sendable, Codable, Equatable {
        /// Streams whose names may appear in `/metrics` labels; every other stream is labelled by a keyed hash
        /// (`StreamMetricLabel`), so private names never reach the metrics store.
        public var streamLabels: [String] = []
        public init() {}
    }

    /// DASH/HLS packaging (see PackagerWiring.swift); every key optional.
    public struct Transcoding: Sendable, Codable, Equatable {
        /// Re-encode lower H.264 rungs for DASH/HLS (and, with WebRTC egress, the VP8 ladder). Off: source only.
        public var enabled = true
        /// `720p 1280x720 2500k`, `360p 640x360 800k`, `180p 320x180 200k` by default; never upscaled. For DASH/HLS the
        /// top rung is the source itself (passthrough): 720p is not re-encoded to H.264 unless `cmaf: true` says so.
        public var ladder = [
            Rung(name: "720p", width: 1280, height: 720, fps: 30, videoKbps: 2500, cmaf: false),
            Rung(name: "360p", width: 640, height: 360, fps: 30, videoKbps: 800),
            Rung(name: "180p", width: 320, height: 180, fps: 30, videoKbps: 200),
        ]
        /// Encode the VP8 layers of rungs that are exact scalings of each other together (libvpx's multi-resolution
        /// encoder, as libwebrtc does): less CPU, and a keyframe on one layer is a keyframe on all. Off: one each.
        public var vp8Simulcast = true
        public init() {}

        public struct Rung: Sendable, Codable, Equatable {
            public var name: String
            public var width: Int
            public var height: Int
            public var fps: Int
            public var videoKbps: Int
            /// `false`: no H.264 re-encode of this rung for DASH/HLS (its VP8 layer for WebRTC stays). Unset: re-encoded
            /// when smaller than the source.
            public var cmaf: Bool?

            public init(name: String, width: Int, height: Int, fps: Int, videoKbps: Int, cmaf: Bool? = nil) {
                self.name = name
                self.width = width
                self.height = height
                self.fps = fps
                self.videoKbps = videoKbps
                self.cmaf = cmaf
            }
        }
    }

    public struct Packaging: Sendable, Codable, Equatable {
        public var windowSeconds = 600.0
        public var segmentSeconds = 2.0
        public var partSeconds = 0.5
        public var maximumBytesPerStream = 768 * 1024 * 1024
        /// All streams together; each stream's share is this over the streams packaged (at most the above).
        public var maximumBytes = 4 * 1024 * 1024 * 1024
        /// Also write every segment here, one directory per publisher session with HLS playlists (a recording);
        /// empty: off.
        public var recordingDirectory = ""
        public init() {}
    }

    /// WebRTC egress (WHEP + one UDP port for every viewer).
    public struct WebRTC: Sendable, Codable, Equatable {
        public var enabled = true
        public var host = "0.0.0.0"
        public var port = 10000
        /// Host candidates announced to viewers; empty: every local interface address. Set the public
        /// addresses behind NAT or in a cloud.
        public var publicAddresses: [String] = []
        /// A viewer is dropped after this long without a consent check (RFC 7675).
        public var consentTimeoutSeconds = 30.0
        /// Viewers stay this long after the publisher stops, for a publisher that reconnects.
        public var offlineGraceSeconds = 10.0
        public var maximumViewers = 5000
        /// Event loops the viewers are spread over, each with its own socket on `port` (SO_REUSEPORT); 0: one per
        /// CPU core.
        public var threads = 0
        /// Each viewer's video is paced at this many times the larger of its bandwidth estimate and its rung's
        /// cost; 0 turns pacing off (a frame's packets go back to back).
        public var pacingFactor = 2.5
        /// A session that has not completed ICE and DTLS this long after its answer is freed.
        public var connectTimeoutSeconds = 10.0
        /// Sessions one IP address may hold that have not connected yet; more offers get 429.
        public var maximumPendingSessionsPerIP = 10
        /// WHEP offers per second one IP address may post (a token bucket), and the burst it may save up.
        public var offersPerSecondPerIP = 5.0
        public var offerBurstPerIP = 10
        public init() {}
    }

    public var http = HTTP()
    public var rtmp = RTMP()
    public var database = Storage()
    public var admin = Admin()
    public var log = Log()
    public var demo = Demo()
    public var audience = Audience()
    public var metrics = Metrics()
    public var packager = Packaging()
    public var transcoder = Transcoding()
    public var webrtc = WebRTC()
    public var dataDirectory = "./data"

    public init() {}
}

public enum ConfigurationError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)
    case badValue(name: String, value: String)
    /// A secret shorter than the minimum; its value is never repeated in the message.
    case secretTooShort(name: String, minimum: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read config file \(path): \(reason)"
        case .invalid(let path, let reason): return "config file \(path) is not valid: \(reason)"
        case .badValue(let name, let value): return "\(name)=\(value) is not a valid value"
        case .secretTooShort(let name, let minimum):
            return "\(name) is shorter than \(minimum) bytes: use at least \(minimum) random bytes (e.g. `openssl rand -hex 32`), " +
                "or leave it empty to have one generated into the data directory"
        }
    }
}

extension Configuration {
    /// Reads a YAML file; keys left out keep their defaults, unknown keys are an error (a typo must not be ignored).
    public static func load(path: String) throws -> Configuration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        return try parse(yaml: text, source: path)
    }

    public static func parse(yaml text: String, source: String = "<config>") throws -> Configuration {
        do {
            guard let fileNode = try Yams.compose(yaml: text) else { return Configuration() }
            let defaults = try YAMLEncoder().encode(Configuration())
            guard let defaultsNode = try Yams.compose(yaml: defaults) else { return Configuration() }
            let merged = try overlay(fileNode, on: defaultsNode, path: "")
            return try YAMLDecoder().decode(Configuration.self, from: try Yams.serialize(node: merged))
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError.invalid(path: source, reason: "\(error)")
        }
    }

    /// The defaults with every key the file sets replaced, recursively through mappings.
    private static func overlay(_ file: Node, on defaults: Node, path: String) throws -> Node {
        guard case .mapping(let defaultMapping) = defaults else { return file }
        guard case .mapping(let fileMapping) = file else {
            throw ConfigurationError.badValue(name: path.isEmpty ? "<root>" : path, value: "expected a mapping")
        }
        var result = defaultMapping
        for (key, value) in fileMapping {
            guard let name = key.string else { continue }
            let keyPath = path.isEmpty ? name : "\(path).\(name)"
            guard let current = defaultMapping[key] else {
                throw ConfigurationError.badValue(name: keyPath, value: "unknown setting")
            }
            result[key] = try overlay(value, on: current, path: keyPath)
        }
        return .mapping(result)
    }

    /// Applies `LIVERELAY_*` environment variables.
    public mutating func applyEnvironment(_ environment: [String: String]) throws {
        func string(_ name: String, _ apply: (String) -> Void) {
            if let value = environment[name], !value.isEmpty { apply(value) }
        }
        func int(_ name: String, _ apply: (Int) -> Void) throws {
            guard let value = environment[name], !value.isEmpty else { return }
            guard let number = Int(value) else { throw ConfigurationError.badValue(name: name, value: value) }
            apply(number)
        }
        string("LIVERELAY_HTTP_HOST") { http.host = $0 }
        try int("LIVERELAY_HTTP_PORT") { http.port = $0 }
        string("LIVERELAY_PUBLIC_URL") { http.publicURL = $0 }
        string("LIVERELAY_RTMP_HOST") { rtmp.host = $0 }
        try int("LIVERELAY_RTMP_PORT") { rtmp.port = $0 }
        try int("LIVERELAY_WEBRTC_PORT") { webrtc.port = $0 }
        try int("LIVERELAY_WEBRTC_THREADS") { webrtc.threads = $0 }
        if let value = environment["LIVERELAY_WEBRTC_PUBLIC_ADDRESSES"], !value.isEmpty {
            webrtc.publicAddresses = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        string("LIVERELAY_DATABASE_URL") { database.url = $0 }
        string("LIVERELAY_ADMIN_TOKEN") { admin.token = $0 }
        string("LIVERELAY_AUDIENCE_TOKEN_KEY") { audience.tokenKey = $0 }
        string("LIVERELAY_AUDIENCE_PREVIOUS_TOKEN_KEY") { audience.previousTokenKey = $0 }
        string("LIVERELAY_AUDIENCE_PREVIOUS_TOKEN_KEY_UNTIL") { audience.previousTokenKeyUntil = $0 }
        string("LIVERELAY_LOG_LEVEL") { log.level = $0 }
        string("LIVERELAY_LOG_FORMAT") { log.format = $0 }
        string("LIVERELAY_DATA_DIR") { dataDirectory = $0 }
        if let value = environment["LIVERELAY_DEMO"], !value.isEmpty {
            demo.enabled = ["1", "true", "yes", "on"].contains(value.lowercased())
        }
    }

    /// Rejects settings that cannot work, before anything binds a port.
    public func validate() throws {
        func port(_ name: String, _ value: Int) throws {
            guard (0...65535).contains(value) else { throw ConfigurationError.badValue(name: name, value: "\(value)") }
        }
        try port("http.port", http.port)
        guard http.maximumConnections >= 1, http.maximumConnectionsPerAddress >= 1, http.maximumBlockingRequests >= 1,
              http.maximumBlockingRequestsPerAddress >= 1, http.reactionPageLimit >= 1 else {
            throw ConfigurationError.badValue(name: "http", value: "connection, blocking-request and page limits must be at least 1")
        }
        guard http.headerTimeoutSeconds > 0, http.bodyTimeoutSeconds > 0, http.idleTimeoutSeconds > 0 else {
            throw ConfigurationError.badValue(name: "http", value: "header, body and idle timeouts must be positive")
        }
        try port("rtmp.port", rtmp.port)
        try port("webrtc.port", webrtc.port)
        guard webrtc.pacingFactor == 0 || (1...10).contains(webrtc.pacingFactor) else {
            throw ConfigurationError.badValue(name: "webrtc.pacingFactor", value: "\(webrtc.pacingFactor) (0 for off, or 1 to 10)")
        }
        guard webrtc.consentTimeoutSeconds > 0, webrtc.offlineGraceSeconds >= 0, webrtc.maximumViewers >= 1, webrtc.threads >= 0,
              webrtc.connectTimeoutSeconds > 0, webrtc.maximumPendingSessionsPerIP >= 1, webrtc.offersPerSecondPerIP > 0,
              webrtc.offerBurstPerIP >= 1 else {
            throw ConfigurationError.badValue(name: "webrtc", value: "timeouts must be positive, maximumViewers at least 1 and threads not negative")
        }
        guard Logger.Level(rawValue: log.level) != nil else { throw ConfigurationError.badValue(name: "log.level", value: log.level) }
        guard ["auto", "text", "json"].contains(log.format) else { throw ConfigurationError.badValue(name: "log.format", value: log.format) }
        guard rtmp.maximumChunkSize >= 128 else { throw ConfigurationError.badValue(name: "rtmp.maximumChunkSize", value: "\(rtmp.maximumChunkSize)") }
        guard rtmp.idleTimeoutSeconds > 0 else { throw ConfigurationError.badValue(name: "rtmp.idleTimeoutSeconds", value: "\(rtmp.idleTimeoutSeconds)") }
        guard rtmp.publishTimeoutSeconds > 0 else {
            throw ConfigurationError.badValue(name: "rtmp.publishTimeoutSeconds", value: "\(rtmp.publishTimeoutSeconds)")
        }
        guard rtmp.maximumConnections >= 1, rtmp.maximumConnectionsPerAddress >= 1 else {
            throw ConfigurationError.badValue(name: "rtmp", value: "maximumConnections and maximumConnectionsPerAddress must be at least 1")
        }
        guard audience.commentsPerSecond > 0, audience.commentBurst >= 1, audience.reactionsPerSecond > 0, audience.reactionBurst >= 1 else {
            throw ConfigurationError.badValue(name: "audience", value: "rates and bursts must be positive")
        }
        guard (60...7 * 86_400).contains(audience.mediaURLLifetimeSeconds) else {
            throw ConfigurationError.badValue(name: "audience.mediaURLLifetimeSeconds", value: "\(audience.mediaURLLifetimeSeconds) (60 s to 7 days)")
        }
        guard !audience.reactionTypes.isEmpty, audience.reactionTypes.allSatisfy({ (1...32).contains($0.count) }) else {
            throw ConfigurationError.badValue(name: "audience.reactionTypes", value: "\(audience.reactionTypes)")
        }
        try validateSecrets()
        try packager.validate()
        guard demo.width >= 16, demo.height >= 16, demo.width % 2 == 0, demo.height % 2 == 0, (1...120).contains(demo.fps) else {
            throw ConfigurationError.badValue(name: "demo", value: "\(demo.width)x\(demo.height)@\(demo.fps)")
        }
    }
}

extension Configuration {
    /// The shortest admin token or token key accepted, in bytes.
    static let minimumSecretLength = 32

    /// Configured secrets must be long enough to resist guessing; a previous token key needs the end of its overlap.
    func validateSecrets() throws {
        let secrets = [("admin.token", admin.token), ("audience.tokenKey", audience.tokenKey),
                       ("audience.previousTokenKey", audience.previousTokenKey)]
        for (name, value) in secrets {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard trimmed.isEmpty || trimmed.utf8.count >= Self.minimumSecretLength else {
                throw ConfigurationError.secretTooShort(name: name, minimum: Self.minimumSecretLength)
            }
        }
        if !audience.previousTokenKey.isEmpty {
            guard previousTokenKeyUntil != nil else {
                throw ConfigurationError.badValue(name: "audience.previousTokenKeyUntil",
                                                  value: "'\(audience.previousTokenKeyUntil)' (an RFC 3339 time such as 2026-12-24T00:00:00Z)")
            }
        }
    }

    /// When the previous token key stops verifying; nil when unset or not an RFC 3339 time.
    var previousTokenKeyUntil: Date? {
        try? Date(audience.previousTokenKeyUntil, strategy: .iso8601)
    }
}

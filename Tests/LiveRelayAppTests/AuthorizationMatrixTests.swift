import Foundation
import TestSupport
import Testing
@testable import LiveRelayApp
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Every HTTP route × every kind of caller × every state a stream can be in, against a whole node, with the status
/// each cell must get. The rows come from one table (`AuthorizationMatrixTests.table`), and the test fails when the
/// node serves a route the table has no row for: a new route cannot be added without deciding who may call it.
@Suite("Authorization matrix", .serialized)
struct AuthorizationMatrixTests {
    /// Who calls.
    enum Caller: String, CaseIterable {
        case nobody
        /// A valid viewer token, of another stream.
        case otherStreamViewer
        /// A viewer token of this stream that has expired.
        case expiredViewer
        case viewer
        case moderator
        case admin
    }

    /// What the stream the route names is. Tokens of the deleted and re-created cases were minted before the delete.
    enum StreamState: String, CaseIterable {
        case `public`
        case `private`
        /// A private stream deleted.
        case deleted
        /// A private stream deleted and created again (private) under the same name: a new incarnation.
        case recreated
    }

    /// Who a route is for; `expected` turns it into each cell's answer.
    enum Access {
        /// Anyone, whatever the stream (pages, health, time, metrics).
        case anyone
        /// The operator only; no stream involved.
        case admin
        /// Reading a stream: anyone on a public stream, a token of this incarnation on a private one. Credentials
        /// presented on a public stream must be good, unless the row says they are ignored.
        case streamRead
        /// Writing as a viewer: a viewer token of this incarnation (the admin stands in), even on a public stream.
        case streamViewer
        case streamModerator
        /// The operator, on an existing stream. Anyone else is refused 401 before the stream is looked up, so the
        /// answer says nothing about the name.
        case streamAdmin
        /// A capability: the unguessable session id in the path is the credential (WHEP session resources).
        case session
        /// CORS preflight: answered to anyone.
        case preflight
        /// Packaged media. The matrix's streams have no publisher, so every cell is 404; the live cases (a private
        /// window, and a deleted stream's window gone at once) are `StreamsAPITests` and `StreamingTests`.
        case offlineMedia
    }

    /// One request of a row: method, path (with `{name}` for the stream), body. `prepare` runs before each cell, as
    /// the admin, for routes that act on something that must exist (a comment to delete, a ban to lift); it returns
    /// the values to put in the path.
    struct Row: Sendable {
        var access: Access
        /// The answer when the caller may: any of these.
        var allowed: Set<Int>
        var path: String
        /// A JSON body, as text.
        var json: String? = nil
        var raw: String? = nil
        var contentType: String? = nil
        var prepare: (@Sendable (TestServer, String) async throws -> [String: String])? = nil
        /// On a public stream, a bad token (expired, another stream's) is ignored rather than refused: the route needs
        /// none there.
        var publicIgnoresCredentials = false
    }

    static let table: [String: Row] = [
        "GET /": Row(access: .anyone, allowed: [200], path: "/"),
        "GET /healthz": Row(access: .anyone, allowed: [200], path: "/healthz"),
        "GET /metrics": Row(access: .anyone, allowed: [200], path: "/metrics"),
        "GET /api/time": Row(access: .anyone, allowed: [200], path: "/api/time"),
        "HEAD /api/time": Row(access: .anyone, allowed: [200], path: "/api/time"),
        "GET /static/{file}": Row(access: .anyone, allowed: [200], path: "/static/watch.js"),
        "GET /watch/{stream}": Row(access: .anyone, allowed: [200], path: "/watch/{name}"),
        "GET /api/streams": Row(access: .admin, allowed: [200], path: "/api/streams"),
        "POST /api/streams": Row(access: .admin, allowed: [201], path: "/api/streams", prepare: { _, _ in
            ["new": "n\(UInt32.random(in: 0...UInt32.max))"]
        }),
        "GET /api/webrtc/sessions": Row(access: .admin, allowed: [200], path: "/api/webrtc/sessions"),
        "PUT /api/webrtc/sessions/{session}/layer": Row(access: .admin, allowed: [404],
                                                         path: "/api/webrtc/sessions/0123456789abcdef/layer", json: #"{"layer": "180p"}"#),
        // A stream's status: anyone on a public stream (credentials ignored), a token of it on a private one.
        "GET /api/streams/{name}": Row(access: .streamRead, allowed: [200], path: "/api/streams/{name}",
                                       publicIgnoresCredentials: true),
        "GET /api/streams/{name}/audit": Row(access: .streamModerator, allowed: [200], path: "/api/streams/{name}/audit"),
        "GET /api/public/streams": Row(access: .anyone, allowed: [200], path: "/api/public/streams"),
        "GET /moderate/{stream}": Row(access: .anyone, allowed: [200], path: "/moderate/{name}"),
        // Allowed: 200 where the set-up installed the players, 404 where it could not (no PyPI).
        "GET /static/vendor/{file}": Row(access: .anyone, allowed: [200, 404], path: "/static/vendor/hls.esm.min.js"),
        "GET /api/streams/{name}/comments": Row(access: .streamRead, allowed: [200], path: "/api/streams/{name}/comments"),
        "GET /api/streams/{name}/reactions": Row(access: .streamRead, allowed: [200], path: "/api/streams/{name}/reactions"),
        // The plain GET of the WebSocket: 426 Upgrade Required to whoever may listen.
        "GET /api/streams/{name}/events": Row(access: .streamRead, allowed: [426], path: "/api/streams/{name}/events"),
        "WS /api/streams/{name}/events": Row(access: .streamRead, allowed: [426], path: "/api/streams/{name}/events"),
        // Allowed: 409, the stream has no publisher.
        "POST /whep/{stream}": Row(access: .streamRead, allowed: [409], path: "/whep/{name}", raw: CapturedOfferText.chromium,
                                   contentType: "application/sdp", publicIgnoresCredentials: true),
        "POST /api/streams/{name}/comments": Row(access: .streamViewer, allowed: [201], path: "/api/streams/{name}/comments",
                                                 json: #"{"text": "hello"}"#),
        "POST /api/streams/{name}/reactions": Row(access: .streamViewer, allowed: [202], path: "/api/streams/{name}/reactions",
                                                  json: #"{"type": "heart"}"#),
        "GET /api/streams/{name}/bans": Row(access: .streamModerator, allowed: [200], path: "/api/streams/{name}/bans"),
        "POST /api/streams/{name}/bans": Row(access: .streamModerator, allowed: [201], path: "/api/streams/{name}/bans",
                                             json: #"{"sub": "troll"}"#),
        "DELETE /api/streams/{name}/bans/{sub}": Row(access: .streamModerator, allowed: [204], path: "/api/streams/{name}/bans/{sub}",
                                                     prepare: { server, name in
            let sub = "t\(UInt32.random(in: 0...UInt32.max))"
            _ = try await server.request("POST", "/api/streams/\(name)/bans", json: ["sub": sub])
            return ["sub": sub]
        }),
        "DELETE /api/streams/{name}/comments/{id}": Row(access: .streamModerator, allowed: [204], path: "/api/streams/{name}/comments/{id}",
                                                        prepare: { server, name in
            let posted = try await server.request("POST", "/api/streams/\(name)/comments", json: ["text": "to remove"])
            return ["id": "\(posted.json["id"] ?? "0")"]
        }),
        "POST /api/streams/{name}/flashes": Row(access: .streamModerator, allowed: [201], path: "/api/streams/{name}/flashes",
                                                json: #"{"kind": "news", "text": "Breaking"}"#),
        "DELETE /api/streams/{name}/flashes/pinned": Row(access: .streamModerator, allowed: [204], path: "/api/streams/{name}/flashes/pinned",
                                                         prepare: { server, name in
            _ = try await server.request("POST", "/api/streams/\(name)/flashes", json: ["kind": "disclaimer", "text": "Ad", "pinned": true])
            return [:]
        }),
        "POST /api/streams/{name}/tokens": Row(access: .streamAdmin, allowed: [201], path: "/api/streams/{name}/tokens",
                                               json: #"{"role": "viewer", "sub": "someone"}"#),
        "DELETE /api/streams/{name}/tokens/{id}": Row(access: .streamAdmin, allowed: [204], path: "/api/streams/{name}/tokens/{id}",
                                                      prepare: { server, name in
            let minted = try await server.request("POST", "/api/streams/\(name)/tokens", json: ["role": "viewer", "sub": "x"])
            return ["id": "\(minted.json["id"] ?? "none")"]
        }),
        "POST /api/streams/{name}/rotate-key": Row(access: .streamAdmin, allowed: [200], path: "/api/streams/{name}/rotate-key"),
        "DELETE /api/streams/{name}": Row(access: .streamAdmin, allowed: [204], path: "/api/streams/{name}"),
        "OPTIONS /whep/{stream}": Row(access: .preflight, allowed: [204], path: "/whep/{name}"),
        "OPTIONS /whep/{stream}/{session}": Row(access: .preflight, allowed: [204], path: "/whep/{name}/0123456789abcdef"),
        "PATCH /whep/{stream}/{session}": Row(access: .session, allowed: [404], path: "/whep/{name}/0123456789abcdef",
                                              raw: "a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n",
                                              contentType: "application/trickle-ice-sdpfrag"),
        "DELETE /whep/{stream}/{session}": Row(access: .session, allowed: [404], path: "/whep/{name}/0123456789abcdef"),
        "GET /dash/{stream}/manifest.mpd": Row(access: .offlineMedia, allowed: [404], path: "/dash/{name}/manifest.mpd"),
        "HEAD /dash/{stream}/manifest.mpd": Row(access: .offlineMedia, allowed: [404], path: "/dash/{name}/manifest.mpd"),
        "GET /hls/{stream}/{playlist}": Row(access: .offlineMedia, allowed: [404], path: "/hls/{name}/master.m3u8"),
        "HEAD /hls/{stream}/{playlist}": Row(access: .offlineMedia, allowed: [404], path: "/hls/{name}/master.m3u8"),
        "GET /cmaf/{stream}/{track}/{file}": Row(access: .offlineMedia, allowed: [404], path: "/cmaf/{name}/video/init.mp4"),
        "HEAD /cmaf/{stream}/{track}/{file}": Row(access: .offlineMedia, allowed: [404], path: "/cmaf/{name}/video/init.mp4"),
    ]

    /// The answer a cell must get: one of `row.allowed` when the caller may, else the refusal.
    static func expected(_ row: Row, caller: Caller, state: StreamState) -> Set<Int> {
        let allowed = row.allowed
        switch row.access {
        case .anyone, .preflight, .session, .offlineMedia:
            return allowed
        case .admin:
            return caller == .admin ? allowed : [401]
        case .streamAdmin:
            return caller != .admin ? [401] : state == .deleted ? [404] : allowed
        case .streamRead, .streamViewer, .streamModerator:
            break
        }
        // A deleted stream is gone for everyone; a private one is invisible — answered exactly like a name no stream
        // has — to every caller without credentials for this incarnation.
        if state == .deleted { return [404] }
        let hidden = state != .public
        let holdsThisIncarnation = state != .recreated && (caller == .viewer || caller == .moderator)
        if caller == .admin { return allowed }
        if hidden && !holdsThisIncarnation { return [404] }
        // A public stream, or a private one with a good token: presented credentials must be good.
        switch caller {
        case .expiredViewer, .otherStreamViewer:
            if row.publicIgnoresCredentials && state == .public { return allowed }
            return caller == .expiredViewer ? [401] : [403]
        case .viewer, .moderator, .nobody, .admin: break
        }
        switch row.access {
        case .streamRead: return allowed
        case .streamViewer: return caller == .nobody ? [401] : allowed
        case .streamModerator: return caller == .nobody ? [401] : caller == .moderator ? allowed : [403]
        case .streamAdmin, .anyone, .admin, .preflight, .session, .offlineMedia: return allowed
        }
    }

    /// A stream in the given state, with tokens of it (minted before a delete), for one row.
    struct World {
        var name: String
        var tokens: [Caller: String]
    }

    static func makeWorld(_ server: TestServer, name: String, state: StreamState, otherStreamToken: String) async throws -> World {
        _ = try await server.createStream(name, private: state != .public)
        func mint(_ role: String, ttl: Int) async throws -> String {
            let minted = try await server.request("POST", "/api/streams/\(name)/tokens", json: ["role": role, "sub": "u\(role)", "ttlSeconds": ttl])
            guard let token = minted.json["token"] as? String else { throw TestFailure("minting: \(minted.status)") }
            return token
        }
        let tokens: [Caller: String] = [.viewer: try await mint("viewer", ttl: 3600), .moderator: try await mint("moderator", ttl: 3600),
                                         .expiredViewer: try await mint("viewer", ttl: 1), .otherStreamViewer: otherStreamToken]
        if state == .deleted || state == .recreated {
            _ = try await server.request("DELETE", "/api/streams/\(name)")
        }
        if state == .recreated { _ = try await server.createStream(name, private: true) }
        return World(name: name, tokens: tokens)
    }

    static func call(_ server: TestServer, _ method: String, _ row: Row, path: String, bearer: String?) async throws -> Int {
        var request = URLRequest(url: URL(string: server.baseURL + path)!)
        request.httpMethod = method == "WS" ? "GET" : method
        request.timeoutInterval = 30
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let json = row.json {
            request.httpBody = Data(json.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let raw = row.raw {
            request.httpBody = Data(raw.utf8)
            request.setValue(row.contentType, forHTTPHeaderField: "Content-Type")
        }
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as! HTTPURLResponse).statusCode
    }

    @Test func everyRouteEveryCallerEveryStreamState() async throws {
        let server = try await TestServer { configuration in
            configuration.transcoder.enabled = false
            // Rows prepare comments as the admin before each cell: not a flood.
            configuration.audience.commentsPerSecond = 1000
            configuration.audience.commentBurst = 1000
        }
        let served = Set(server.endpoints.routes)
        let missing = served.subtracting(Self.table.keys).sorted()
        #expect(missing.isEmpty, "routes without a row in the matrix: \(missing)")
        let stale = Set(Self.table.keys).subtracting(served).sorted()
        #expect(stale.isEmpty, "rows for routes the node does not serve: \(stale)")

        _ = try await server.createStream("elsewhere")
        let other = try await server.request("POST", "/api/streams/elsewhere/tokens", json: ["role": "viewer", "sub": "outsider"])
        let otherToken = try #require(other.json["token"] as? String)
        var worlds: [String: World] = [:]
        for (index, route) in Self.table.keys.sorted().enumerated() {
            for state in StreamState.allCases {
                worlds["\(route)|\(state)"] = try await Self.makeWorld(server, name: "m\(index)\(state.rawValue.prefix(3))", state: state,
                                                                       otherStreamToken: otherToken)
            }
        }
        try await Task.sleep(for: .seconds(2))  // the expired tokens (1 s) are expired now

        var wrong: [String] = []
        var cells = 0
        for route in Self.table.keys.sorted() {
            let row = Self.table[route]!
            let method = String(route.split(separator: " ")[0])
            for state in StreamState.allCases {
                let world = worlds["\(route)|\(state)"]!
                for caller in Caller.allCases {
                    var values = ["name": world.name]
                    if let prepare = row.prepare { values.merge(try await prepare(server, world.name)) { $1 } }
                    var path = row.path
                    for (key, value) in values { path = path.replacingOccurrences(of: "{\(key)}", with: value) }
                    var cellRow = row
                    if route == "POST /api/streams", let new = values["new"] { cellRow.json = #"{"name": "\#(new)"}"# }
                    let bearer: String? = caller == .nobody ? nil : caller == .admin ? TestServer.adminToken : world.tokens[caller]
                    let status = try await Self.call(server, method, cellRow, path: path, bearer: bearer)
                    let expected = Self.expected(row, caller: caller, state: state)
                    cells += 1
                    if !expected.contains(status) {
                        wrong.append("\(route) · \(state) · \(caller): \(status), expected \(expected.sorted())")
                    }
                }
            }
        }
        #expect(cells == Self.table.count * StreamState.allCases.count * Caller.allCases.count)
        #expect(wrong.isEmpty, Comment(rawValue: "\(wrong.count) of \(cells) cells:\n" + wrong.joined(separator: "\n")))
        try await server.stop()
    }
}

/// A Chromium offer, as text, for the WHEP row.
enum CapturedOfferText {
    static var chromium: String { CapturedOffers.chromium }
}

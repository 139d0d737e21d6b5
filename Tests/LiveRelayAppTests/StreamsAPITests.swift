import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import LiveRelayApp

@Suite("HTTP API")
struct StreamsAPITests {
    @Test func healthAndMetrics() async throws {
        let node = try await TestServer()
        let health = try await node.request("GET", "/healthz", admin: false)
        #expect(health.status == 200)
        #expect(health.json["status"] as? String == "ok")

        let metrics = try await node.request("GET", "/metrics", admin: false)
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains("liverelay_live_streams"), "metrics: \(text.prefix(500))")
        try await node.stop()
    }

    @Test func adminTokenIsRequired() async throws {
        let node = try await TestServer()
        let anonymous = try await node.request("POST", "/api/streams", json: ["name": "main"], admin: false)
        #expect(anonymous.status == 401)
        #expect(anonymous.json["error"] as? String == "unauthorized")
        #expect(anonymous.json["detail"] is String)

        var request = URLRequest(url: URL(string: node.baseURL + "/api/streams")!)
        request.setValue("Bearer wrong", forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 401)
        try await node.stop()
    }

    /// Visible comments of a stream, read with the admin token (private streams too).
    static func commentCount(_ node: TestServer, _ stream: String) async throws -> Int? {
        (try await node.request("GET", "/api/streams/\(stream)/comments").json["comments"] as? [Any])?.count
    }

    /// A stream deleted and created again under its name is another stream: the old tokens admit nobody and the
    /// old comments and bans are gone.
    @Test func aStreamCreatedAgainUnderItsNameInheritsNoTokensCommentsOrBans() async throws {
        let node = try await TestServer()
        _ = try await node.createStream("show", private: true)
        let first = try #require(try await node.streamInfo("show")["incarnation"] as? String)
        let viewer = try await node.token("show", role: "viewer", sub: "alice")
        let moderator = try await node.token("show", role: "moderator", sub: "mod")
        #expect(try await node.call("POST", "/api/streams/show/comments", token: viewer, json: ["text": "before"]).status == 201)
        #expect(try await node.call("POST", "/api/streams/show/bans", token: moderator, json: ["sub": "bob"]).status == 201)
        #expect(try await Self.commentCount(node, "show") == 1)

        #expect(try await node.request("DELETE", "/api/streams/show").status == 204)
        _ = try await node.createStream("show", private: true)
        let second = try #require(try await node.streamInfo("show")["incarnation"] as? String)
        #expect(first != second)

        #expect(try await node.call("GET", "/api/streams/show/comments", token: viewer).status != 200, "an old token reads nothing")
        #expect(try await node.call("POST", "/api/streams/show/comments", token: viewer, json: ["text": "after"]).status != 201)
        #expect(try await node.call("GET", "/api/streams/show/bans", token: moderator).status != 200)
        #expect(try await Self.commentCount(node, "show") == 0, "the old comments belong to the deleted stream")
        let bans = try await node.request("GET", "/api/streams/show/bans")
        #expect((bans.json["bans"] as? [Any])?.isEmpty == true, "\(bans.json)")
        let bob = try await node.token("show", role: "viewer", sub: "bob")
        #expect(try await node.call("POST", "/api/streams/show/comments", token: bob, json: ["text": "not banned here"]).status == 201)
        try await node.stop()
    }

    @Test func streamLifecycle() async throws {
        let node = try await TestServer()
        let created = try await node.request("POST", "/api/streams", json: ["name": "main", "private": false])
        #expect(created.status == 201)
        #expect(created.json["name"] as? String == "main")
        #expect(created.json["private"] as? Bool == false)
        #expect(created.json["live"] as? Bool == false)
        let key = try #require(created.json["publishKey"] as? String)
        #expect(created.headers["location"] == "/api/streams/main")

        let duplicate = try await node.request("POST", "/api/streams", json: ["name": "main"])
        #expect(duplicate.status == 409)
        #expect(duplicate.json["error"] as? String == "stream_exists")

        let list = try await node.request("GET", "/api/streams")
        let streams = try #require(list.json["streams"] as? [[String: Any]])
        #expect(streams.map { $0["name"] as? String } == ["main"])

        // Anyone may read a public stream's state, but only the admin sees its key.
        let publicView = try await node.request("GET", "/api/streams/main", admin: false)
        #expect(publicView.status == 200)
        #expect(publicView.json["publishKey"] == nil)
        #expect(publicView.json["live"] as? Bool == false)

        let rotated = try await node.request("POST", "/api/streams/main/rotate-key")
        #expect(rotated.status == 200)
        let newKey = try #require(rotated.json["publishKey"] as? String)
        #expect(newKey != key)

        #expect(try await node.request("DELETE", "/api/streams/main").status == 204)
        let gone = try await node.request("GET", "/api/streams/main")
        #expect(gone.status == 404)
        #expect(gone.json["error"] as? String == "not_found")
        #expect(try await node.request("DELETE", "/api/streams/main").status == 404)
        #expect(try await node.request("POST", "/api/streams/main/rotate-key").status == 404)
        try await node.stop()
    }

    @Test func privateStreamsHideFromAnonymousReaders() async throws {
        let node = try await TestServer()
        _ = try await node.createStream("backstage", private: true)
        #expect(try await node.request("GET", "/api/streams/backstage", admin: false).status == 404)
        let admin = try await node.request("GET", "/api/streams/backstage")
        #expect(admin.json["private"] as? Bool == true)
        try await node.stop()
    }

    /// Whatever an unauthenticated caller asks of a private stream, the answer is the one a name no stream has gets:
    /// the same status, error and detail (the name aside), with or without a bad token or a forged signature.
    @Test func aPrivateStreamAnswersAnonymousCallersAsANonexistentOne() async throws {
        let node = try await TestServer()
        _ = try await node.createStream("backstage", private: true)
        _ = try await node.createStream("lobby")
        let otherToken = try await node.token("lobby", role: "viewer", sub: "a")
        let requests: [(method: String, path: String, token: String?, body: String?, type: String)] = [
            ("GET", "/api/streams/{s}", nil, nil, ""),
            ("GET", "/api/streams/{s}/comments", nil, nil, ""),
            ("GET", "/api/streams/{s}/comments", "not.a.token", nil, ""),
            ("GET", "/api/streams/{s}/comments", otherToken, nil, ""),
            ("POST", "/api/streams/{s}/comments", nil, #"{"text":"hi"}"#, "application/json"),
            ("POST", "/api/streams/{s}/reactions", otherToken, #"{"type":"heart"}"#, "application/json"),
            ("GET", "/api/streams/{s}/reactions", nil, nil, ""),
            ("GET", "/api/streams/{s}/events", nil, nil, ""),
            ("GET", "/api/streams/{s}/bans", otherToken, nil, ""),
            ("GET", "/hls/{s}/master.m3u8", nil, nil, ""),
            ("GET", "/hls/{s}/master.m3u8?token=not.a.token", nil, nil, ""),
            ("GET", "/hls/{s}/source-video.m3u8?exp=1&sig=AAAAAAAAAAAAAAAAAAAAAA", nil, nil, ""),
            ("GET", "/dash/{s}/manifest.mpd", otherToken, nil, ""),
            ("GET", "/cmaf/{s}/source-video/1.m4s?exp=9999999999&sig=AAAAAAAAAAAAAAAAAAAAAA", nil, nil, ""),
            ("POST", "/whep/{s}", nil, "v=0\r\n", "application/sdp"),
        ]
        for request in requests {
            var answers: [String] = []
            for name in ["backstage", "nosuch"] {
                let path = request.path.replacingOccurrences(of: "{s}", with: name)
                let result = try await node.call(request.method, path, token: request.token, raw: request.body.map { Data($0.utf8) },
                                                 contentType: request.type)
                let fields = result.json.mapValues { "\($0)".replacingOccurrences(of: name, with: "{s}") }
                answers.append("\(result.status) \(fields.sorted { $0.key < $1.key })")
            }
            #expect(answers[0] == answers[1], "\(request.method) \(request.path)")
            #expect(answers[0].hasPrefix("404 "), "\(request.method) \(request.path): \(answers[0])")
        }
        try await node.stop()
    }

    /// The public status has no publisher address; `/metrics` names no stream that is not on the allow-list.
    @Test func publicStatusAndMetricsLeakNoAddressesOrPrivateNames() async throws {
        let node = try await TestServer { $0.metrics.streamLabels = ["lobby"] }
        _ = try await node.createStream("lobby")
        _ = try await node.createStream("boardroom-private", private: true)
        let lobby = try node.router.beginPublishing(stream: "lobby", source: "rtmp", remoteAddress: "203.0.113.9:50000")
        let boardroom = try node.router.beginPublishing(stream: "boardroom-private", source: "rtmp", remoteAddress: "198.51.100.4:50000")
        defer {
            lobby.end()
            boardroom.end()
        }
        let anonymous = try await node.request("GET", "/api/streams/lobby", admin: false)
        #expect(anonymous.status == 200 && anonymous.json["live"] as? Bool == true)
        #expect(!String(decoding: anonymous.body, as: UTF8.self).contains("203.0.113.9"), "\(anonymous.json)")
        let admin = try await node.request("GET", "/api/streams/lobby")
        #expect((admin.json["ingest"] as? [String: Any])?["remoteAddress"] as? String == "203.0.113.9:50000")

        let metrics = String(decoding: try await node.request("GET", "/metrics", admin: false).body, as: UTF8.self)
        #expect(metrics.contains("stream=\"lobby\""), "an allowed name is kept")
        #expect(!metrics.contains("boardroom"), "a private name never reaches /metrics")
        #expect(metrics.contains("stream=\"h"), "other streams are labelled by a hash")
        try await node.stop()
    }

    @Test(arguments: ["", "Main", "a b", "ünï", String(repeating: "x", count: 65), "../etc"])
    func invalidNamesAreRejected(_ name: String) async throws {
        let node = try await TestServer()
        let result = try await node.request("POST", "/api/streams", json: ["name": name])
        #expect(result.status == 400)
        #expect(result.json["error"] as? String == "bad_request")
        try await node.stop()
    }

    @Test func malformedBodiesGetJSONErrors() async throws {
        let node = try await TestServer()
        let garbage = try await node.request("POST", "/api/streams", rawBody: Data("{not json".utf8))
        #expect(garbage.status == 400)
        #expect(garbage.json["error"] as? String == "bad_request")

        let wrongType = try await node.request("POST", "/api/streams", json: ["name": 42])
        #expect(wrongType.status == 400)

        let huge = try await node.request("POST", "/api/streams", rawBody: Data(repeating: UInt8(ascii: "a"), count: 200_000))
        #expect(huge.status == 413)
        #expect(huge.json["error"] as? String == "body_too_large")

        let unknown = try await node.request("GET", "/api/nothing-here")
        #expect(unknown.status == 404)
        #expect(unknown.json["error"] as? String == "not_found")

        // The node still answers after all that.
        #expect(try await node.request("GET", "/healthz").status == 200)
        try await node.stop()
    }

    @Test func streamsAndGeneratedAdminTokenSurviveRestart() async throws {
        let directory = TestServer.temporaryDirectory()
        var configuration = TestServer.makeConfiguration(dataDirectory: directory)
        configuration.admin.token = ""

        let first = try await TestServer(configuration: configuration)
        let token = first.endpoints.adminToken
        #expect(token.count == 64)
        // Created private: the data directory 0700, the token file 0600.
        #expect((try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int) == 0o700)
        #expect((try FileManager.default.attributesOfItem(atPath: directory + "/admin-token")[.posixPermissions] as? Int) == 0o600)
        var create = URLRequest(url: URL(string: first.baseURL + "/api/streams")!)
        create.httpMethod = "POST"
        create.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        create.httpBody = Data(#"{"name":"kept","private":true}"#.utf8)
        let (body, response) = try await URLSession.shared.data(for: create)
        #expect((response as? HTTPURLResponse)?.statusCode == 201)
        let key = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["publishKey"] as? String)
        try await first.stop(keepData: true)

        let second = try await TestServer(configuration: configuration)
        #expect(second.endpoints.adminToken == token)
        var get = URLRequest(url: URL(string: second.baseURL + "/api/streams/kept")!)
        get.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (again, _) = try await URLSession.shared.data(for: get)
        let json = try #require(try JSONSerialization.jsonObject(with: again) as? [String: Any])
        #expect(json["publishKey"] as? String == key)
        #expect(json["private"] as? Bool == true)
        try await second.stop()
    }

    /// The generated admin token is shown on a terminal only; otherwise the log says where the file is, never the token.
    @Test func aGeneratedAdminTokenIsShownOnATerminalOnly() throws {
        let resolved = AdminToken.Resolved(token: "f00d" + String(repeating: "0", count: 60), newlyGenerated: true, path: "/data/admin-token")
        let terminal = try #require(AdminToken.announcement(resolved, stdoutIsTerminal: true))
        #expect(terminal.terminal?.contains(resolved.token) == true && !terminal.log.contains(resolved.token))
        let piped = try #require(AdminToken.announcement(resolved, stdoutIsTerminal: false))
        #expect(piped.terminal == nil && !piped.log.contains(resolved.token) && piped.log.contains("/data/admin-token"))
        var stored = resolved
        stored.newlyGenerated = false
        #expect(AdminToken.announcement(stored, stdoutIsTerminal: true) == nil, "shown once, on the start that generated it")
    }

    @Test func shortAdminTokensAndTokenKeysAreRefusedAtStart() async throws {
        for adjust in [{ (configuration: inout Configuration) in configuration.admin.token = "short-admin-token" },
                       { (configuration: inout Configuration) in configuration.audience.tokenKey = "short-token-key" }] {
            var configuration = Configuration()
            adjust(&configuration)
            let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("shorter than 32 bytes") && !text.contains("short-admin-token") && !text.contains("short-token-key"), "\(text)")
        }
        var rotated = Configuration()
        rotated.audience.previousTokenKey = String(repeating: "k", count: 32)
        #expect(throws: ConfigurationError.self, "a previous key needs the end of its overlap") { try rotated.validate() }
        rotated.audience.previousTokenKeyUntil = "2026-12-24T00:00:00Z"
        try rotated.validate()
        // A server given a short admin token does not start.
        let directory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = TestServer.makeConfiguration(dataDirectory: directory)
        configuration.admin.token = "short"
        await #expect(throws: ConfigurationError.self) { _ = try await TestServer(configuration: configuration) }
    }
}

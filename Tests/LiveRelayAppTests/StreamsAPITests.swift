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
        #expect(try await node.request("GET", "/api/streams/backstage", admin: false).status == 401)
        let admin = try await node.request("GET", "/api/streams/backstage")
        #expect(admin.json["private"] as? Bool == true)
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

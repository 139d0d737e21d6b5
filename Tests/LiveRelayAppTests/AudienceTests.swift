import TestSupport
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import LiveRelayApp
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The audience API and event channel over real HTTP and WebSocket, against a whole node.
@Suite("Audience end to end")
struct AudienceEndToEndTests {
    // MARK: Tokens and authorization

    @Test func tokensAreCheckedForSignatureExpiryStreamAndRole() async throws {
        let server = try await TestServer()
        do {
            _ = try await server.createStream("show")
            _ = try await server.createStream("other")
            #expect(try await server.request("POST", "/api/streams/show/tokens", json: ["role": "viewer", "sub": "a"], admin: false).status == 401)
            #expect(try await server.request("POST", "/api/streams/nope/tokens", json: ["role": "viewer", "sub": "a"]).status == 404)
            #expect(try await server.request("POST", "/api/streams/show/tokens", json: ["role": "owner", "sub": "a"]).status == 400)
            #expect(try await server.request("POST", "/api/streams/show/tokens", json: ["role": "viewer", "sub": ""]).status == 400)

            let viewer = try await server.token("show", role: "viewer", sub: "alice")
            let otherStream = try await server.token("other", role: "moderator", sub: "alice")
            let shortLived = try await server.token("show", role: "viewer", sub: "alice", ttl: 1)

            let missing = try await server.call("POST", "/api/streams/show/comments", json: ["text": "hi"])
            #expect(missing.status == 401 && missing.json["error"] as? String == "unauthorized")
            #expect(missing.headers["www-authenticate"] == "Bearer")
            let forged = try await server.call("POST", "/api/streams/show/comments", token: Self.forge(viewer), json: ["text": "hi"])
            #expect(forged.status == 401 && forged.json["error"] as? String == "invalid_token")
            let garbage = try await server.call("POST", "/api/streams/show/comments", token: "not.a.jwt", json: ["text": "hi"])
            #expect(garbage.status == 401)
            let wrongStream = try await server.call("POST", "/api/streams/show/comments", token: otherStream, json: ["text": "hi"])
            #expect(wrongStream.status == 403 && wrongStream.json["error"] as? String == "wrong_stream")

            // A viewer may comment and react, not moderate.
            let posted = try await server.call("POST", "/api/streams/show/comments", token: viewer, json: ["text": "hello"])
            #expect(posted.status == 201)
            let id = try #require(posted.json["id"] as? Int)
            #expect(try await server.call("DELETE", "/api/streams/show/comments/\(id)", token: viewer).status == 403)
            #expect(try await server.call("POST", "/api/streams/show/bans", token: viewer, json: ["sub": "bob"]).status == 403)
            #expect(try await server.call("GET", "/api/streams/show/bans", token: viewer).status == 403)
            let flash = try await server.call("POST", "/api/streams/show/flashes", token: viewer, json: ["kind": "news", "text": "x"])
            #expect(flash.status == 403 && flash.json["error"] as? String == "forbidden")

            try await Task.sleep(for: .milliseconds(2100))
            let expired = try await server.call("POST", "/api/streams/show/comments", token: shortLived, json: ["text": "late"])
            #expect(expired.status == 401 && expired.json["error"] as? String == "token_expired")
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    // MARK: Comments

    @Test func aBanRevokesTheUsersTokensAndTheOperatorRevokesOne() async throws {
        let server = try await TestServer()
        _ = try await server.createStream("show")
        let troll = try await server.token("show", role: "viewer", sub: "troll")
        let moderator = try await server.token("show", role: "moderator", sub: "mod")
        #expect(try await server.call("POST", "/api/streams/show/reactions", token: troll, json: ["type": "heart"]).status == 202)
        #expect(try await server.call("POST", "/api/streams/show/bans", token: moderator, json: ["sub": "troll"]).status == 201)
        let refused = try await server.call("POST", "/api/streams/show/reactions", token: troll, json: ["type": "heart"])
        #expect(refused.status == 401 && refused.json["error"] as? String == "token_revoked", "\(refused.status) \(refused.json)")
        #expect(try await server.call("DELETE", "/api/streams/show/bans/troll", token: moderator).status == 204)
        #expect(try await server.call("POST", "/api/streams/show/reactions", token: troll, json: ["type": "heart"]).status == 401,
                "an unban does not bring revoked tokens back")

        let minted = try await server.call("POST", "/api/streams/show/tokens", token: TestServer.adminToken,
                                           json: ["role": "viewer", "sub": "alice"])
        let token = try #require(minted.json["token"] as? String)
        let id = try #require(minted.json["id"] as? String)
        #expect(try await server.call("POST", "/api/streams/show/reactions", token: token, json: ["type": "heart"]).status == 202)
        #expect(try await server.call("DELETE", "/api/streams/show/tokens/\(id)").status == 401, "the admin token is required")
        #expect(try await server.call("DELETE", "/api/streams/show/tokens/\(id)", token: TestServer.adminToken).status == 204)
        #expect(try await server.call("POST", "/api/streams/show/reactions", token: token, json: ["type": "heart"]).status == 401)
        let other = try await server.token("show", role: "viewer", sub: "alice")
        #expect(try await server.call("POST", "/api/streams/show/reactions", token: other, json: ["type": "heart"]).status == 202)
        try await server.stop()
    }

    @Test(.serialized, arguments: ["sqlite", "postgres"])
    func commentLifecycleValidationAndModeration(_ backend: String) async throws {
        let postgres = backend == "postgres" ? try PostgresTestServer() : nil
        defer { postgres?.stop() }
        // A slow refill, so the burst is what counts however long a loaded machine takes between posts.
        let server = try await TestServer {
            $0.audience.commentsPerSecond = 0.01
            if let postgres { $0.database.url = postgres.url }
        }
        do {
            _ = try await server.createStream("show")
            let alice = try await server.token("show", role: "viewer", sub: "alice", name: "Alice")
            let troll = try await server.token("show", role: "viewer", sub: "troll")
            let moderator = try await server.token("show", role: "moderator", sub: "mod")

            let hostile = ["<script>alert(document.cookie)</script>", "'; DROP TABLE comments; --", "<img src=x onerror=alert(1)>",
                           "  spaced \"quotes\" & ampersands  "]
            var ids: [Int] = []
            for text in hostile {
                let result = try await server.call("POST", "/api/streams/show/comments", token: alice, json: ["text": text])
                #expect(result.status == 201)
                #expect(result.json["text"] as? String == text)
                #expect(result.json["author"] as? String == "Alice" && result.json["authorId"] as? String == "alice")
                #expect((result.json["createdAt"] as? String)?.hasSuffix("Z") == true)
                ids.append(try #require(result.json["id"] as? Int))
            }
            let page = try await server.call("GET", "/api/streams/show/comments")
            #expect(page.status == 200)
            #expect((page.json["comments"] as? [[String: Any]])?.compactMap { $0["text"] as? String } == hostile.reversed())
            #expect(String(decoding: page.body, as: UTF8.self).contains("<script>") || String(decoding: page.body, as: UTF8.self).contains("\\u003cscript"))

            // Rate limit: burst of 5 per user, then 429 with Retry-After.
            _ = try await server.call("POST", "/api/streams/show/comments", token: alice, json: ["text": "fifth"])
            let limited = try await server.call("POST", "/api/streams/show/comments", token: alice, json: ["text": "sixth"])
            #expect(limited.status == 429 && (Int(limited.headers["retry-after"] ?? "") ?? 0) >= 1)
            #expect(limited.json["error"] as? String == "rate_limited")

            // Bad input.
            let bob = try await server.token("show", role: "viewer", sub: "bob")
            #expect(try await server.call("POST", "/api/streams/show/comments", token: bob, json: ["text": String(repeating: "y", count: 501)]).status == 400)
            #expect(try await server.call("POST", "/api/streams/show/comments", token: bob, json: ["text": "   "]).status == 400)
            let unknownField = try await server.call("POST", "/api/streams/show/comments", token: bob, json: ["text": "ok", "admin": true])
            #expect(unknownField.status == 400 && (unknownField.json["detail"] as? String)?.contains("admin") == true)
            #expect(try await server.call("POST", "/api/streams/show/comments", token: bob, raw: Data("{\"text\":".utf8)).status == 400)
            #expect(try await server.call("POST", "/api/streams/show/comments", token: bob, raw: Data("[1,2]".utf8)).status == 400)
            #expect(try await server.call("POST", "/api/streams/show/comments", token: bob, json: ["text": 42]).status == 400)
            let plain = try await server.call("POST", "/api/streams/show/comments", token: bob, raw: Data("text=hi".utf8), contentType: "text/plain")
            #expect(plain.status == 415)
            let huge = try await server.call("POST", "/api/streams/show/comments", token: bob,
                                             raw: Data(("{\"text\":\"" + String(repeating: "z", count: 1 << 20) + "\"}").utf8))
            #expect(huge.status == 413 && huge.json["error"] as? String == "body_too_large")
            let exactly500 = try await server.call("POST", "/api/streams/show/comments", token: bob, json: ["text": String(repeating: "é", count: 500)])
            #expect(exactly500.status == 201)

            // Moderation: soft delete, bans hide the user's comments and refuse new ones.
            let trollComment = try await server.call("POST", "/api/streams/show/comments", token: troll, json: ["text": "buy followers"])
            #expect(try await server.call("DELETE", "/api/streams/show/comments/\(ids[0])", token: moderator).status == 204)
            #expect(try await server.call("DELETE", "/api/streams/show/comments/\(ids[0])", token: moderator).status == 404)
            #expect(try await server.call("DELETE", "/api/streams/show/comments/abc", token: moderator).status == 404)
            let ban = try await server.call("POST", "/api/streams/show/bans", token: moderator, json: ["sub": "troll", "reason": "spam"])
            #expect(ban.status == 201 && ban.json["sub"] as? String == "troll")
            // The ban revoked the token the user held; one minted during the ban is refused by the ban itself.
            let revoked = try await server.call("POST", "/api/streams/show/comments", token: troll, json: ["text": "again"])
            #expect(revoked.status == 401 && revoked.json["error"] as? String == "token_revoked")
            let trollAgain = try await server.token("show", role: "viewer", sub: "troll")
            let refused = try await server.call("POST", "/api/streams/show/comments", token: trollAgain, json: ["text": "again"])
            #expect(refused.status == 403 && refused.json["error"] as? String == "banned")
            let visible = try await server.allComments("show")
            #expect(!visible.contains(ids[0]) && !visible.contains(trollComment.json["id"] as? Int ?? -1))
            #expect(visible.count == ids.count - 1 + 2)
            let bans = try await server.call("GET", "/api/streams/show/bans", token: moderator)
            #expect((bans.json["bans"] as? [[String: Any]])?.first?["reason"] as? String == "spam")
            #expect(try await server.call("DELETE", "/api/streams/show/bans/troll", token: moderator).status == 204)
            #expect(try await server.call("POST", "/api/streams/show/comments", token: trollAgain, json: ["text": "sorry"]).status == 201)

            // Paging: before/limit, newest first, `next` until the end.
            let first = try await server.call("GET", "/api/streams/show/comments?limit=2")
            let firstIDs = (first.json["comments"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
            #expect(firstIDs.count == 2 && firstIDs[0] > firstIDs[1])
            let next = try #require(first.json["next"] as? Int)
            let second = try await server.call("GET", "/api/streams/show/comments?limit=2&before=\(next)")
            #expect(((second.json["comments"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }.allSatisfy { $0 < next }) == true)
            #expect(try await server.call("GET", "/api/streams/show/comments?limit=0").status == 400)
            #expect(try await server.call("GET", "/api/streams/show/comments?before=x").status == 400)
            #expect(try await server.call("GET", "/api/streams/nope/comments").status == 404)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    // MARK: Event channel

    @Test(.serialized, arguments: ["sqlite", "postgres"])
    func eventChannelCarriesCommentsReactionsAndFlashes(_ backend: String) async throws {
        let postgres = backend == "postgres" ? try PostgresTestServer() : nil
        defer { postgres?.stop() }
        let server = try await TestServer { if let postgres { $0.database.url = postgres.url } }
        do {
            _ = try await server.createStream("vip", private: true)
            let viewer = try await server.token("vip", role: "viewer", sub: "v1")
            let moderator = try await server.token("vip", role: "moderator", sub: "mod")

            // A private stream's channel needs a token; without one it is answered as a stream that does not exist.
            let refused = try await server.call("GET", "/api/streams/vip/events")
            #expect(refused.status == 404)
            await #expect(throws: (any Error).self) {
                let listener = try await EventListener.connect(server: server, stream: "vip", token: nil)
                try await listener.waitForClose()
            }
            #expect(try await server.call("GET", "/api/streams/vip/events?token=\(viewer)").status == 426)

            let pinned = try await server.call("POST", "/api/streams/vip/flashes", token: moderator,
                                               json: ["kind": "disclaimer", "text": "Contains paid promotion", "pinned": true])
            #expect(pinned.status == 201)
            let listener = try await EventListener.connect(server: server, stream: "vip", token: viewer)
            let status = try await listener.first { $0["type"] as? String == "stream.status" }
            #expect(status["status"] as? String == "offline")
            let disclaimer = try await listener.first { $0["type"] as? String == "flash" }
            #expect(disclaimer["text"] as? String == "Contains paid promotion" && disclaimer["pinned"] as? Bool == true)

            let modListener = try await EventListener.connect(server: server, stream: "vip", token: moderator, header: true)
            _ = try await modListener.first { $0["type"] as? String == "stream.status" }

            let comment = try await server.call("POST", "/api/streams/vip/comments", token: viewer, json: ["text": "<b>hi</b>"])
            let created = try await listener.first { $0["type"] as? String == "comment.created" }
            #expect((created["comment"] as? [String: Any])?["text"] as? String == "<b>hi</b>")
            let news = try await server.call("POST", "/api/streams/vip/flashes", token: moderator,
                                             json: ["kind": "news", "text": "Breaking", "severity": "breaking", "durationSeconds": 20])
            #expect(news.status == 201)
            let flash = try await listener.first { $0["type"] as? String == "flash" && $0["text"] as? String == "Breaking" }
            #expect(flash["severity"] as? String == "breaking" && flash["durationSeconds"] as? Int == 20)
            #expect(try await server.call("DELETE", "/api/streams/vip/comments/\(comment.json["id"] as? Int ?? 0)", token: moderator).status == 204)
            _ = try await listener.first { $0["type"] as? String == "comment.deleted" }

            // Reactions: over HTTP and over the channel, aggregated per 250 ms window.
            for _ in 0..<6 {
                #expect(try await server.call("POST", "/api/streams/vip/reactions", token: viewer, json: ["type": "heart"]).status == 202)
            }
            let unknown = try await server.call("POST", "/api/streams/vip/reactions", token: viewer, json: ["type": "poop"])
            #expect(unknown.status == 400 && unknown.json["error"] as? String == "unknown_reaction")
            for _ in 0..<4 { listener.send(#"{"type":"reaction","reaction":"wow"}"#) }
            listener.send(#"{"type":"ping"}"#)
            _ = try await listener.first { $0["type"] as? String == "pong" }
            #expect(await eventually(timeout: .seconds(5)) {
                let sums = listener.reactionSums()
                return sums["heart"] == 6 && sums["wow"] == 4
            })
            let aggregate = try await listener.first { $0["type"] as? String == "reactions" }
            #expect(aggregate["windowMs"] as? Int == 250)
            _ = try await modListener.first { $0["type"] as? String == "reactions.rate" }
            _ = try await modListener.first { $0["type"] as? String == "viewers" }

            // Totals are persisted per second.
            #expect(try await eventually(timeout: .seconds(5)) {
                let totals = try await server.call("GET", "/api/streams/vip/reactions", token: viewer).json["totals"] as? [String: Int]
                return totals == ["heart": 6, "wow": 4]
            })
            #expect(try await server.call("GET", "/api/streams/vip/reactions").status == 404, "a private stream without a token: as if there were none")
            listener.close()
            modListener.close()
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    /// Many listeners each receive every comment and every reaction aggregate while clients react.
    @Test func fanOutToManyListeners() async throws {
        let listenerCount = Int(ProcessInfo.processInfo.environment["LIVERELAY_FANOUT_LISTENERS"] ?? "") ?? 500
        let reactorCount = 200
        let server = try await TestServer { configuration in
            configuration.audience.reactionsPerSecond = 1000
            configuration.audience.reactionBurst = 1000
            configuration.audience.commentBurst = 100
        }
        do {
            _ = try await server.createStream("big")
            var listeners: [EventListener] = []
            for _ in 0..<listenerCount {
                listeners.append(try await EventListener.connect(server: server, stream: "big", token: nil, keepMessages: false))
            }
            var reactors: [EventListener] = []
            for index in 0..<reactorCount {
                let token = try await server.token("big", role: "viewer", sub: "r\(index)")
                reactors.append(try await EventListener.connect(server: server, stream: "big", token: token, keepMessages: false))
            }
            for listener in listeners + reactors { _ = try await listener.first { $0["type"] as? String == "stream.status" } }

            let poster = try await server.token("big", role: "moderator", sub: "host")
            let reactionsPerClient = 20
            try await withThrowingTaskGroup(of: Void.self) { group in
                for reactor in reactors {
                    group.addTask {
                        for index in 0..<reactionsPerClient {
                            reactor.send(index % 2 == 0 ? #"{"type":"reaction","reaction":"heart"}"# : #"{"type":"reaction","reaction":"fire"}"#)
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                group.addTask {
                    for index in 0..<10 {
                        _ = try await server.call("POST", "/api/streams/big/comments", token: poster, json: ["text": "comment \(index)"])
                    }
                }
                try await group.waitForAll()
            }
            let expected = reactorCount * reactionsPerClient
            let everyone = listeners + reactors
            let complete = await eventually(timeout: .seconds(20)) {
                everyone.allSatisfy { $0.commentCount() == 10 && $0.reactionSums().values.reduce(0, +) == expected }
            }
            let short = everyone.filter { $0.commentCount() != 10 || $0.reactionSums().values.reduce(0, +) != expected }
            #expect(complete, "\(short.count) of \(everyone.count) listeners missed events, e.g. \(short.first.map { "\($0.commentCount()) comments, \($0.reactionSums())" } ?? "")")
            let totals = try await server.call("GET", "/api/streams/big/reactions").json["totals"] as? [String: Int] ?? [:]
            #expect(await eventually(timeout: .seconds(5)) {
                ((try? await server.call("GET", "/api/streams/big/reactions").json["totals"] as? [String: Int]) ?? totals)?.values.reduce(0, +) == expected
            })
            for listener in everyone { listener.close() }
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    /// A client that opens the channel and never reads is cut off once its outbox is full; the others get everything.
    @Test func listenerThatNeverReadsIsDropped() async throws {
        let server = try await TestServer()
        do {
            _ = try await server.createStream("show")
            let moderator = try await server.token("show", role: "moderator", sub: "mod")
            let watcher = try await EventListener.connect(server: server, stream: "show", token: moderator)
            _ = try await watcher.first { $0["type"] as? String == "stream.status" }
            let stalled = try await StalledWebSocket.open(port: server.endpoints.httpPort, path: "/api/streams/show/events")
            let reader = try await EventListener.connect(server: server, stream: "show", token: nil, keepMessages: false)
            _ = try await reader.first { $0["type"] as? String == "stream.status" }
            _ = try await watcher.first { $0["type"] as? String == "viewers" && $0["viewers"] as? Int == 2 }
            let text = String(repeating: "Breaking news that fills a slow reader's socket. ", count: 20)
            // Socket buffers absorb a few MB first; keep pushing until the server gives up on the stalled listener.
            var flashes = 0
            var dropped = false
            while !dropped, flashes < 40_000 {
                for _ in 0..<500 {
                    let result = try await server.call("POST", "/api/streams/show/flashes", token: moderator, json: ["kind": "news", "text": text])
                    #expect(result.status == 201)
                    flashes += 1
                }
                dropped = (try? await watcher.first(timeout: .milliseconds(200)) { $0["type"] as? String == "viewers" && $0["viewers"] as? Int == 1 }) != nil
            }
            #expect(dropped, "the stalled listener was still connected after \(flashes) flashes")
            let sent = flashes
            #expect(await eventually(timeout: .seconds(30)) { reader.flashCount() == sent })
            // The server closed the stalled connection: once the client reads, it finds the end of the stream.
            #expect(try await stalled.readsToEnd(within: .seconds(30)))
            #expect(try await server.call("GET", "/healthz").status == 200)
            reader.close()
            watcher.close()
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    // MARK: Crash durability

    static let liverelayBinary: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("liverelay").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    @Test(.enabled(if: liverelayBinary != nil, "the liverelay executable is built beside the tests (swift build --build-tests)"),
          .serialized, arguments: ["sqlite", "postgres"])
    func acknowledgedCommentsSurviveKillNine(_ backend: String) async throws {
        let postgres = backend == "postgres" ? try PostgresTestServer() : nil
        defer { postgres?.stop() }
        let dataDirectory = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let configPath = dataDirectory + "/config.yaml"
        try "audience:\n  commentsPerSecond: 100000\n  commentBurst: 100000\n".write(toFile: configPath, atomically: true, encoding: .utf8)

        func start() async throws -> (ExternalProcess, TestClient) {
            // A port found free can be taken before the child binds it; try a few.
            var failure: (any Error)?
            for _ in 0..<3 {
                do { return try await startOnce() } catch { failure = error }
            }
            throw failure!
        }

        func startOnce() async throws -> (ExternalProcess, TestClient) {
            let port = try freePort()
            var arguments = ["LIVERELAY_ADMIN_TOKEN=\(TestServer.adminToken)", Self.liverelayBinary!, "serve", "-c", configPath,
                             "--http-port", "\(port)", "--rtmp-port", "0", "--data-dir", dataDirectory, "--log-format", "json",
                             "--log-level", "warning"]
            if let postgres { arguments += ["--database-url", postgres.url] }
            let process = ExternalProcess(arguments)
            try process.start()
            let client = TestClient(baseURL: "http://127.0.0.1:\(port)")
            let up = await eventually(timeout: .seconds(30)) {
                (try? await client.call("GET", "/healthz").status) == 200 || !process.process.isRunning
            }
            guard up, process.process.isRunning else {
                process.terminate()
                throw TestFailure("liverelay did not start: \(process.log)")
            }
            return (process, client)
        }

        var (process, client) = try await start()
        #expect(try await client.call("POST", "/api/streams", token: TestServer.adminToken, json: ["name": "crash"]).status == 201)
        let token = try await client.token("crash", role: "viewer", sub: "writer")
        let writerClient = client
        let acknowledged = NIOLockedValueBox<[Int: String]>([:])
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var index = 0
                        while !Task.isCancelled {
                            let text = "w\(worker)-\(index)"
                            index += 1
                            guard let result = try? await writerClient.call("POST", "/api/streams/crash/comments", token: token, json: ["text": text]) else {
                                return
                            }
                            if result.status == 201, let id = result.json["id"] as? Int {
                                acknowledged.withLockedValue { $0[id] = text }
                            }
                        }
                    }
                }
            }
        }
        // Kill only once writes are flowing, in the middle of them.
        #expect(await eventually(timeout: .seconds(20)) { acknowledged.withLockedValue { $0.count } >= 300 })
        kill(process.process.processIdentifier, SIGKILL)
        await writers.value
        _ = await process.wait(timeout: .seconds(5))
        let acked = acknowledged.withLockedValue { $0 }

        (process, client) = try await start()
        defer { process.terminate() }
        var stored: [Int: String] = [:]
        var before: Int?
        while true {
            let page = try await client.call("GET", "/api/streams/crash/comments?limit=200" + (before.map { "&before=\($0)" } ?? ""))
            let comments = page.json["comments"] as? [[String: Any]] ?? []
            for comment in comments { stored[comment["id"] as? Int ?? -1] = comment["text"] as? String }
            guard let next = page.json["next"] as? Int else { break }
            before = next
        }
        let missing = acked.filter { stored[$0.key] != $0.value }
        #expect(missing.isEmpty, "\(missing.count) of \(acked.count) acknowledged comments are missing after kill -9")
        #expect(stored.count >= acked.count)
        _ = await process.wait(timeout: .seconds(10))
    }

    // MARK: Helpers

    /// The token with its payload's role changed to moderator, signature kept: what a forger can do without the key.
    static func forge(_ token: String) -> String {
        let parts = token.split(separator: ".").map(String.init)
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let payload = String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self).replacingOccurrences(of: "viewer", with: "moderator")
        let encoded = Data(payload.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "\(parts[0]).\(encoded).\(parts[2])"
    }
}

/// HTTP calls with an audience token (or none), for a TestServer or a child `liverelay` process.
struct TestClient: Sendable {
    let baseURL: String

    func call(_ method: String, _ path: String, token: String? = nil, json: Any? = nil, raw: Data? = nil,
              contentType: String = "application/json") async throws -> TestServer.HTTPResult {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        } else if let raw {
            request.httpBody = raw
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return TestServer.HTTPResult(status: http.statusCode, body: data, headers: headers)
    }

    func token(_ stream: String, role: String, sub: String, name: String? = nil, ttl: Int = 3600) async throws -> String {
        var body: [String: Any] = ["role": role, "sub": sub, "ttlSeconds": ttl]
        if let name { body["name"] = name }
        let result = try await call("POST", "/api/streams/\(stream)/tokens", token: TestServer.adminToken, json: body)
        guard result.status == 201, let token = result.json["token"] as? String else {
            throw TestFailure("minting a token answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
        return token
    }
}

extension TestServer {
    var client: TestClient { TestClient(baseURL: baseURL) }

    func call(_ method: String, _ path: String, token: String? = nil, json: Any? = nil, raw: Data? = nil,
              contentType: String = "application/json") async throws -> HTTPResult {
        try await client.call(method, path, token: token, json: json, raw: raw, contentType: contentType)
    }

    func token(_ stream: String, role: String, sub: String, name: String? = nil, ttl: Int = 3600) async throws -> String {
        try await client.token(stream, role: role, sub: sub, name: name, ttl: ttl)
    }

    /// Ids of every visible comment, following `next` through the pages.
    func allComments(_ stream: String) async throws -> [Int] {
        var ids: [Int] = []
        var before: Int?
        while true {
            let page = try await call("GET", "/api/streams/\(stream)/comments?limit=3" + (before.map { "&before=\($0)" } ?? ""))
            ids += (page.json["comments"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
            guard let next = page.json["next"] as? Int else { return ids }
            before = next
        }
    }
}

/// A real WebSocket client on the event channel (HummingbirdWSClient over NIO), keeping what it receives.
final class EventListener: @unchecked Sendable {  // State holds decoded JSON ([String: Any]); every access is under the lock.
    private struct State {
        var messages: [[String: Any]] = []
        var comments = 0
        var flashes = 0
        var reactions: [String: Int] = [:]
        var closed = false
        var failure: (any Error)?
    }

    private let state = NIOLockedValueBox(State())
    private let outgoing: AsyncStream<String>.Continuation
    private let task: NIOLockedValueBox<Task<Void, Never>?> = .init(nil)
    private let keepMessages: Bool
    private let onAggregate: (@Sendable (Int64) -> Void)?

    private init(outgoing: AsyncStream<String>.Continuation, keepMessages: Bool, onAggregate: (@Sendable (Int64) -> Void)?) {
        self.outgoing = outgoing
        self.keepMessages = keepMessages
        self.onAggregate = onAggregate
    }

    static func connect(server: TestServer, stream: String, token: String?, header: Bool = false, keepMessages: Bool = true,
                        onAggregate: (@Sendable (Int64) -> Void)? = nil) async throws -> EventListener {
        var address = "ws://127.0.0.1:\(server.endpoints.httpPort)/api/streams/\(stream)/events"
        var settings = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        if let token {
            if header { settings.additionalHeaders[.authorization] = "Bearer \(token)" } else { address += "?token=\(token)" }
        }
        let (messages, continuation) = AsyncStream.makeStream(of: String.self)
        let url = address, configuration = settings
        let listener = EventListener(outgoing: continuation, keepMessages: keepMessages, onAggregate: onAggregate)
        let connected = NIOLockedValueBox<CheckedContinuation<Void, any Error>?>(nil)
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            connected.withLockedValue { $0 = waiter }
            let task = Task {
                var logger = Logger(label: "test.ws")
                logger.logLevel = .critical
                do {
                    try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                        connected.withLockedValue { $0?.resume(); $0 = nil }
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for await text in messages { try await outbound.write(.text(text)) }
                                try await outbound.close(.normalClosure, reason: nil)
                            }
                            group.addTask {
                                for try await message in inbound.messages(maxSize: 1 << 20) {
                                    if case .text(let text) = message { listener.received(text) }
                                }
                            }
                            try await group.next()
                            group.cancelAll()
                        }
                    }
                    listener.state.withLockedValue { $0.closed = true }
                    connected.withLockedValue { $0?.resume(throwing: TestFailure("the server refused the upgrade")); $0 = nil }
                } catch {
                    listener.state.withLockedValue { $0.closed = true; $0.failure = error }
                    connected.withLockedValue { $0?.resume(throwing: error); $0 = nil }
                }
            }
            listener.task.withLockedValue { $0 = task }
        }
        return listener
    }

    private func received(_ text: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return }
        state.withLockedValue { state in
            switch object["type"] as? String {
            case "comment.created": state.comments += 1
            case "flash": state.flashes += 1
            case "reactions":
                if let at = object["at"] as? Int64 { onAggregate?(at) }
                for (type, count) in object["counts"] as? [String: Int] ?? [:] { state.reactions[type, default: 0] += count }
            default: break
            }
            if keepMessages || object["type"] as? String == "stream.status" { state.messages.append(object) }
        }
    }

    func send(_ text: String) { outgoing.yield(text) }

    func close() { outgoing.finish() }

    func waitForClose() async throws {
        let task = self.task.withLockedValue { $0 }
        await task?.value
        if let failure = state.withLockedValue({ $0.failure }) { throw failure }
    }

    func commentCount() -> Int { state.withLockedValue { $0.comments } }
    func flashCount() -> Int { state.withLockedValue { $0.flashes } }
    func reactionSums() -> [String: Int] { state.withLockedValue { $0.reactions } }

    /// The first message received that matches, waiting up to `timeout` for it.
    func first(timeout: Duration = .seconds(10), _ matches: @escaping ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = state.withLockedValue({ $0.messages.first(where: matches) }) { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no matching event within \(timeout); got \(state.withLockedValue { $0.messages.compactMap { $0["type"] } })")
    }
}

/// A WebSocket client that upgrades and then never reads: automatic reads off, a small receive buffer.
struct StalledWebSocket {
    let channel: any Channel

    final class EndDetector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let ended: EventLoopPromise<Void>
        init(ended: EventLoopPromise<Void>) { self.ended = ended }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
        func channelInactive(context: ChannelHandlerContext) { ended.succeed() }
        func channelReadComplete(context: ChannelHandlerContext) {}
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    let ended: EventLoopFuture<Void>

    static func open(port: Int, path: String) async throws -> StalledWebSocket {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelOption(.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EndDetector(ended: promise)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        return StalledWebSocket(channel: channel, ended: promise.futureResult)
    }

    /// Starts reading; true if the connection ends (the server closed it) within `timeout`.
    func readsToEnd(within timeout: Duration) async throws -> Bool {
        try await channel.setOption(.autoRead, value: true)
        channel.read()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !channel.isActive { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        channel.close(promise: nil)
        return false
    }
}

/// A loopback TCP port nothing listens on right now.
func freePort() throws -> Int {
    let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
    defer { try? channel.close().wait() }
    return channel.localAddress?.port ?? 0
}

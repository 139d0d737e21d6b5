import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import Audience
import Storage

@Suite("Audience tokens")
struct AudienceTokenTests {
    @Test func roundTripAndRefusals() async throws {
        let authority = await AudienceTokenAuthority(secret: "a-secret-of-enough-length-0123456789")
        let claims = AudienceClaims(sub: "alice", name: "Alice", role: .viewer, stream: "main", incarnation: "s:1", expires: .now.addingTimeInterval(60))
        let token = try await authority.mint(claims)
        let verified = try await authority.verify(token, stream: "main", incarnation: "s:1")
        #expect(verified.sub.value == "alice" && verified.role == .viewer && verified.name == "Alice")

        await #expect(throws: AudienceTokenError.wrongStream) { _ = try await authority.verify(token, stream: "other", incarnation: "s:1") }
        // The same name, created again: another incarnation, and the token admits nobody there.
        await #expect(throws: AudienceTokenError.wrongStream) { _ = try await authority.verify(token, stream: "main", incarnation: "s:2") }
        let expired = try await authority.mint(AudienceClaims(sub: "alice", name: "Alice", role: .viewer, stream: "main", incarnation: "s:1",
                                                              expires: .now.addingTimeInterval(-5)))
        await #expect(throws: AudienceTokenError.expired) { _ = try await authority.verify(expired, stream: "main", incarnation: "s:1") }

        let forger = await AudienceTokenAuthority(secret: "another-secret-entirely-0123456789")
        let forged = try await forger.mint(AudienceClaims(sub: "mallory", name: "M", role: .moderator, stream: "main", incarnation: "s:1",
                                                          expires: .now.addingTimeInterval(60)))
        await #expect(throws: AudienceTokenError.invalid) { _ = try await authority.verify(forged, stream: "main", incarnation: "s:1") }
        // A viewer token with its role edited (signature no longer matches).
        let parts = token.split(separator: ".")
        let payload = String(decoding: Data(base64URL: String(parts[1]))!, as: UTF8.self).replacingOccurrences(of: "viewer", with: "moderator")
        let edited = "\(parts[0]).\(Data(payload.utf8).base64URLEncoded()).\(parts[2])"
        await #expect(throws: AudienceTokenError.invalid) { _ = try await authority.verify(edited, stream: "main", incarnation: "s:1") }
        for garbage in ["", "x", "a.b.c", String(repeating: "A", count: 5000)] {
            await #expect(throws: AudienceTokenError.invalid) { _ = try await authority.verify(garbage, stream: "main", incarnation: "s:1") }
        }
    }

    @Test func generatedSecretIsPersistedOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try AudienceTokenAuthority.resolveSecret(configured: "", dataDirectory: directory)
        let second = try AudienceTokenAuthority.resolveSecret(configured: "", dataDirectory: directory)
        #expect(first == second && first.count >= 40)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/audience-token.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try AudienceTokenAuthority.resolveSecret(configured: " configured-secret-of-32-bytes-or-more ", dataDirectory: directory)
                    == "configured-secret-of-32-bytes-or-more")
    }
}

@Suite("Rate limiter")
struct TokenBucketLimiterTests {
    @Test func burstThenOnePerSecond() {
        let limiter = TokenBucketLimiter(rate: 1, burst: 5)
        let start = ContinuousClock.now
        for _ in 0..<5 { #expect(limiter.take("alice", now: start) == .allowed) }
        #expect(limiter.take("alice", now: start) == .limited(retryAfter: 1))
        #expect(limiter.take("bob", now: start) == .allowed)
        #expect(limiter.take("alice", now: start + .milliseconds(500)) == .limited(retryAfter: 1))
        #expect(limiter.take("alice", now: start + .milliseconds(1100)) == .allowed)
        #expect(limiter.take("alice", now: start + .milliseconds(1200)) == .limited(retryAfter: 1))
        // Idle time refills to the burst, not beyond.
        let later = start + .seconds(60)
        for _ in 0..<5 { #expect(limiter.take("alice", now: later) == .allowed) }
        #expect(limiter.take("alice", now: later) != .allowed)
    }

    @Test func slowRateReportsWholeSecondsToWait() {
        let limiter = TokenBucketLimiter(rate: 0.25, burst: 1)
        let start = ContinuousClock.now
        #expect(limiter.take("a", now: start) == .allowed)
        #expect(limiter.take("a", now: start) == .limited(retryAfter: 4))
    }
}

@Suite("Event hub")
struct EventHubTests {
    @Test func slowListenerSkipsAggregatesThenIsDropped() async {
        let hub = EventHub(outboxCapacity: 8)
        let slow = hub.connect(stream: "main", role: nil)
        let dropped = NIOLockedValueBox(false)
        slow.onOverflow { dropped.withLockedValue { $0 = true } }
        let moderator = hub.connect(stream: "main", role: .moderator)

        for index in 0..<4 { hub.broadcast(AudienceEvent(text: "c\(index)"), stream: "main") }
        hub.broadcast(AudienceEvent(text: "agg", delivery: .skippable), stream: "main")
        #expect(slow.skipped == 1)
        hub.broadcast(AudienceEvent(text: "mod-only", audience: .moderators), stream: "main")
        for index in 4..<8 { hub.broadcast(AudienceEvent(text: "c\(index)"), stream: "main") }
        #expect(!slow.overflowed)
        hub.broadcast(AudienceEvent(text: "one too many"), stream: "main")
        #expect(slow.overflowed && dropped.withLockedValue { $0 })
        #expect(await slow.next() == nil)

        // The moderator outbox has the same bound and overflowed too; a listener that reads keeps up.
        let reader = hub.connect(stream: "main", role: nil)
        hub.broadcast(AudienceEvent(text: "x"), stream: "main")
        #expect(await reader.next() == "x")
        #expect(moderator.overflowed)
        hub.disconnect(slow)
        hub.disconnect(moderator)
        #expect(hub.counts(stream: "main") == .init(viewers: 1, moderators: 0))
        hub.disconnect(reader)
        #expect(hub.streamsWithListeners.isEmpty)
    }

    @Test func waitingReaderGetsEventsAndEndsOnClose() async {
        let hub = EventHub()
        let connection = hub.connect(stream: "main", role: nil)
        let reader = Task { () -> [String] in
            var seen: [String] = []
            while let text = await connection.next() { seen.append(text) }
            return seen
        }
        try? await Task.sleep(for: .milliseconds(50))
        hub.broadcast(AudienceEvent(text: "a"), stream: "main")
        hub.broadcast(AudienceEvent(text: "b"), stream: "other")
        hub.broadcast(AudienceEvent(text: "c"), stream: "main")
        try? await Task.sleep(for: .milliseconds(50))
        hub.closeAll()
        #expect(await reader.value == ["a", "c"])
    }
}

@Suite("Audience service")
struct AudienceServiceTests {
    final class RecordingSink: TimedMetadataSink {
        let published = NIOLockedValueBox<[TimedMetadata]>([])
        func publish(_ metadata: TimedMetadata) { published.withLockedValue { $0.append(metadata) } }
    }

    func makeService(_ database: Database, _ adjust: (inout AudienceSettings) -> Void = { _ in }) async -> AudienceService {
        var settings = AudienceSettings()
        adjust(&settings)
        return AudienceService(database: database, tokens: await AudienceTokenAuthority(secret: "test-secret-0123456789abcdef"),
                               settings: settings, logger: Logger(label: "test.audience"))
    }

    func viewer(_ sub: String, role: AudienceRole = .viewer) -> AudienceClaims {
        // The incarnation is what comments and bans are stored under; "main" keeps the store assertions below readable.
        AudienceClaims(sub: sub, name: sub.capitalized, role: role, stream: "main", incarnation: "main", expires: .now.addingTimeInterval(60))
    }

    @Test func statusChangesReachEveryoneAndViewerCountsReachModerators() async throws {
        try await withDatabase(.sqlite) { database in
            let audience = await makeService(database)
            audience.connect(webRTCViewers: { stream in stream == "main" ? ["720p": 2, "180p": 1] : [:] })
            audience.connect(httpPlayers: { stream in stream == "main" ? ["hls": 4] : [:] })
            let viewer = audience.join(stream: "main", role: .viewer, isLive: false)
            let moderator = audience.join(stream: "main", role: .moderator, isLive: false)
            /// Reads the connection's messages up to the first that `matches`; also returns the types passed.
            func first(_ connection: EventConnection, _ matches: ([String: Any]) -> Bool) async -> ([String: Any]?, [String]) {
                var passed: [String] = []
                while let text = await connection.next() {
                    let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                    if matches(object) { return (object, passed) }
                    passed.append(object["type"] as? String ?? "")
                }
                return (nil, passed)
            }
            // A moderator's join is reported to moderators: listeners, and WebRTC viewers by rung.
            let report = try #require(await first(moderator) { $0["type"] as? String == "viewers" }.0)
            #expect(report["viewers"] as? Int == 1 && report["moderators"] as? Int == 1, "\(report)")
            let webrtc = try #require(report["webrtc"] as? [String: Any], "\(report)")
            #expect(webrtc["total"] as? Int == 3 && (webrtc["byLayer"] as? [String: Int]) == ["720p": 2, "180p": 1])
            #expect((report["http"] as? [String: Int]) == ["hls": 4, "dash": 0], "\(report)")
            // The publisher starts, then stops: everyone hears both.
            audience.announceStatus(stream: "main", live: true)
            audience.announceStatus(stream: "main", live: false)
            for connection in [viewer, moderator] {
                let live = await first(connection) { $0["type"] as? String == "stream.status" && $0["status"] as? String == "live" }
                #expect(live.0?["viewers"] as? Int == 1)
                #expect(!live.1.contains("viewers") || connection === moderator, "viewers never get the moderators' counts: \(live.1)")
                let offline = await first(connection) { $0["type"] as? String == "stream.status" }
                #expect(offline.0?["status"] as? String == "offline")
            }
            audience.leave(viewer)
            audience.leave(moderator)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func commentsAreValidatedLimitedAndAnnounced(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { database in
            // A bucket that refills once in 100 s: a slow host cannot earn a token back mid-test.
            let audience = await makeService(database) { $0.commentsPerSecond = 0.01 }
            let listener = audience.join(stream: "main", role: nil, isLive: false)
            #expect(await listener.next()?.contains(#""type":"stream.status""#) == true)

            await #expect(throws: AudienceError.invalidText("comment text is empty")) {
                _ = try await audience.postComment(stream: "main", by: viewer("alice"), text: " \n\t ")
            }
            await #expect(throws: AudienceError.invalidText("comment text is longer than 500 characters")) {
                _ = try await audience.postComment(stream: "main", by: viewer("alice"), text: String(repeating: "x", count: 501))
            }
            let longest = try await audience.postComment(stream: "main", by: viewer("alice"), text: String(repeating: "é", count: 500))
            #expect(longest.text.count == 500)
            let created = await listener.next() ?? ""
            #expect(created.contains(#""type":"comment.created""#) && created.contains(#""id":\#(longest.id)"#))

            for index in 0..<4 { _ = try await audience.postComment(stream: "main", by: viewer("alice"), text: "n\(index)") }
            // 100 s until a token at 0.01 a second, less the time the five posts took (a second or two on a busy host).
            let limited = await #expect(throws: AudienceError.self) {
                _ = try await audience.postComment(stream: "main", by: viewer("alice"), text: "sixth")
            }
            if case .rateLimited(let retryAfter) = limited {
                #expect((95...100).contains(retryAfter), "retryAfter \(retryAfter)")
            } else {
                Issue.record("not rate limited: \(String(describing: limited))")
            }
            _ = try await audience.postComment(stream: "main", by: viewer("bob"), text: "bob is not limited by alice")

            _ = try await audience.ban(stream: "main", sub: "carol", reason: "", by: viewer("mod", role: .moderator))
            let moderatorListener = audience.join(stream: "main", role: .moderator, isLive: false)
            await #expect(throws: AudienceError.banned) {
                _ = try await audience.postComment(stream: "main", by: viewer("carol"), text: "hi")
            }
            // Moderators see what the banned user tried to say; viewers do not (their next seven are checked below).
            var moderatorSeen: [String] = []
            while moderatorSeen.count < 10, !(moderatorSeen.last ?? "").contains(#""type":"comment.held""#) {
                moderatorSeen.append(await moderatorListener.next() ?? "")
            }
            #expect(moderatorSeen.last?.contains(#""authorId":"carol""#) == true && moderatorSeen.last?.contains(#""text":"hi""#) == true,
                    "\(moderatorSeen)")
            audience.leave(moderatorListener)
            try await audience.deleteComment(stream: "main", id: longest.id, by: viewer("mod", role: .moderator), reason: "test")
            await #expect(throws: AudienceError.notFound) {
                try await audience.deleteComment(stream: "main", id: longest.id, by: viewer("mod", role: .moderator), reason: "test")
            }
            var seen: [String] = []
            for _ in 0..<7 { seen.append(await listener.next() ?? "") }
            #expect(seen.filter { $0.contains("comment.created") }.count == 5)
            #expect(seen.contains { $0.contains(#""type":"user.banned""#) && $0.contains("carol") })
            #expect(seen.last == #"{"id":\#(longest.id),"type":"comment.deleted"}"#)
            audience.leave(listener)
        }
    }

    /// Two nodes sharing one database: a ban on one revokes the user's tokens on the other once it refreshes, and a
    /// node started later loads the revocation at start.
    @Test(arguments: TestBackend.allCases)
    func revocationsReachEveryNodeSharingTheDatabase(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { database in
            let first = await makeService(database)
            let second = await makeService(database)
            let token = try await second.tokens.mint(viewer("troll"))
            #expect(try await second.tokens.verify(token, stream: "main", incarnation: "main").sub.value == "troll")
            _ = try await first.ban(stream: "main", sub: "troll", reason: "", by: viewer("mod", role: .moderator))
            try await second.refreshRevocations()
            await #expect(throws: AudienceTokenError.revoked) { _ = try await second.tokens.verify(token, stream: "main", incarnation: "main") }
            let third = await makeService(database)
            try await third.loadRevocations()
            await #expect(throws: AudienceTokenError.revoked) { _ = try await third.tokens.verify(token, stream: "main", incarnation: "main") }
        }
    }

    @Test func reactionsAggregatePerWindowAndPersist() async throws {
        try await withDatabase(.sqlite) { database in
            let audience = await makeService(database) { $0.reactionsPerSecond = 1000; $0.reactionBurst = 1000 }
            let listener = audience.join(stream: "main", role: nil, isLive: true)
            let moderator = audience.join(stream: "main", role: .moderator, isLive: true)
            _ = await listener.next()
            await #expect(throws: AudienceError.unknownReaction("poop")) { try audience.react(stream: "main", type: "poop", sender: "a") }
            for index in 0..<30 { try audience.react(stream: "main", type: index % 3 == 0 ? "wow" : "heart", sender: "u\(index)") }
            audience.reactions.closeWindow()
            let aggregate = try #require(await listener.next())
            let object = try #require(try JSONSerialization.jsonObject(with: Data(aggregate.utf8)) as? [String: Any])
            #expect(object["type"] as? String == "reactions")
            #expect(object["counts"] as? [String: Int] == ["heart": 20, "wow": 10])
            #expect(object["windowMs"] as? Int == 250)
            // An empty window sends nothing.
            #expect(audience.reactions.closeWindow() == 0)

            audience.reactions.closeSecond()
            // Moderators also get the viewer counts, reported as they join: read on to the rates.
            var moderatorMessages: [String] = []
            while moderatorMessages.count < 8, !(moderatorMessages.last ?? "").contains(#""type":"reactions.rate""#) {
                moderatorMessages.append(await moderator.next() ?? "")
            }
            #expect(moderatorMessages.contains { $0.contains(#""type":"reactions.rate""#) && $0.contains(#""heart":20"#) }, "\(moderatorMessages)")

            await audience.reactions.persist()
            let now = Int64(Date.now.timeIntervalSince1970)
            let totals = try await audience.reactionTotals.totals(stream: "main", from: now - 5, to: now + 5)
            #expect(totals.filter { $0.type == "heart" }.map(\.count).reduce(0, +) == 20)
            #expect(totals.filter { $0.type == "wow" }.map(\.count).reduce(0, +) == 10)
        }
    }

    @Test func flashesReachListenersAndTheTimeline() async throws {
        try await withDatabase(.sqlite) { database in
            let audience = await makeService(database)
            let sink = RecordingSink()
            audience.connect(metadataSink: sink)
            let early = audience.join(stream: "main", role: nil, isLive: true)
            _ = await early.next()
            let moderator = viewer("mod", role: .moderator)
            let news = audience.pushFlash(stream: "main", kind: .news, severity: .breaking, text: "Breaking", durationSeconds: 30,
                                          pinned: false, by: moderator)
            let disclaimer = audience.pushFlash(stream: "main", kind: .disclaimer, severity: .info, text: "Paid promotion",
                                                durationSeconds: nil, pinned: true, by: moderator)
            #expect(await early.next()?.contains(news.id) == true)
            #expect(await early.next()?.contains(disclaimer.id) == true)

            // A listener joining later gets the status, then the pinned disclaimer; not the expired news.
            let late = audience.join(stream: "main", role: nil, isLive: true)
            #expect(await late.next()?.contains("stream.status") == true)
            let pinned = await late.next() ?? ""
            #expect(pinned.contains(disclaimer.id) && pinned.contains(#""pinned":true"#))

            let published = sink.published.withLockedValue { $0 }
            #expect(published.map(\.id) == [news.id, disclaimer.id])
            #expect(published[0].duration == .seconds(30) && published[1].duration == nil && published[0].severity == "breaking")

            #expect(audience.unpin(stream: "main"))
            #expect(!audience.unpin(stream: "main"))
            #expect(audience.pinnedDisclaimer(stream: "main") == nil)
        }
    }
}

extension Data {
    init?(base64URL text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }

    func base64URLEncoded() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

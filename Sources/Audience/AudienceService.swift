import Foundation
import Logging
import NIOConcurrencyHelpers
import Storage

/// Settings of the audience side (the `audience:` section of the configuration).
public struct AudienceSettings: Sendable, Equatable {
    public var reactionTypes: [String] = ["heart", "like", "laugh", "wow", "clap", "fire"]
    public var commentsPerSecond = 1.0
    public var commentBurst = 5
    public var reactionsPerSecond = 20.0
    public var reactionBurst = 40
    public var maximumCommentLength = 500
    public var reactionWindow: Duration = .milliseconds(250)
    public var outboxCapacity = 512

    public init() {}
}

public enum AudienceError: Error, Equatable {
    case invalidText(String)
    case unknownReaction(String)
    case rateLimited(retryAfter: Int)
    case banned
    case notFound
}

/// The audience engine of one node: comments, bans, reactions, flashes and the event hub they are announced on.
public final class AudienceService: Sendable {
    public let settings: AudienceSettings
    public let comments: CommentStore
    private let commentWriter: CommentWriter
    public let reactionTotals: ReactionTotalsStore
    private let revocationStore: TokenRevocationStore
    /// The last `token_revocations` row taken in.
    private let lastRevocationID = NIOLockedValueBox<Int64>(0)
    /// How often revocations stored by other nodes are taken in.
    private let revocationRefreshInterval: Duration
    public let hub: EventHub
    public let reactions: ReactionAggregator
    public let tokens: AudienceTokenAuthority
    private let commentLimiter: TokenBucketLimiter
    private let reactionLimiter: TokenBucketLimiter
    private let allowedReactions: Set<String>
    private let metadataSink: NIOLockedValueBox<(any TimedMetadataSink)?>
    /// A stream's WebRTC viewers by rung, when the node has WebRTC egress.
    private let webRTCViewers = NIOLockedValueBox<(@Sendable (String) async -> [String: Int])?>(nil)
    /// A stream's DASH/HLS players by protocol, as the origin sees them.
    private let httpPlayers = NIOLockedValueBox<(@Sendable (String) -> [String: Int])?>(nil)
    /// How often moderators get the viewer counts by protocol and rung.
    private let viewerReportInterval: Duration
    /// stream → the pinned disclaimer every new listener gets first.
    private let pinned = NIOLockedValueBox<[String: Flash]>([:])
    private let logger: Logger

    public init(database: Database, tokens: AudienceTokenAuthority, settings: AudienceSettings = AudienceSettings(),
                metadataSink: (any TimedMetadataSink)? = nil, viewerReportInterval: Duration = .seconds(2),
                revocationRefreshInterval: Duration = .seconds(5), logger: Logger) {
        self.revocationRefreshInterval = revocationRefreshInterval
        self.settings = settings
        self.viewerReportInterval = viewerReportInterval
        self.tokens = tokens
        self.comments = CommentStore(database: database)
        self.commentWriter = CommentWriter(database: database)
        self.reactionTotals = ReactionTotalsStore(database: database)
        self.revocationStore = TokenRevocationStore(database: database)
        self.hub = EventHub(outboxCapacity: settings.outboxCapacity)
        self.reactions = ReactionAggregator(hub: hub, store: reactionTotals, window: settings.reactionWindow, logger: logger)
        self.commentLimiter = TokenBucketLimiter(rate: settings.commentsPerSecond, burst: settings.commentBurst)
        self.reactionLimiter = TokenBucketLimiter(rate: settings.reactionsPerSecond, burst: settings.reactionBurst)
        self.allowedReactions = Set(settings.reactionTypes)
        self.metadataSink = NIOLockedValueBox(metadataSink)
        self.logger = logger
    }

    /// Connects the DASH/HLS packager (or anything else) that puts flashes on the media timeline.
    public func connect(metadataSink: any TimedMetadataSink) {
        self.metadataSink.withLockedValue { $0 = metadataSink }
    }

    /// Where moderators' viewer counts get the WebRTC viewers of a stream by rung.
    public func connect(webRTCViewers: @escaping @Sendable (String) async -> [String: Int]) {
        self.webRTCViewers.withLockedValue { $0 = webRTCViewers }
    }

    /// Where moderators' viewer counts get the DASH/HLS players of a stream by protocol (`hls`, `dash`).
    public func connect(httpPlayers: @escaping @Sendable (String) -> [String: Int]) {
        self.httpPlayers.withLockedValue { $0 = httpPlayers }
    }

    /// Runs the reaction windows, the moderators' viewer reports and the revocation refresh until cancelled, then
    /// closes every event channel so the HTTP server can drain.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.reactions.run() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.viewerReportInterval)
                    for stream in self.hub.streamsWithListeners where self.hub.counts(stream: stream).moderators > 0 {
                        await self.reportViewers(stream: stream)
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.revocationRefreshInterval)
                    guard !Task.isCancelled else { break }
                    do {
                        try await self.refreshRevocations()
                    } catch {
                        self.logger.warning("token revocations not refreshed", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
        hub.closeAll()
    }

    // MARK: Stream status and viewer counts

    /// The publisher started or stopped: every listener gets a `stream.status`.
    public func announceStatus(stream: String, live: Bool) {
        let counts = hub.counts(stream: stream)
        hub.broadcast(.encode(type: "stream.status", StatusPayload(
            stream: stream, status: live ? "live" : "offline", viewers: counts.viewers, moderators: counts.moderators,
            reactionTypes: settings.reactionTypes)), stream: stream)
    }

    /// Moderators get who is watching: event-channel listeners, and WebRTC viewers by rung.
    func reportViewers(stream: String) async {
        let counts = hub.counts(stream: stream)
        guard counts.moderators > 0 else { return }
        let byLayer = await webRTCViewers.withLockedValue { $0 }?(stream)
        let players = httpPlayers.withLockedValue { $0 }?(stream)
        hub.broadcast(.encode(type: "viewers", ViewersPayload(
            viewers: counts.viewers, moderators: counts.moderators,
            webrtc: byLayer.map { ViewersPayload.WebRTC(total: $0.values.reduce(0, +), byLayer: $0) },
            http: players.map { ViewersPayload.HTTP(hls: $0["hls"] ?? 0, dash: $0["dash"] ?? 0) }),
                              audience: .moderators, delivery: .skippable), stream: stream)
    }

    // MARK: Comments

    /// Checks, rate-limits, stores (committed) and announces a comment. Stored under the stream incarnation the
    /// author's token was verified for (`claims.inc`), as are deletions and bans below.
    public func postComment(stream: String, by claims: AudienceClaims, text: String) async throws -> Comment {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw AudienceError.invalidText("comment text is empty") }
        // The limit is on the trimmed text; surrounding whitespace is kept verbatim but bounded too.
        guard trimmed.count <= settings.maximumCommentLength, text.count <= settings.maximumCommentLength * 2 else {
            throw AudienceError.invalidText("comment text is longer than \(settings.maximumCommentLength) characters")
        }
        if case .limited(let retryAfter) = commentLimiter.take("\(stream)\u{0}\(claims.sub.value)") {
            throw AudienceError.rateLimited(retryAfter: retryAfter)
        }
        let comment: Comment
        do {
            comment = try await commentWriter.add(stream: claims.inc, authorID: claims.sub.value, author: claims.name, text: text)
        } catch CommentStoreError.banned {
            // Held back from viewers; moderators see what a banned user tried to say.
            hub.broadcast(.encode(type: "comment.held", HeldPayload(authorId: claims.sub.value, author: claims.name, text: text,
                                                                     reason: "banned", at: AudienceTime.milliseconds(.now)),
                                  audience: .moderators), stream: stream)
            throw AudienceError.banned
        }
        hub.broadcast(.encode(type: "comment.created", CommentPayload(comment: comment)), stream: stream)
        return comment
    }

    public func deleteComment(stream: String, id: Int64, by claims: AudienceClaims, reason: String) async throws {
        guard try await comments.delete(stream: claims.inc, id: id, by: claims.sub.value, reason: reason) else { throw AudienceError.notFound }
        hub.broadcast(.encode(type: "comment.deleted", DeletedPayload(id: id)), stream: stream)
        logger.info("comment deleted", metadata: ["stream": "\(stream)", "id": "\(id)", "moderator": "\(claims.sub.value)"])
    }

    public func ban(stream: String, sub: String, reason: String, by claims: AudienceClaims) async throws -> Ban {
        let ban = try await comments.ban(stream: claims.inc, sub: sub, reason: reason, by: claims.sub.value)
        // The ban revoked the user's tokens in the database; this node stops accepting them now.
        tokens.revocations.add(.user(sub, incarnation: claims.inc, at: ban.createdAt))
        // Clients hide the user's comments already on screen; the API stops returning them.
        hub.broadcast(.encode(type: "user.banned", BannedPayload(sub: sub)), stream: stream)
        // Their open event connections end now, not when they next reconnect.
        hub.close(stream: stream, reason: .banned) { $0.subject == sub }
        logger.info("user banned", metadata: ["stream": "\(stream)", "sub": "\(sub)", "moderator": "\(claims.sub.value)"])
        return ban
    }

    /// Revokes one token of the stream incarnation by its `jti`; connections opened with it end.
    public func revokeToken(id: String, stream: String, incarnation: String) async throws {
        let revocation = TokenRevocation.token(id, incarnation: incarnation, at: .now)
        try await revocationStore.add(revocation)
        tokens.revocations.add(revocation)
        hub.close(stream: stream, reason: .revoked) { $0.tokenID == id }
    }

    /// Loads the revocations in force into the token authority (at start).
    public func loadRevocations() async throws {
        let loaded = try await revocationStore.load()
        for revocation in loaded.revocations { tokens.revocations.add(revocation) }
        lastRevocationID.withLockedValue { $0 = max($0, loaded.lastID) }
    }

    /// Takes in the revocations other nodes sharing the database stored since the last look (`run` does this every
    /// `revocationRefreshInterval`), so a ban or revocation made on one node holds on all of them.
    public func refreshRevocations() async throws {
        let after = lastRevocationID.withLockedValue { $0 }
        let loaded = try await revocationStore.load(after: after)
        for revocation in loaded.revocations { tokens.revocations.add(revocation) }
        lastRevocationID.withLockedValue { $0 = max($0, loaded.lastID) }
    }

    /// Lifts the ban. Tokens the ban revoked stay revoked: the user needs a new one.
    public func unban(stream: String, sub: String, by claims: AudienceClaims) async throws {
        guard try await comments.unban(stream: claims.inc, sub: sub, by: claims.sub.value) else { throw AudienceError.notFound }
    }

    // MARK: Reactions

    public var reactionTypes: [String] { settings.reactionTypes }

    /// Counts one reaction from `sender` (a user id, or a connection for anonymous listeners).
    public func react(stream: String, type: String, sender: String) throws {
        guard allowedReactions.contains(type) else { throw AudienceError.unknownReaction(type) }
        if case .limited(let retryAfter) = reactionLimiter.take("\(stream)\u{0}\(sender)") {
            throw AudienceError.rateLimited(retryAfter: retryAfter)
        }
        reactions.record(stream: stream, type: type)
    }

    // MARK: Flashes

    public func pushFlash(stream: String, kind: Flash.Kind, severity: Flash.Severity, text: String, durationSeconds: Int?,
                          pinned isPinned: Bool, by claims: AudienceClaims) -> Flash {
        let flash = Flash(id: UUID().uuidString.lowercased(), kind: kind, severity: severity, text: text,
                          durationSeconds: isPinned ? nil : durationSeconds, pinned: isPinned, createdAt: .now, createdBy: claims.sub.value)
        if isPinned {
            pinned.withLockedValue { $0[stream] = flash }
        }
        hub.broadcast(.encode(type: "flash", flash), stream: stream)
        metadataSink.withLockedValue { $0 }?.publish(TimedMetadata(
            id: flash.id, stream: stream, kind: kind.rawValue, severity: severity.rawValue, text: text, start: flash.createdAt,
            duration: flash.durationSeconds.map { .seconds($0) }))
        logger.info("flash pushed", metadata: ["stream": "\(stream)", "kind": "\(kind.rawValue)", "pinned": "\(isPinned)"])
        return flash
    }

    /// Unpins the stream's disclaimer; false if none was pinned.
    public func unpin(stream: String) -> Bool {
        guard let flash = pinned.withLockedValue({ $0.removeValue(forKey: stream) }) else { return false }
        hub.broadcast(.encode(type: "flash.unpinned", DeletedFlashPayload(id: flash.id)), stream: stream)
        return true
    }

    public func pinnedDisclaimer(stream: String) -> Flash? {
        pinned.withLockedValue { $0[stream] }
    }

    // MARK: Event channel

    /// The stream was deleted: its listeners are closed and its pinned disclaimer dropped, so nothing of it reaches
    /// the listeners of a stream created again under the name.
    public func forget(stream: String) {
        _ = pinned.withLockedValue { $0.removeValue(forKey: stream) }
        hub.close(stream: stream)
    }

    /// Registers a listener and queues what a newcomer sees first: the stream status and the pinned disclaimer.
    public func join(stream: String, role: AudienceRole?, isLive: Bool, subject: String? = nil, tokenID: String? = nil) -> EventConnection {
        let connection = hub.connect(stream: stream, role: role, subject: subject, tokenID: tokenID)
        let counts = hub.counts(stream: stream)
        connection.enqueue(AudienceEvent.encode(type: "stream.status", StatusPayload(
            stream: stream, status: isLive ? "live" : "offline", viewers: counts.viewers, moderators: counts.moderators,
            reactionTypes: settings.reactionTypes)))
        if let flash = pinnedDisclaimer(stream: stream) {
            connection.enqueue(AudienceEvent.encode(type: "flash", flash))
        }
        Task { await self.reportViewers(stream: stream) }
        return connection
    }

    public func leave(_ connection: EventConnection) {
        hub.disconnect(connection)
        Task { await self.reportViewers(stream: connection.stream) }
    }

    struct ViewersPayload: Encodable {
        struct WebRTC: Encodable {
            var total: Int
            var byLayer: [String: Int]
        }
        struct HTTP: Encodable {
            var hls: Int
            var dash: Int
        }
        var viewers: Int
        var moderators: Int
        /// Absent on a node without WebRTC egress.
        var webrtc: WebRTC?
        /// DASH/HLS players fetching manifests from this node (see `PlayerTally`).
        var http: HTTP?
    }

    struct CommentPayload: Encodable {
        var comment: Comment
    }

    struct HeldPayload: Encodable {
        var authorId: String
        var author: String
        var text: String
        var reason: String
        /// Unix milliseconds.
        var at: Int64
    }

    struct DeletedPayload: Encodable {
        var id: Int64
    }

    struct DeletedFlashPayload: Encodable {
        var id: String
    }

    struct BannedPayload: Encodable {
        var sub: String
    }

    struct StatusPayload: Encodable {
        var stream: String
        var status: String
        var viewers: Int
        var moderators: Int
        var reactionTypes: [String]
    }
}

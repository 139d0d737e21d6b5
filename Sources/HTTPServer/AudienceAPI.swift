import Audience
import Foundation
import Hummingbird
import MediaRouter
import Catalog

/// `/api/streams/{stream}/…` for the audience: tokens, comments, bans, reactions, flashes.
public struct AudienceAPI: Sendable {
    let audience: AudienceService
    let authorization: AudienceAuthorization
    let admin: AdminAuthorization
    let router: MediaRouter
    /// Most per-second rows one page of `GET …/reactions` returns.
    let reactionPageLimit: Int
    /// Longest token lifetime the admin may ask for.
    static let maximumTokenLifetime = 7 * 24 * 3600

    /// `http.allowedOrigins`, for the event channel's refusal reason (`EventChannel` applies it).
    let allowedOrigins: Set<String>

    public init(audience: AudienceService, catalog: StreamCatalog, admin: AdminAuthorization, router: MediaRouter,
                reactionPageLimit: Int = 1000, allowedOrigins: [String] = []) {
        self.audience = audience
        self.admin = admin
        self.router = router
        self.reactionPageLimit = reactionPageLimit
        self.allowedOrigins = Set(allowedOrigins)
        self.authorization = AudienceAuthorization(tokens: audience.tokens, admin: admin, catalog: catalog)
    }

    struct TokenRequest: Decodable {
        var role: AudienceRole
        var sub: String
        var name: String?
        var ttlSeconds: Int?
    }

    struct TokenResponse: ResponseEncodable {
        var token: String
        /// The token's `jti`: what `DELETE /api/streams/{s}/tokens/{id}` revokes.
        var id: String
        var role: AudienceRole
        var sub: String
        var expiresAt: String
    }

    struct CommentPage: ResponseEncodable {
        var comments: [Comment]
        /// Pass as `before` for the next (older) page; absent on the last page.
        var next: Int64?
    }

    struct BanList: ResponseEncodable {
        var bans: [Ban]
    }

    struct ReactionTotals: ResponseEncodable {
        var from: Int64
        var to: Int64
        /// Sums over the whole `from..to` range.
        var totals: [String: Int64]
        /// One page of per-second rows, ordered by second then type.
        var seconds: [ReactionTotalsStore.Total]
        /// Pass as `after` (with the same `from` and `to`) for the next page; absent on the last page.
        var next: String?
    }

    struct FlashRequest: Decodable {
        var kind: Flash.Kind
        var text: String
        var severity: Flash.Severity?
        var durationSeconds: Int?
        var pinned: Bool?
    }

    public func register(on router: Router<LiveRelayRequestContext>) {
        let streams = router.group("api/streams")

        streams.post(":name/tokens") { request, context in
            try admin.requireAdmin(request)
            let stream = try await authorization.stream(try context.parameters.require("name"))
            let body = try await StrictJSON.decode(TokenRequest.self, from: request, context: context, fields: ["role", "sub", "name", "ttlSeconds"])
            guard (1...128).contains(body.sub.count) else { throw APIError.badRequest("sub must be 1-128 characters") }
            let name = body.name ?? body.sub
            guard (1...64).contains(name.count) else { throw APIError.badRequest("name must be 1-64 characters") }
            let ttl = body.ttlSeconds ?? 3600
            guard (1...Self.maximumTokenLifetime).contains(ttl) else {
                throw APIError.badRequest("ttlSeconds must be 1-\(Self.maximumTokenLifetime)")
            }
            let now = Date.now
            let expires = now.addingTimeInterval(TimeInterval(ttl))
            let claims = AudienceClaims(sub: body.sub, name: name, role: body.role, stream: stream.name, incarnation: stream.incarnation,
                                        issuedAt: now, expires: expires)
            let token = try await audience.tokens.mint(claims)
            return EditedResponse(status: .created, response: TokenResponse(token: token, id: claims.jti.value, role: body.role, sub: body.sub,
                                                                            expiresAt: AudienceTime.string(expires)))
        }

        streams.delete(":name/tokens/:id") { request, context in
            try admin.requireAdmin(request)
            let stream = try await authorization.stream(try context.parameters.require("name"))
            let id = try context.parameters.require("id")
            guard (1...128).contains(id.count) else { throw APIError.badRequest("id must be 1-128 characters") }
            try await audience.revokeToken(id: id, stream: stream.name, incarnation: stream.incarnation)
            context.logger.info("token revoked", metadata: ["stream": "\(stream.name)"])
            return Response(status: .noContent)
        }

        streams.post(":name/comments") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            let claims = try await authorization.require(.viewer, request, stream: stream)
            let body = try await StrictJSON.decode(CommentRequest.self, from: request, context: context, fields: ["text"])
            let comment = try await perform { try await audience.postComment(stream: stream.name, by: claims, text: body.text) }
            return EditedResponse(status: .created, headers: [.location: "/api/streams/\(stream.name)/comments/\(comment.id)"],
                                  response: CommentResponse(comment: comment))
        }

        streams.get(":name/comments") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            try await refuseBadCredentials(stream, request)
            let query = request.uri.queryParameters
            let limit = try integer(query.get("limit"), name: "limit", range: 1...200) ?? 50
            let before = try integer(query.get("before"), name: "before", range: 1...Int.max).map(Int64.init)
            let comments = try await audience.comments.page(stream: stream.incarnation, before: before, limit: limit)
            return CommentPage(comments: comments, next: comments.count == limit ? comments.last?.id : nil)
        }

        streams.delete(":name/comments/:id") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            let claims = try await authorization.require(.moderator, request, stream: stream)
            guard let id = Int64(try context.parameters.require("id")) else { throw APIError.notFound("no such comment") }
            let reason = request.uri.queryParameters.get("reason") ?? ""
            try await perform { try await audience.deleteComment(stream: stream.name, id: id, by: claims, reason: reason) }
            return Response(status: .noContent)
        }

        streams.post(":name/bans") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            let claims = try await authorization.require(.moderator, request, stream: stream)
            let body = try await StrictJSON.decode(BanRequest.self, from: request, context: context, fields: ["sub", "reason"])
            guard (1...128).contains(body.sub.count) else { throw APIError.badRequest("sub must be 1-128 characters") }
            let ban = try await audience.ban(stream: stream.name, sub: body.sub, reason: body.reason ?? "", by: claims)
            return EditedResponse(status: .created, response: BanResponse(ban: ban))
        }

        streams.get(":name/bans") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            _ = try await authorization.require(.moderator, request, stream: stream)
            return BanList(bans: try await audience.comments.bans(stream: stream.incarnation))
        }

        streams.get(":name/audit") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            _ = try await authorization.require(.moderator, request, stream: stream)
            let entries = try await audience.comments.audit(stream: stream.incarnation, limit: 100)
            return AuditList(entries: entries.map { AuditItem(action: $0.action, actor: $0.actor, subject: $0.subject, reason: $0.reason) })
        }

        streams.delete(":name/bans/:sub") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            let claims = try await authorization.require(.moderator, request, stream: stream)
            let sub = try context.parameters.require("sub")
            try await perform { try await audience.unban(stream: stream.name, sub: sub, by: claims) }
            return Response(status: .noContent)
        }

        streams.post(":name/reactions") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            let claims = try await authorization.require(.viewer, request, stream: stream)
            let body = try await StrictJSON.decode(ReactionRequest.self, from: request, context: context, fields: ["type"])
            try await perform { try audience.react(stream: stream.name, type: body.type, sender: claims.sub.value) }
            return Response(status: .accepted)
        }

        streams.get(":name/reactions") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            try await refuseBadCredentials(stream, request)
            let now = Int64(Date.now.timeIntervalSince1970)
            let query = request.uri.queryParameters
            let to = try integer(query.get("to"), name: "to", range: 0...Int.max).map(Int64.init) ?? now + 1
            let from = try integer(query.get("from"), name: "from", range: 0...Int.max).map(Int64.init) ?? to - 600
            guard from <= to, to - from <= 86_400 else { throw APIError.badRequest("from..to must be ordered and at most one day") }
            let limit = try integer(query.get("limit"), name: "limit", range: 1...reactionPageLimit) ?? reactionPageLimit
            // `after` is the `next` of the previous page: "<second>:<type>" of its last row.
            var after: (second: Int64, type: String)?
            if let text = query.get("after") {
                let parts = text.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let second = Int64(parts[0]) else { throw APIError.badRequest("after must be <second>:<type>") }
                after = (second, String(parts[1]))
            }
            // One row more than the page tells whether another page follows.
            var seconds = try await audience.reactionTotals.totals(stream: stream.name, from: from, to: to, after: after, limit: limit + 1)
            var next: String?
            if seconds.count > limit {
                seconds.removeLast(seconds.count - limit)
                next = seconds.last.map { "\($0.second):\($0.type)" }
            }
            let totals = try await audience.reactionTotals.sums(stream: stream.name, from: from, to: to)
            return ReactionTotals(from: from, to: to, totals: totals, seconds: seconds, next: next)
        }

        streams.post(":name/flashes") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            let claims = try await authorization.require(.moderator, request, stream: stream)
            let body = try await StrictJSON.decode(FlashRequest.self, from: request, context: context,
                                                   fields: ["kind", "text", "severity", "durationSeconds", "pinned"])
            let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...1000).contains(text.count) else { throw APIError.badRequest("flash text must be 1-1000 characters") }
            if let duration = body.durationSeconds, !(1...86_400).contains(duration) {
                throw APIError.badRequest("durationSeconds must be 1-86400")
            }
            let pinned = body.pinned ?? false
            guard !pinned || body.kind == .disclaimer else { throw APIError.badRequest("only a disclaimer can be pinned") }
            let flash = audience.pushFlash(stream: stream.name, kind: body.kind, severity: body.severity ?? .info, text: body.text,
                                           durationSeconds: body.durationSeconds ?? (pinned ? nil : 30), pinned: pinned, by: claims)
            return EditedResponse(status: .created, response: FlashResponse(flash: flash))
        }

        streams.delete(":name/flashes/pinned") { request, context in
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request)
            _ = try await authorization.require(.moderator, request, stream: stream)
            guard audience.unpin(stream: stream.name) else { throw APIError.notFound("no disclaimer is pinned") }
            return Response(status: .noContent)
        }

        // A plain GET of the event channel (no WebSocket upgrade, or an upgrade refused): the reason, as JSON.
        streams.get(":name/events") { request, context -> Response in
            guard EventChannel.originAllowed(request, allowedOrigins) else {
                throw APIError(.forbidden, "origin_not_allowed", "pages from \(request.headers[.origin] ?? "") may not open this event channel")
            }
            let stream = try await authorization.visibleStream(try context.parameters.require("name"), request,
                                                               token: AudienceAuthorization.token(request))
            _ = try await authorization.claims(request, stream: stream, token: AudienceAuthorization.token(request))
            throw APIError(.upgradeRequired, "upgrade_required", "the event channel is a WebSocket", headers: [.upgrade: "websocket"])
        }
    }

    /// Bad credentials are refused even on a public stream (a private one was checked by `visibleStream`).
    private func refuseBadCredentials(_ stream: StreamEntry, _ request: Request) async throws {
        _ = try await authorization.claims(request, stream: stream)
    }

    private func integer(_ text: String?, name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else { throw APIError.badRequest("\(name) must be an integer in \(range)") }
        return value
    }

    /// Runs an audience operation, turning its refusals into API errors.
    private func perform<R>(_ operation: () async throws -> R) async throws -> R {
        do {
            return try await operation()
        } catch let error as AudienceError {
            switch error {
            case .invalidText(let detail): throw APIError(.badRequest, "invalid_comment", detail)
            case .unknownReaction(let type):
                throw APIError(.badRequest, "unknown_reaction", "'\(type)' is not a reaction type here (\(audience.reactionTypes.joined(separator: ", ")))")
            case .rateLimited(let retryAfter):
                throw APIError(.tooManyRequests, "rate_limited", "too many requests; retry in \(retryAfter) s",
                               headers: [.retryAfter: "\(retryAfter)"])
            case .banned: throw APIError(.forbidden, "banned", "you are banned from commenting on this stream")
            case .notFound: throw APIError.notFound("no such item")
            }
        }
    }
}

struct CommentResponse: ResponseEncodable {
    var comment: Comment
    func encode(to encoder: any Encoder) throws { try comment.encode(to: encoder) }
}

struct BanResponse: ResponseEncodable {
    var ban: Ban
    func encode(to encoder: any Encoder) throws { try ban.encode(to: encoder) }
}

struct FlashResponse: ResponseEncodable {
    var flash: Flash
    func encode(to encoder: any Encoder) throws { try flash.encode(to: encoder) }
}

/// The last moderation actions on a stream, oldest first.
struct AuditList: ResponseEncodable {
    var entries: [AuditItem]
}

struct AuditItem: ResponseEncodable {
    var action: String
    var actor: String
    var subject: String
    var reason: String
}

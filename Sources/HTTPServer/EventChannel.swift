import Audience
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import MediaRouter
import NIOCore
import Catalog

/// Request context of the WebSocket upgrade router; keeps the channel so a listener that falls too far behind
/// can be cut off even while a write to it is pending.
public struct EventChannelRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}

/// WebSocket `/api/streams/{stream}/events`: server → client JSON events; client → server `{"type":"reaction",
/// "reaction":"heart"}` and `{"type":"ping"}`.
public struct EventChannel: Sendable {
    let audience: AudienceService
    let authorization: AudienceAuthorization
    let router: MediaRouter
    /// Largest message a client may send.
    static let maximumInboundMessage = 4096
    /// Close code when the token a connection was opened with expires (private range, RFC 6455 §7.4.2).
    public static let tokenExpiredCloseCode: UInt16 = 4001
    /// Close codes when a moderator bans the connection's user, and when its token is revoked.
    public static let bannedCloseCode: UInt16 = 4003
    public static let revokedCloseCode: UInt16 = 4004
    /// Pages whose `Origin` may open the channel (`http.allowedOrigins`); empty: any. A request without `Origin` is
    /// not a browser page's and is not judged by it.
    let allowedOrigins: Set<String>

    public init(audience: AudienceService, catalog: StreamCatalog, admin: AdminAuthorization, router: MediaRouter,
                allowedOrigins: [String] = []) {
        self.audience = audience
        self.router = router
        self.allowedOrigins = Set(allowedOrigins)
        self.authorization = AudienceAuthorization(tokens: audience.tokens, admin: admin, catalog: catalog)
    }

    /// Server configuration for the upgrade: small frames, pings every 15 s (a peer that stops answering is closed).
    public static var serverConfiguration: WebSocketServerConfiguration {
        WebSocketServerConfiguration(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: .seconds(15)), closeTimeout: .seconds(5),
                                     validateUTF8: true)
    }

    /// HTTP/1.1 with the upgrade to this channel, for `Application(router:server:)`. `handlers` makes each
    /// connection's handlers that see its requests before the router does (`StreamingRoutes.fastPathHandlers`).
    /// With a `limiter`, every connection is counted and its request heads and bodies are given deadlines from the
    /// moment it is accepted; `idleTimeout` closes a keep-alive connection that sends no request for that long.
    public static func serverBuilder(_ router: Router<EventChannelRequestContext>,
                                     limiter: HTTPConnectionLimiter? = nil, idleTimeout: Duration? = nil,
                                     handlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }) -> HTTPServerBuilder {
        let webSocketResponder = router.buildResponder()
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(additionalChannelHandlers: (limiter.map { [$0.makeRequestWatcher()] } ?? []) + handlers(),
                         idleTimeout: idleTimeout.map { TimeAmount($0) }),
            ws: serverConfiguration)
        return HTTPServerBuilder { responder in
            let channel = HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder,
                                                       configuration: configuration)
            guard let limiter else { return channel }
            return GuardedServerChildChannel(channel, limiter: limiter)
        }
    }

    public func register(on router: Router<EventChannelRequestContext>) {
        router.ws("api/streams/:name/events", shouldUpgrade: { request, context in
            // Refusing here hands the request to the HTTP router, whose GET route answers with the JSON reason.
            guard originAllowed(request), (try? await admit(request, context)) != nil else { return .dontUpgrade }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            guard let (stream, claims) = try? await admit(context.request, context.requestContext) else { return }
            // The admin's stand-in claims name no token: only real tokens can be revoked.
            let connection = audience.join(stream: stream, role: claims?.role, isLive: self.router.status(of: stream) != nil,
                                           subject: claims?.sub.value, tokenID: claims?.jti.value)
            let channel = context.requestContext.channel
            connection.onOverflow { channel.close(promise: nil) }
            defer { audience.leave(connection) }
            // Anonymous reactions are limited per address, not per connection: opening more sockets buys nothing.
            let sender = claims?.sub.value ?? "anonymous@\(channel.remoteAddress?.ipAddress ?? "unknown")"
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let expires = claims?.exp.value {
                    // A connection lives no longer than the token it was opened with.
                    group.addTask {
                        try await Task.sleep(for: .seconds(max(0, expires.timeIntervalSinceNow)))
                        try await outbound.close(.unknown(Self.tokenExpiredCloseCode), reason: "token expired")
                    }
                }
                group.addTask {
                    while let text = await connection.next() {
                        try await outbound.write(.text(text))
                    }
                    switch connection.closeReason {
                    case .banned: try await outbound.close(.unknown(Self.bannedCloseCode), reason: "banned")
                    case .revoked: try await outbound.close(.unknown(Self.revokedCloseCode), reason: "token revoked")
                    case nil: break
                    }
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: Self.maximumInboundMessage) {
                        guard case .text(let text) = message else { continue }
                        if let reply = handle(text, stream: stream, sender: sender) {
                            connection.enqueue(reply, delivery: .skippable)
                        }
                    }
                }
                // Whichever side ends first (the client closed, or its outbox overflowed) ends the connection.
                try await group.next()
                connection.close()
                group.cancelAll()
            }
            if connection.overflowed {
                context.logger.notice("event listener too slow; dropped", metadata: ["stream": "\(stream)"])
            }
        })
    }

    func originAllowed(_ request: Request) -> Bool {
        Self.originAllowed(request, allowedOrigins)
    }

    /// Every `Origin` the request carries must be allowed (a browser sends one; a second must not slip past).
    static func originAllowed(_ request: Request, _ allowedOrigins: Set<String>) -> Bool {
        allowedOrigins.isEmpty || request.headers[values: .origin].allSatisfy(allowedOrigins.contains)
    }

    /// The stream and the caller's claims if the caller may listen: any token of the stream, or none on a public stream.
    private func admit(_ request: Request, _ context: EventChannelRequestContext) async throws -> (String, AudienceClaims?) {
        let token = AudienceAuthorization.token(request)
        let stream = try await authorization.visibleStream(try context.parameters.require("name"), request, token: token)
        let claims = try await authorization.claims(request, stream: stream, token: token)
        return (stream.name, claims)
    }

    /// Handles one client message; returns a reply for the client, if any.
    private func handle(_ text: String, stream: String, sender: String) -> String? {
        guard let message = try? JSONDecoder().decode(EventChannelMessage.self, from: Data(text.utf8)) else {
            return #"{"type":"error","error":"bad_request","detail":"messages are JSON objects with a type"}"#
        }
        switch message.type {
        case "reaction":
            do {
                try audience.react(stream: stream, type: message.reaction ?? "", sender: sender)
            } catch AudienceError.rateLimited(let retryAfter) {
                return #"{"type":"error","error":"rate_limited","retryAfter":\#(retryAfter)}"#
            } catch {
                return #"{"type":"error","error":"unknown_reaction","detail":"allowed: \#(audience.reactionTypes.joined(separator: ","))"}"#
            }
            return nil
        case "ping":
            return #"{"type":"pong"}"#
        default:
            return #"{"type":"error","error":"bad_request","detail":"unknown message type"}"#
        }
    }
}

import Audience
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import MediaRouter
import NIOCore
import Storage

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

    public init(audience: AudienceService, store: StreamStore, admin: AdminAuthorization, router: MediaRouter) {
        self.audience = audience
        self.router = router
        self.authorization = AudienceAuthorization(tokens: audience.tokens, admin: admin, store: store)
    }

    /// Server configuration for the upgrade: small frames, pings every 15 s (a peer that stops answering is closed).
    public static var serverConfiguration: WebSocketServerConfiguration {
        WebSocketServerConfiguration(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: .seconds(15)), closeTimeout: .seconds(5),
                                     validateUTF8: true)
    }

    /// HTTP/1.1 with the upgrade to this channel, for `Application(router:server:)`. `handlers` makes each
    /// connection's handlers that see its requests before the router does (`StreamingRoutes.fastPathHandlers`).
    public static func serverBuilder(_ router: Router<EventChannelRequestContext>,
                                     handlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }) -> HTTPServerBuilder {
        .http1WebSocketUpgrade(webSocketRouter: router,
                               configuration: .init(http1: .init(additionalChannelHandlers: handlers()), ws: serverConfiguration))
    }

    public func register(on router: Router<EventChannelRequestContext>) {
        router.ws("api/streams/:name/events", shouldUpgrade: { request, context in
            // Refusing here hands the request to the HTTP router, whose GET route answers with the JSON reason.
            guard (try? await admit(request, context)) != nil else { return .dontUpgrade }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            guard let (stream, claims) = try? await admit(context.request, context.requestContext) else { return }
            let connection = audience.join(stream: stream, role: claims?.role, isLive: self.router.status(of: stream) != nil)
            let channel = context.requestContext.channel
            connection.onOverflow { channel.close(promise: nil) }
            defer { audience.leave(connection) }
            let sender = claims?.sub.value ?? "anonymous-\(ObjectIdentifier(connection).hashValue)"
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while let text = await connection.next() {
                        try await outbound.write(.text(text))
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

    /// The stream and the caller's claims if the caller may listen: any token of the stream, or none on a public stream.
    private func admit(_ request: Request, _ context: EventChannelRequestContext) async throws -> (String, AudienceClaims?) {
        let stream = try await authorization.stream(try context.parameters.require("name"))
        let claims = try await authorization.claims(request, stream: stream.name, token: AudienceAuthorization.token(request))
        if stream.isPrivate, claims == nil { throw APIError.unauthorized }
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

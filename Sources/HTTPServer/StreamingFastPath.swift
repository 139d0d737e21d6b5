import Foundation
import MediaCore
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Answers, on the connection's event loop, the DASH/HLS requests that need no waiting: complete media objects and
/// plain playlists of open streams (`StreamingRoutes.immediateAnswer`) — nearly every request a player or a CDN in
/// front makes. The rest go on to the router unchanged. Through the router a request hops from the event loop to
/// a task and back (about half the CPU of a small request); here it is answered where it was parsed.
///
/// Responses keep the order of requests: while the router owes a response on this connection, later requests go
/// to the router too. A request with `Connection: close` is left to the router, which closes after answering.
final class StreamingFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let routes: StreamingRoutes
    private let serverName: String
    /// Requests handed to the router whose response has not ended yet.
    private var owedByRouter = 0
    /// The answer to the request being read (its body, if any, is discarded); sent at the request's end.
    private var answer: StreamingAnswer?
    private var dates = HTTPDateCache()

    init(routes: StreamingRoutes, serverName: String) {
        self.routes = routes
        self.serverName = serverName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if owedByRouter == 0, answer == nil, !Self.closes(request),
               let immediate = routes.immediateAnswer(to: request, client: { Self.client(request, context.channel) }) {
                answer = immediate
                return
            }
            owedByRouter += 1
            context.fireChannelRead(data)
        case .body:
            if answer == nil { context.fireChannelRead(data) }
        case .end:
            guard var answer = answer.take() else { return context.fireChannelRead(data) }
            answer.headers[.date] = dates.now()
            answer.headers[.server] = serverName
            context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: answer.headers))), promise: nil)
            for buffer in answer.body { context.write(wrapOutboundOut(.body(buffer)), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), owedByRouter > 0 { owedByRouter -= 1 }
        context.write(data, promise: promise)
    }

    private static func closes(_ request: HTTPRequest) -> Bool {
        request.headerFields[values: .connection].contains { $0.lowercased().contains("close") }
    }

    private static func client(_ request: HTTPRequest, _ channel: any Channel) -> String {
        StreamingRoutes.playerClient(address: channel.remoteAddress?.ipAddress, userAgent: request.headerFields[.userAgent])
    }
}

extension StreamingRoutes {
    /// A connection's handler that answers what needs no waiting before the router sees it (see `StreamingFastPath`).
    public func fastPathHandlers(serverName: String) -> [any RemovableChannelHandler] {
        [StreamingFastPath(routes: self, serverName: serverName)]
    }
}

/// The `Date` header's value (RFC 9110 §5.6.7 IMF-fixdate), made once a second.
struct HTTPDateCache {
    private var second = Int.min
    private var text = ""

    mutating func now() -> String {
        let current = Int(Date().timeIntervalSince1970.rounded(.down))
        if current != second {
            second = current
            text = Self.format(epochSeconds: current)
        }
        return text
    }

    static func format(epochSeconds: Int) -> String {
        WallClockFormat.httpDate(epochSeconds: Int64(epochSeconds))
    }
}

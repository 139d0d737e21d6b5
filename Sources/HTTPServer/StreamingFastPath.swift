import CMAF
import Foundation
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
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secondOfDay = epochSeconds - days * 86_400
        let (year, month, day) = DASHManifest.civilDate(daysSince1970: Int64(days))
        // 1970-01-01 was a Thursday.
        let weekday = ((days % 7) + 7 + 4) % 7
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(names[weekday]), \(two(Int(day))) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}

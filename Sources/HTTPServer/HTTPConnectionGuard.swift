import Hummingbird
import HummingbirdCore
import Logging
import MediaCore
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// Bounds on what HTTP clients can hold before the router sees a request: connections, overall and per address,
/// and how long a request's head and body may take to arrive (slowloris). Idle keep-alive connections are closed
/// by Hummingbird's own idle timeout.
public struct HTTPConnectionLimits: Sendable, Equatable {
    public var maximumConnections: Int
    public var maximumConnectionsPerAddress: Int
    /// From the connection opening, or from the first bytes of a later request, to its complete head.
    public var headerTimeout: Duration
    /// From a request's head to the end of its body.
    public var bodyTimeout: Duration

    public init(maximumConnections: Int = 10_000, maximumConnectionsPerAddress: Int = 128, headerTimeout: Duration = .seconds(10),
                bodyTimeout: Duration = .seconds(30)) {
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerAddress = maximumConnectionsPerAddress
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }
}

/// Counts open HTTP connections, overall and by remote address, across every event loop of the server, and makes
/// each connection's `HTTPConnectionGuard`.
public final class HTTPConnectionLimiter: Sendable {
    /// Why a connection was closed; the raw value is the `liverelay_http_connections_refused_total` reason.
    enum Refusal: String {
        case tooManyConnections = "too_many_connections"
        case tooManyConnectionsFromAddress = "too_many_connections_from_address"
        case headerTimeout = "header_timeout"
        case bodyTimeout = "body_timeout"
    }

    private struct State {
        var open = 0
        var byAddress: [String: Int] = [:]
    }

    public let limits: HTTPConnectionLimits
    private let state = NIOLockedValueBox(State())

    public init(limits: HTTPConnectionLimits) {
        self.limits = limits
    }

    /// Connections open now.
    public var openConnections: Int { state.withLockedValue { $0.open } }

    func admit(address: String) -> Refusal? {
        state.withLockedValue { state in
            guard state.open < limits.maximumConnections else { return .tooManyConnections }
            let fromAddress = state.byAddress[address, default: 0]
            guard fromAddress < limits.maximumConnectionsPerAddress else { return .tooManyConnectionsFromAddress }
            state.open += 1
            state.byAddress[address] = fromAddress + 1
            return nil
        }
    }

    func release(address: String) {
        state.withLockedValue { state in
            state.open -= 1
            state.byAddress.decrementCount(address)
        }
    }

    static func refused(_ reason: Refusal) {
        Counter(label: "liverelay_http_connections_refused_total", dimensions: [("reason", reason.rawValue)]).increment()
    }
}

/// Puts an `HTTPConnectionGuard` in front of every connection of `base`, before its HTTP decoder (and before the
/// WebSocket upgrade handler, which adds the HTTP handlers only once the first request head has arrived).
public struct GuardedServerChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value
    let base: Base
    let limiter: HTTPConnectionLimiter

    public init(_ base: Base, limiter: HTTPConnectionLimiter) {
        self.base = base
        self.limiter = limiter
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionGuard(limiter: limiter))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// One connection's admission and read deadlines, on the raw bytes. The first request head is found by its blank
/// line; after that an `HTTPRequestWatcher` among the HTTP handlers reports heads and ends, and bytes that arrive
/// between requests without making a head start the next head's deadline — which is how a request trickling in
/// (slowloris) is told from an idle keep-alive connection (Hummingbird's idle timeout closes those). A connection
/// upgraded to a WebSocket has no watcher and is left alone after its first head.
final class HTTPConnectionGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        /// Bytes of the first head's terminating CR LF CR LF seen so far.
        case firstHead(matched: Int)
        case betweenRequests
        case readingHead
        case readingBody
    }

    private let limiter: HTTPConnectionLimiter
    private var phase = Phase.firstHead(matched: 0)
    private var started = false
    private var watched = false
    private var sawHead = false
    /// A read is being passed on: the watcher's reports come from inside it.
    private var inRead = false
    private var deadline: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(limiter: HTTPConnectionLimiter) {
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let address = context.channel.remoteAddress?.ipAddress ?? ""
        if let refusal = limiter.admit(address: address) {
            HTTPConnectionLimiter.refused(refusal)
            context.close(promise: nil)
            return
        }
        let limiter = limiter
        context.channel.closeFuture.whenComplete { _ in limiter.release(address: address) }
        arm(limiter.limits.headerTimeout, .headerTimeout)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .firstHead(var matched):
            let crlfcrlf: [UInt8] = [13, 10, 13, 10]
            for byte in unwrapInboundIn(data).readableBytesView {
                if byte == crlfcrlf[matched] {
                    matched += 1
                    if matched == 4 { break }
                } else {
                    matched = byte == 13 ? 1 : 0
                }
            }
            if matched == 4 {
                cancelDeadline()
                phase = .betweenRequests
            } else {
                phase = .firstHead(matched: matched)
            }
            context.fireChannelRead(data)
        case .betweenRequests, .readingHead, .readingBody:
            sawHead = false
            inRead = true
            context.fireChannelRead(data)
            inRead = false
            guard watched else { return }
            switch phase {
            case .betweenRequests where !sawHead:
                phase = .readingHead
                arm(limiter.limits.headerTimeout, .headerTimeout)
            case .readingBody where deadline == nil:
                // The read ended inside a body: from here it has its deadline. (A request whose head and end came in
                // one read, nearly every GET, never schedules a timer.)
                arm(limiter.limits.bodyTimeout, .bodyTimeout)
            case .firstHead, .betweenRequests, .readingHead, .readingBody:
                break
            }
        }
    }

    // MARK: From the watcher

    fileprivate func watcherAttached() {
        watched = true
    }

    fileprivate func headRead() {
        sawHead = true
        phase = .readingBody
        cancelDeadline()
        // Inside a read the body deadline is set when the read ends, if the request is still incomplete; a head
        // replayed by the upgrade handler arrives outside one.
        if !inRead { arm(limiter.limits.bodyTimeout, .bodyTimeout) }
    }

    fileprivate func requestRead() {
        phase = .betweenRequests
        cancelDeadline()
    }

    private func arm(_ timeout: Duration, _ reason: HTTPConnectionLimiter.Refusal) {
        guard let context else { return }
        deadline?.cancel()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [weak self] in
            guard let self, self.deadline != nil, let context = self.context else { return }
            self.deadline = nil
            HTTPConnectionLimiter.refused(reason)
            context.close(promise: nil)
        }
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Among the HTTP handlers of a connection that was not upgraded: tells the connection's guard where requests
/// begin and end.
final class HTTPRequestWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private var connectionGuard: HTTPConnectionGuard?

    func handlerAdded(context: ChannelHandlerContext) {
        connectionGuard = try? context.pipeline.syncOperations.handler(type: HTTPConnectionGuard.self)
        connectionGuard?.watcherAttached()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionGuard = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: connectionGuard?.headRead()
        case .body: break
        case .end: connectionGuard?.requestRead()
        }
        context.fireChannelRead(data)
    }
}

extension HTTPConnectionLimiter {
    /// The handler each non-upgraded connection gets among its HTTP handlers (`additionalChannelHandlers`).
    public func makeRequestWatcher() -> any RemovableChannelHandler {
        HTTPRequestWatcher()
    }
}

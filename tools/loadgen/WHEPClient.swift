import NIOCore
import NIOHTTP1
import NIOPosix

/// What came back for one WHEP request.
struct WHEPResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String
}

/// Why a WHEP request got no HTTP response at all (a status code, even 5xx, is a response).
enum WHEPTransportError: Error, Sendable, CustomStringConvertible {
    case connect(String)
    case timeout
    case closedBeforeResponse
    case responseTooLarge
    case io(String)

    var description: String {
        switch self {
        case .connect(let reason): "connect: \(reason)"
        case .timeout: "no complete response in time"
        case .closedBeforeResponse: "connection closed before the response ended"
        case .responseTooLarge: "response body over the limit"
        case .io(let reason): reason
        }
    }
}

/// The two requests a WHEP viewer makes, POST the offer and DELETE the session, over HTTP/1.1 with one
/// connection per request (`Connection: close`), so a load run measures session setup rather than pooling.
struct WHEPClient: Sendable {
    let group: any EventLoopGroup
    /// Sent as `Authorization: Bearer <token>` when set.
    let token: String?
    var connectTimeout: TimeAmount = .seconds(5)
    var responseTimeout: TimeAmount = .seconds(15)

    /// Answers are a few KiB; anything far larger is not an SDP answer.
    static let maximumBodyLength = 256 * 1024

    func post(offer: String, to endpoint: WHEPEndpoint) async -> Result<WHEPResponse, WHEPTransportError> {
        await send(.POST, to: endpoint, contentType: "application/sdp", body: offer)
    }

    func delete(_ endpoint: WHEPEndpoint) async -> Result<WHEPResponse, WHEPTransportError> {
        await send(.DELETE, to: endpoint, contentType: nil, body: nil)
    }

    private func send(_ method: HTTPMethod, to endpoint: WHEPEndpoint, contentType: String?,
                      body: String?) async -> Result<WHEPResponse, WHEPTransportError> {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.hostHeader)
        headers.add(name: "User-Agent", value: "liverelay-loadgen")
        headers.add(name: "Connection", value: "close")
        if method == .POST { headers.add(name: "Accept", value: "application/sdp") }
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        let bodyBytes = body.map { ByteBuffer(string: $0) }
        headers.add(name: "Content-Length", value: String(bodyBytes?.readableBytes ?? 0))
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: endpoint.target, headers: headers)
        let timeout = responseTimeout

        let response: EventLoopFuture<WHEPResponse>
        do {
            response = try await ClientBootstrap(group: group)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let promise = channel.eventLoop.makePromise(of: WHEPResponse.self)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPExchangeHandler(head: head, body: bodyBytes, timeout: timeout, promise: promise))
                        return promise.futureResult
                    }
                }
        } catch {
            return .failure(.connect(String(describing: error)))
        }
        do {
            return .success(try await response.get())
        } catch {
            return .failure(error as? WHEPTransportError ?? .io(String(describing: error)))
        }
    }
}

/// Writes one request when the connection comes up and collects the one response.
private final class HTTPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let body: ByteBuffer?
    private let timeout: TimeAmount
    private var promise: EventLoopPromise<WHEPResponse>?
    private var status = 0
    private var headers = HTTPHeaders()
    private var received = ByteBuffer()
    private var timer: Scheduled<Void>?

    init(head: HTTPRequestHead, body: ByteBuffer?, timeout: TimeAmount, promise: EventLoopPromise<WHEPResponse>) {
        self.head = head
        self.body = body
        self.timeout = timeout
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            finish(.failure(WHEPTransportError.timeout), context: loopBound.value)
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body, body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            status = Int(response.status.code)
            headers = response.headers
        case .body(var bytes):
            guard received.readableBytes + bytes.readableBytes <= WHEPClient.maximumBodyLength else {
                finish(.failure(WHEPTransportError.responseTooLarge), context: context)
                return
            }
            received.writeBuffer(&bytes)
        case .end:
            let text = received.readString(length: received.readableBytes) ?? ""
            finish(.success(WHEPResponse(status: status, headers: headers, body: text)), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(WHEPTransportError.closedBeforeResponse), context: context)
        context.fireChannelInactive()
    }

    /// A connection that never came up still removes its handlers; the promise must not be left pending.
    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        promise?.fail(WHEPTransportError.closedBeforeResponse)
        promise = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(WHEPTransportError.io(String(describing: error))), context: context)
    }

    private func finish(_ result: Result<WHEPResponse, any Error>, context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let promise else { return }
        self.promise = nil
        promise.completeWith(result)
        context.close(promise: nil)
    }
}

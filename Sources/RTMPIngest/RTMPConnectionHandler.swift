import Logging
import MediaCore
import MediaRouter
import NIOCore
import RTMP

/// Drives one connection's `RTMPServerSession` and carries out its actions: writes, the publish decision,
/// handing media to the router, and closing. Lives on the channel's event loop, so its state needs no locks.
final class RTMPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: RTMPServerSession
    private let router: MediaRouter
    private let authorize: @Sendable (_ app: String, _ key: String) -> String?
    private let handshakeTimeout: Duration
    private let publishTimeout: Duration
    private var logger: Logger
    private var publication: Publication?
    private var handshakeTimer: Scheduled<Void>?
    /// Runs from accept until the first accepted publish.
    private var publishTimer: Scheduled<Void>?
    /// Frame rate from onMetaData, applied when the video configuration arrives (metadata usually comes first).
    private var declaredFrameRate: Double?
    private var closing = false

    init(configuration: RTMPSessionConfiguration, handshakeTimeout: Duration, publishTimeout: Duration, router: MediaRouter,
         authorize: @escaping @Sendable (_ app: String, _ key: String) -> String?, logger: Logger) {
        self.session = RTMPServerSession(configuration: configuration)
        self.handshakeTimeout = handshakeTimeout
        self.publishTimeout = publishTimeout
        self.router = router
        self.authorize = authorize
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        logger[metadataKey: "remote"] = "\(Self.describe(context.channel.remoteAddress))"
        RTMPIngestMetrics.connections.increment()
        let loop = context.eventLoop.assumeIsolated()
        handshakeTimer = loop.scheduleTask(in: TimeAmount(handshakeTimeout)) { [weak self] in
            guard let self, !self.session.isHandshakeComplete else { return }
            self.reject(reason: "handshake_timeout", message: "RTMP handshake not completed in time", context: context)
        }
        // A connection that never publishes is refused at the deadline even if it keeps talking (pings, commands,
        // a slow trickle of chunks), so the idle timeout alone cannot be gamed.
        publishTimer = loop.scheduleTask(in: TimeAmount(publishTimeout)) { [weak self] in
            guard let self, self.publication == nil else { return }
            self.reject(reason: "publish_timeout", message: "RTMP peer did not publish in time", context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        publishTimer?.cancel()
        endPublication()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let actions = session.receive(unwrapInboundIn(data))
        perform(actions, context: context)
        if session.isHandshakeComplete, let timer = handshakeTimer {
            timer.cancel()
            handshakeTimer = nil
        }
        if publication != nil, let timer = publishTimer {
            timer.cancel()
            publishTimer = nil
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // The publisher vanished without closing TCP (network loss, crash): end the stream promptly.
            reject(reason: "idle_timeout", message: "no data from RTMP peer; closing", context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.info("RTMP connection error", metadata: ["error": "\(error)"])
        endPublication()
        context.close(promise: nil)
    }

    // MARK: Actions

    private func perform(_ actions: [RTMPSessionAction], context: ChannelHandlerContext) {
        var wrote = false
        for action in actions {
            switch action {
            case .write(let bytes):
                context.write(wrapOutboundOut(bytes), promise: nil)
                wrote = true
            case .authorize(let application, let key):
                perform(decidePublish(application: application, key: key, context: context), context: context)
            case .media(let output):
                deliver(output)
            case .metadata(let metadata):
                if let fps = metadata.frameRate {
                    declaredFrameRate = fps
                    publication?.setDeclaredFrameRate(fps)
                }
            case .endPublishing:
                logger.info("publisher unpublished")
                endPublication()
            case .close(let reason):
                if wrote { context.flush() }
                close(reason: reason, context: context)
                return
            }
        }
        if wrote { context.flush() }
    }

    private func deliver(_ output: FLVMediaOutput) {
        guard let publication else { return }
        switch output {
        case .frame(let frame):
            publication.push(frame)
        case .videoConfiguration(var config):
            if config.declaredFrameRate == nil { config.declaredFrameRate = declaredFrameRate }
            publication.setVideoConfiguration(config)
        case .audioConfiguration(let config):
            publication.setAudioConfiguration(config)
        }
    }

    private func decidePublish(application: String, key: String, context: ChannelHandlerContext) -> [RTMPSessionAction] {
        guard let stream = authorize(application, key) else {
            return session.rejectPublish(code: RTMPStatusCode.publishBadName, description: "unknown stream key")
        }
        let channel = context.channel
        do {
            publication = try router.beginPublishing(stream: stream, source: "rtmp",
                                                     remoteAddress: Self.describe(channel.remoteAddress),
                                                     onEvict: { channel.close(promise: nil) })
        } catch {
            return session.rejectPublish(code: RTMPStatusCode.publishBadName,
                                         description: "stream \(stream) is already being published")
        }
        logger[metadataKey: "stream"] = "\(stream)"
        RTMPIngestMetrics.publishes.increment()
        return session.acceptPublish()
    }

    private func close(reason: RTMPCloseReason, context: ChannelHandlerContext) {
        reject(reason: reason.metricReason, message: "closing RTMP connection: \(reason)", context: context)
    }

    private func reject(reason: String, message: String, context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        RTMPIngestMetrics.rejected(reason: reason)
        logger.warning("\(message)", metadata: ["reason": "\(reason)"])
        endPublication()
        context.close(promise: nil)
    }

    private func endPublication() {
        publication?.end()
        publication = nil
    }

    private static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "-" }
        if let ip = address.ipAddress, let port = address.port { return "\(ip):\(port)" }
        return "\(address)"
    }
}

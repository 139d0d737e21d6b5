import DTLS
import DatagramIO
import Logging
import SDP
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import NIOPosix
import SRTP
import MediaRouter

/// WebRTC egress: WHEP sessions, one UDP port for every viewer (ICE-lite, DTLS-SRTP, RTP/RTCP), fed by the
/// transcoder's VP8 layers and Opus audio.
///
/// The viewers are spread over shards, one per event loop (`WebRTCSettings.threads`), each with its own socket on
/// the media port (SO_REUSEPORT) and its own `EgressShard`; every shard packetizes and sends each frame for its own
/// viewers. This class is the thread-safe front: the HTTP layer's calls and the transcoder's frames hop onto the
/// shards' loops. Frames waiting for a loop are bounded (`maximumPendingFrames` per shard): a shard that is behind
/// drops new frames (counted) rather than queueing without end, and the other shards are not held up by it.
public final class WebRTCEgress: RenditionObserver, Sendable {
    public let settings: WebRTCSettings
    private let group: MultiThreadedEventLoopGroup
    private let shards: [Shard]
    private let directory: SessionDirectory
    private let nextShard = NIOLockedValueBox(0)
    private let stopped = NIOLockedValueBox(false)
    private let logger: Logger
    private let framesDropped = Counter(label: "liverelay_webrtc_frames_dropped_total")

    /// One event loop's share of the viewers.
    private final class Shard: Sendable {
        let index: Int
        let loop: any EventLoop
        let core: NIOLoopBoundBox<EgressShard>
        /// Frames handed to the loop and not yet run.
        let pendingFrames = NIOLockedValueBox(0)
        let running = NIOLockedValueBox<(channel: (any Channel)?, timer: RepeatedTask?)>((nil, nil))

        init(index: Int, loop: any EventLoop, core: NIOLoopBoundBox<EgressShard>) {
            self.index = index
            self.loop = loop
            self.core = core
        }

        func submit<T: Sendable>(_ body: @escaping @Sendable (EgressShard) -> T) async -> T? {
            let core = self.core
            return try? await loop.submit { body(core.value) }.get()
        }
    }

    /// Datagrams one recvmmsg reads.
    static let datagramsPerRead = 32

    /// `requestKeyframe(stream, rung)` reaches the transcoder (which coalesces repeated requests). `clock` is read
    /// once per event (a datagram, a frame, a timer, an HTTP call) and handed to the shard's core as `now`.
    public init(settings: WebRTCSettings = WebRTCSettings(), logger: Logger = Logger(label: "liverelay.webrtc"),
                clock: @escaping @Sendable () -> NIODeadline = { .now() },
                requestKeyframe: @escaping @Sendable (_ stream: String, _ rung: String) -> Bool) throws {
        self.settings = settings
        self.logger = logger
        SRTPLibrary.initialize()
        let certificate = try DTLSCertificate.generateSelfSigned(commonName: "LiveRelay")
        let count = max(1, settings.threads)
        group = MultiThreadedEventLoopGroup(numberOfThreads: count)
        let directory = SessionDirectory(shards: count)
        self.directory = directory
        var shards: [Shard] = []
        for (index, loop) in group.makeIterator().enumerated() {
            let core = try EgressShard(loop: loop, shard: index, directory: directory, settings: settings,
                                      certificate: certificate, logger: logger, clock: clock, requestKeyframe: requestKeyframe)
            shards.append(Shard(index: index, loop: loop, core: NIOLoopBoundBox.makeBoxSendingValue(core, eventLoop: loop)))
        }
        self.shards = shards
        self.fingerprint = certificate.fingerprintSHA256
        for shard in shards {
            let route: @Sendable (EgressShard.Route) -> Void = { [shards] route in Self.route(route, from: shard.index, shards: shards) }
            try shard.loop.submit { shard.core.value.route = route }.wait()
        }
    }

    /// SHA-256 fingerprint of the DTLS certificate made at start (what answers carry in `a=fingerprint`).
    public let fingerprint: String

    /// Shards in use.
    public var shardCount: Int { shards.count }

    /// Binds the media port (a socket per shard); returns the bound UDP port.
    public func start() async throws -> Int {
        var port = settings.port
        let shared = shards.count > 1
        for shard in shards {
            // The socket is bound here and handed to NIO, which reads it (recvmmsg) and writes STUN, DTLS and RTCP;
            // media goes out through the same descriptor in sendmmsg batches of the core's own.
            let descriptor = try MediaSocket.bind(host: settings.bindHost, port: port, reusePort: shared)
            let core = shard.core
            let channel: any Channel
            do {
                channel = try await DatagramBootstrap(group: shard.loop)
                    .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
                    // A vector read splits one buffer among its datagrams: room for the largest datagram each.
                    .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.datagramsPerRead * 2048))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(MediaSocketHandler(core: core))
                        }
                    }
                    .withBoundSocket(descriptor)
                    .get()
            } catch {
                MediaSocket.close(descriptor)
                throw error
            }
            // The first socket fixes the port (an ephemeral one when 0 was asked for); the others join it.
            port = channel.localAddress?.port ?? port
            let settings = self.settings
            let boundPort = port
            try await shard.loop.submit {
                let core = core.value
                core.channel = channel
                core.batch.descriptor = descriptor
                core.candidates = HostCandidates.addresses(configured: settings.publicAddresses, bindHost: settings.bindHost)
                    .map { ICECandidate(host: $0, port: boundPort) }
            }.get()
            let timer = shard.loop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) { _ in
                core.value.tick(now: core.value.clock())
            }
            shard.running.withLockedValue { $0 = (channel, timer) }
        }
        logger.info("WebRTC media socket ready", metadata: ["udp": "\(settings.bindHost):\(port)", "shards": "\(shards.count)"])
        return port
    }

    /// Ends every session and closes the sockets.
    public func stop() async {
        let alreadyStopped = stopped.withLockedValue { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !alreadyStopped else { return }
        for shard in shards {
            let (channel, timer) = shard.running.withLockedValue { running in
                defer { running = (nil, nil) }
                return running
            }
            timer?.cancel()
            _ = await shard.submit { core in
                core.closeAll(reason: .shutdown)
                core.batch.descriptor = -1  // the channel closes it next
            }
            try? await channel?.close()
        }
        try? await group.shutdownGracefully()
    }

    /// Hands a datagram to the shard owning its session. A session no check has reached yet moves to the shard
    /// the check came in on (later datagrams from that address reach that shard's socket too).
    private static func route(_ route: EgressShard.Route, from here: Int, shards: [Shard]) {
        switch route {
        case .forward(let owner, let datagram):
            let target = shards[owner]
            target.loop.execute { target.core.value.receive(datagram, routed: true, now: target.core.value.clock()) }
        case .adopt(let ufrag, let owner, let datagram):
            let source = shards[owner]
            let destination = shards[here]
            source.loop.execute {
                guard let session = source.core.value.release(ufrag: ufrag) else {
                    // Already talking to its viewer here: this shard answers, through its own socket.
                    source.core.value.receive(datagram, routed: true, now: source.core.value.clock())
                    return
                }
                let moving = Handover(value: session)
                destination.loop.execute {
                    destination.core.value.adopt(moving.value)
                    destination.core.value.receive(datagram, routed: true, now: destination.core.value.clock())
                }
            }
        }
    }

    // MARK: WHEP

    /// The shard a session is created on: the next in turn. (It moves to the shard whose socket its viewer's first
    /// check reaches.)
    private func shardForNewSession() -> Shard {
        shards[nextShard.withLockedValue { next in
            defer { next = (next + 1) % shards.count }
            return next
        }]
    }

    private func shard(of id: String) -> Shard? {
        directory.shard(id: id).map { shards[$0] }
    }

    /// - Parameter client: the address the offer came from, for the per-client limit on sessions not yet connected
    ///   (`WebRTCSettings.maximumPendingPerClient`); nil: not limited.
    public func createSession(stream: String, offer: String, maxLayer: String?, client: String? = nil) async throws(WHEPError)
        -> WHEPSessionCreated {
        let shard = shardForNewSession()
        let result = await shard.submit { core -> Result<WHEPSessionCreated, WHEPError> in
            do throws(WHEPError) {
                return .success(try core.createSession(stream: stream, offerText: offer, maximumLayer: maxLayer, client: client, now: core.clock()))
            } catch {
                return .failure(error)
            }
        }
        guard let result else { throw .notRunning }
        return try result.get()
    }

    public func trickle(id: String, fragment: String, ifMatch: String?) async throws(WHEPError) {
        guard let shard = shard(of: id) else { throw .sessionNotFound }
        let result = await shard.submit { core -> Result<Void, WHEPError> in
            do throws(WHEPError) {
                try core.trickle(id: id, fragment: fragment, ifMatch: ifMatch)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        guard let result else { throw .notRunning }
        try result.get()
    }

    /// Ends a session (WHEP DELETE); false when there is none by that id.
    public func deleteSession(id: String) async -> Bool {
        guard let shard = shard(of: id) else { return false }
        return await shard.submit { $0.closeSession(id: id, reason: .deleted) } ?? false
    }

    /// Ends every viewer session of a stream at once (the stream was deleted: its viewers must not stay to receive
    /// whatever is published later under the name).
    public func closeSessions(stream: String) async {
        for shard in shards { _ = await shard.submit { $0.closeSessions(stream: stream, reason: .streamEnded) } }
    }

    /// Viewers of one stream, or of every stream when nil.
    public func viewerCount(stream: String? = nil) async -> Int {
        var total = 0
        for shard in shards { total += await shard.submit { $0.viewerCount(stream: stream) } ?? 0 }
        return total
    }

    /// The stream's WebRTC viewers by the rung they are sent (moderators' viewer counts).
    public func viewersByLayer(stream: String) async -> [String: Int] {
        var counts: [String: Int] = [:]
        for shard in shards {
            let shardCounts: [String: Int] = await shard.submit { $0.viewersByLayer(stream: stream) } ?? [:]
            counts.merge(shardCounts, uniquingKeysWith: +)
        }
        return counts
    }

    /// What each session is doing, for tests and the operations API.
    public func sessionSummaries() async -> [WebRTCSessionSummary] {
        var summaries: [WebRTCSessionSummary] = []
        for shard in shards { summaries += await shard.submit { $0.summaries() } ?? [] }
        return summaries
    }

    /// Pins a viewer to a rung (the selector leaves it there), or with nil hands it back to the estimate. False when
    /// there is no such session or the stream has no such rung.
    public func pinLayer(id: String, layer: String?) async -> Bool {
        guard let shard = shard(of: id) else { return false }
        return await shard.submit { $0.pinLayer(id: id, rung: layer, now: $0.clock()) } ?? false
    }

    /// Datagrams dropped since start, by reason (`unknown_class`, `malformed_stun`, `bad_integrity`, ...).
    public func droppedDatagrams() async -> [String: Int] {
        var total: [String: Int] = [:]
        for shard in shards {
            let counts = await shard.submit { core in
                Dictionary(uniqueKeysWithValues: core.metrics.droppedCounts.map { ($0.key.rawValue, $0.value) })
            } ?? [:]
            total.merge(counts, uniquingKeysWith: +)
        }
        return total
    }

    // MARK: RenditionObserver

    /// The frame with bytes of its own, for every shard but the first. Each of a shard's viewers takes and drops
    /// references to the frame it is sent; on one shared buffer the shards' threads would do so at the same moment,
    /// and the reference count's cache line would travel between their cores for every viewer and packet. A copy
    /// costs one allocation and a few kilobytes per frame and shard.
    static func ownCopy(_ media: RenditionEvent) -> RenditionEvent {
        switch media {
        case .webRTCVideo(let layer, var frame):
            frame.data = ByteBuffer(copying: frame.data)
            return .webRTCVideo(layer: layer, frame: frame)
        case .webRTCAudio(var frame):
            frame.data = ByteBuffer(copying: frame.data)
            return .webRTCAudio(frame)
        default:
            return media
        }
    }

    /// Every shard gets every frame, for its own viewers; a shard whose loop is `maximumPendingFrames` behind
    /// misses it (counted).
    public func handle(_ media: RenditionEvent, stream: String) {
        let isFrame: Bool
        switch media {
        case .webRTCVideo, .webRTCAudio: isFrame = true
        case .cmafVideo, .cmafAudio, .cmafVideoConfiguration, .cmafAudioConfiguration: return
        case .started, .layout, .ended: isFrame = false
        }
        let limit = settings.maximumPendingFrames
        var dropped = 0
        // Handed over under the lock, so nothing reaches a loop once `stop()` has begun.
        stopped.withLockedValue { stopped in
            guard !stopped else { return }
            for (index, shard) in shards.enumerated() {
                if isFrame {
                    let admitted = shard.pendingFrames.withLockedValue { pending -> Bool in
                        guard pending < limit else { return false }
                        pending += 1
                        return true
                    }
                    guard admitted else {
                        dropped += 1
                        continue
                    }
                }
                let core = shard.core
                let pending = shard.pendingFrames
                let own = index == 0 ? media : Self.ownCopy(media)
                shard.loop.execute {
                    if isFrame { pending.withLockedValue { $0 -= 1 } }
                    core.value.media(own, stream: stream, now: core.value.clock())
                }
            }
        }
        if dropped > 0 { framesDropped.increment(by: dropped) }
    }
}

/// A viewer session as `sessionSummaries()` reports it (and `GET /api/webrtc/sessions`, as JSON).
public struct WebRTCSessionSummary: Sendable, Encodable {
    public var id: String
    public var stream: String
    public var layer: String
    public var state: String
    public var remoteAddress: String?
    public var videoPackets: UInt32
    public var audioPackets: UInt32
    public var videoFrames: UInt32
    public var audioFrames: UInt32
    public var fractionLost: UInt8
    public var rembBitrate: UInt64?
    /// The rung being switched to, if a switch waits for its keyframe.
    public var pendingLayer: String?
    public var pinnedLayer: String?
    /// Bits per second the estimator believes the viewer's path carries, and what it is based on
    /// (`none`, `remb`, `transport_cc`).
    public var estimatedBitrate: Int?
    public var estimateSource: String
    public var probing: Bool
    public var overuseCount: Int
    public var switchesUp: Int
    public var switchesDown: Int
    public var probesSucceeded: Int
    public var probesFailed: Int
    /// Bits per second the viewer is paced at, video frames waiting for the pacer, and frames dropped after
    /// waiting too long.
    public var pacingBitrate: Int
    public var queuedFrames: Int
    public var pacedFramesDropped: Int
    /// The event loop (of `WebRTCSettings.threads`) that serves it.
    public var shard: Int
}

extension EgressShard {
    func summaries() -> [WebRTCSessionSummary] {
        sessions.values.map { session in
            let consumer = session.consumer
            return WebRTCSessionSummary(id: session.id, stream: session.stream, layer: consumer.layer, state: "\(session.phase)",
                                 remoteAddress: session.selectedAddress.map { "\($0)" },
                                 videoPackets: consumer.video?.packets ?? 0, audioPackets: consumer.audio?.packets ?? 0,
                                 videoFrames: consumer.video?.frames ?? 0, audioFrames: consumer.audio?.frames ?? 0,
                                 fractionLost: consumer.fractionLost, rembBitrate: consumer.rembBitrate,
                                 pendingLayer: consumer.pendingLayer, pinnedLayer: consumer.pinnedLayer,
                                 estimatedBitrate: consumer.estimator.estimate, estimateSource: consumer.estimator.source.rawValue,
                                 probing: consumer.probe != nil, overuseCount: consumer.estimator.overuseCount,
                                 switchesUp: consumer.switchesUp, switchesDown: consumer.switchesDown,
                                 probesSucceeded: consumer.probesSucceeded, probesFailed: consumer.probesFailed,
                                 pacingBitrate: consumer.pacing.bitrate, queuedFrames: consumer.video?.queue.waiting.count ?? 0,
                                 pacedFramesDropped: consumer.pacedFramesDropped, shard: shard)
        }
    }
}

/// Hands every datagram of the media socket to the core; flushes replies once per read burst.
final class MediaSocketHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let core: NIOLoopBoundBox<EgressShard>

    init(core: NIOLoopBoundBox<EgressShard>) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.value.receive(unwrapInboundIn(data), now: core.value.clock())
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable from a viewer that left arrives as a read error on UDP: not fatal.
    }
}

extension ByteBuffer {
    /// A buffer holding the readable bytes of `other` in storage of its own.
    init(copying other: ByteBuffer) {
        self = ByteBufferAllocator().buffer(capacity: other.readableBytes)
        writeImmutableBuffer(other)
    }
}

extension WebRTCEgress: Service {
    /// Runs (once `start()` has bound the media port) until the node shuts down, then closes every session.
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}

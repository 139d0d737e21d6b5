import DTLS
import Glibc
import Logging
import SDP
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SRTP
import Transcoder

/// WebRTC egress: WHEP sessions, one UDP socket for every viewer (ICE-lite, DTLS-SRTP, RTP/RTCP), fed by the
/// transcoder's VP8 layers and Opus audio.
///
/// Everything per viewer lives on one event loop (`EgressCore`); this class is the thread-safe front: the HTTP
/// layer's calls and the transcoder's frames hop onto that loop. Frames waiting for the loop are bounded
/// (`maximumPendingFrames`): when the loop is behind, new frames are dropped and counted, never queued without end.
public final class WebRTCEgress: TranscodedMediaObserver, Sendable {
    public let settings: WebRTCSettings
    private let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    private let core: NIOLoopBoundBox<EgressCore>
    /// Frames handed to the loop and not yet run, and whether the loop is going away (then nothing is handed).
    private let intake = NIOLockedValueBox(Intake())
    private let state = NIOLockedValueBox(RunState())
    private let logger: Logger
    private let framesDropped = Counter(label: "liverelay_webrtc_frames_dropped_total")

    private struct Intake {
        var pendingFrames = 0
        var stopped = false
    }

    private struct RunState {
        var channel: (any Channel)?
        var timer: RepeatedTask?
    }

    /// Datagrams one recvmmsg reads.
    static let datagramsPerRead = 32

    /// `requestKeyframe(stream, rung)` reaches the transcoder (which coalesces repeated requests).
    public init(settings: WebRTCSettings = WebRTCSettings(), logger: Logger = Logger(label: "liverelay.webrtc"),
                requestKeyframe: @escaping @Sendable (_ stream: String, _ rung: String) -> Bool) throws {
        self.settings = settings
        self.logger = logger
        SRTPLibrary.initialize()
        let certificate = try DTLSCertificate.generateSelfSigned(commonName: "LiveRelay")
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        let core = try EgressCore(loop: loop, settings: settings, certificate: certificate, logger: logger,
                                  requestKeyframe: requestKeyframe)
        self.core = NIOLoopBoundBox.makeBoxSendingValue(core, eventLoop: loop)
        self.fingerprint = certificate.fingerprintSHA256
    }

    /// SHA-256 fingerprint of the DTLS certificate made at start (what answers carry in `a=fingerprint`).
    public let fingerprint: String

    /// Binds the media socket; returns the bound UDP port.
    public func start() async throws -> Int {
        let core = self.core
        // The socket is bound here and handed to NIO, which reads it (recvmmsg) and writes STUN, DTLS and RTCP;
        // media goes out through the same descriptor in sendmmsg batches of the core's own.
        let descriptor = try Self.bindMediaSocket(host: settings.bindHost, port: settings.port)
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: loop)
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
            close(descriptor)
            throw error
        }
        let port = channel.localAddress?.port ?? settings.port
        let settings = self.settings
        try await loop.submit {
            let core = core.value
            core.channel = channel
            core.batch.descriptor = descriptor
            core.candidates = HostCandidates.addresses(configured: settings.publicAddresses, bindHost: settings.bindHost)
                .map { ICECandidate(host: $0, port: port) }
        }.get()
        let timer = loop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) { _ in
            core.value.tick()
        }
        state.withLockedValue {
            $0.channel = channel
            $0.timer = timer
        }
        logger.info("WebRTC media socket ready", metadata: ["udp": "\(settings.bindHost):\(port)"])
        return port
    }

    /// Ends every session and closes the socket.
    public func stop() async {
        let (channel, timer) = state.withLockedValue { state in
            defer { state.channel = nil; state.timer = nil }
            return (state.channel, state.timer)
        }
        timer?.cancel()
        let alreadyStopped = intake.withLockedValue { state in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !alreadyStopped else { return }
        let core = self.core
        try? await loop.submit {
            core.value.closeAll(reason: .shutdown)
            core.value.batch.descriptor = -1  // the channel closes it next
        }.get()
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    /// A non-blocking UDP socket bound to `host:port`, with 4 MiB buffers each way (a keyframe to a few hundred
    /// viewers is megabytes in a burst).
    static func bindMediaSocket(host: String, port: Int) throws -> CInt {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        func set(_ option: CInt, _ value: CInt) {
            var value = value
            _ = setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<CInt>.size))
        }
        set(SO_REUSEADDR, 1)
        set(SO_RCVBUF, 4 << 20)
        set(SO_SNDBUF, 4 << 20)
        let bound = address.withSockAddr { bind(descriptor, $0, socklen_t($1)) }
        guard bound == 0 else {
            let error = IOError(errnoCode: errno, reason: "bind \(host):\(port)")
            close(descriptor)
            throw error
        }
        return descriptor
    }

    // MARK: WHEP

    public func createSession(stream: String, offer: String, maxLayer: String?) async throws(WHEPError) -> WHEPSessionCreated {
        let core = self.core
        let result: Result<WHEPSessionCreated, WHEPError>
        do {
            result = try await loop.submit { () -> Result<WHEPSessionCreated, WHEPError> in
                do throws(WHEPError) {
                    return .success(try core.value.createSession(stream: stream, offerText: offer, maximumLayer: maxLayer))
                } catch {
                    return .failure(error)
                }
            }.get()
        } catch {
            throw .notRunning
        }
        return try result.get()
    }

    public func trickle(id: String, fragment: String, ifMatch: String?) async throws(WHEPError) {
        let core = self.core
        let result: Result<Void, WHEPError>
        do {
            result = try await loop.submit { () -> Result<Void, WHEPError> in
                do throws(WHEPError) {
                    try core.value.trickle(id: id, fragment: fragment, ifMatch: ifMatch)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }.get()
        } catch {
            throw .notRunning
        }
        try result.get()
    }

    /// Ends a session (WHEP DELETE); false when there is none by that id.
    public func deleteSession(id: String) async -> Bool {
        let core = self.core
        return (try? await loop.submit { core.value.closeSession(id: id, reason: .deleted) }.get()) ?? false
    }

    /// Viewers of one stream, or of every stream when nil.
    public func viewerCount(stream: String? = nil) async -> Int {
        let core = self.core
        return (try? await loop.submit { core.value.viewerCount(stream: stream) }.get()) ?? 0
    }

    /// What each session is doing, for tests and the operations API.
    public func sessionSummaries() async -> [WebRTCSessionSummary] {
        let core = self.core
        return (try? await loop.submit { core.value.summaries() }.get()) ?? []
    }

    /// Pins a viewer to a rung (the selector leaves it there), or with nil hands it back to the estimate. False when
    /// there is no such session or the stream has no such rung.
    public func pinLayer(id: String, layer: String?) async -> Bool {
        let core = self.core
        return (try? await loop.submit { core.value.pinLayer(id: id, rung: layer) }.get()) ?? false
    }

    /// Datagrams dropped since start, by reason (`unknown_class`, `malformed_stun`, `bad_integrity`, ...).
    public func droppedDatagrams() async -> [String: Int] {
        let core = self.core
        return (try? await loop.submit {
            Dictionary(uniqueKeysWithValues: core.value.metrics.droppedCounts.map { ($0.key.rawValue, $0.value) })
        }.get()) ?? [:]
    }

    // MARK: TranscodedMediaObserver

    public func handle(_ media: TranscodedMedia, stream: String) {
        let isFrame: Bool
        switch media {
        case .webRTCVideo, .webRTCAudio: isFrame = true
        case .cmafVideo, .cmafAudio, .cmafVideoConfiguration, .cmafAudioConfiguration: return
        case .started, .layout, .ended: isFrame = false
        }
        let core = self.core
        let intake = self.intake
        let limit = settings.maximumPendingFrames
        // Handed over under the lock, so nothing reaches the loop once `stop()` has begun.
        let admitted = intake.withLockedValue { state -> Bool in
            guard !state.stopped else { return true }
            if isFrame {
                guard state.pendingFrames < limit else { return false }
                state.pendingFrames += 1
            }
            loop.execute {
                if isFrame { intake.withLockedValue { $0.pendingFrames -= 1 } }
                core.value.media(media, stream: stream)
            }
            return true
        }
        if !admitted { framesDropped.increment() }
    }
}

/// A viewer session as `sessionSummaries()` reports it.
public struct WebRTCSessionSummary: Sendable {
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
}

extension EgressCore {
    func summaries() -> [WebRTCSessionSummary] {
        sessions.values.map { session in
            WebRTCSessionSummary(id: session.id, stream: session.stream, layer: session.layer, state: "\(session.phase)",
                                 remoteAddress: session.selectedAddress.map { "\($0)" },
                                 videoPackets: session.video?.packets ?? 0, audioPackets: session.audio?.packets ?? 0,
                                 videoFrames: session.video?.frames ?? 0, audioFrames: session.audio?.frames ?? 0,
                                 fractionLost: session.fractionLost, rembBitrate: session.rembBitrate,
                                 pendingLayer: session.pendingLayer, pinnedLayer: session.pinnedLayer,
                                 estimatedBitrate: session.estimator.estimate, estimateSource: session.estimator.source.rawValue,
                                 probing: session.probe != nil, overuseCount: session.estimator.overuseCount,
                                 switchesUp: session.switchesUp, switchesDown: session.switchesDown,
                                 probesSucceeded: session.probesSucceeded, probesFailed: session.probesFailed)
        }
    }
}

/// Hands every datagram of the media socket to the core; flushes replies once per read burst.
final class MediaSocketHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let core: NIOLoopBoundBox<EgressCore>

    init(core: NIOLoopBoundBox<EgressCore>) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.value.receive(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable from a viewer that left arrives as a read error on UDP: not fatal.
    }
}

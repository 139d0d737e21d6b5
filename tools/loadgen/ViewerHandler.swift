import DTLS
import NIOCore
import RTP
import SRTP
import STUN

/// What every viewer of a run shares: how to receive and what to send back, and the DTLS contexts (one
/// certificate for all viewers; it is a load tool, and generating a key per viewer would dominate the ramp).
struct ViewerConfiguration: Sendable {
    var mode: ReceiveMode
    var feedback: FeedbackMode
    /// A fixed REMB figure instead of the measured one.
    var fixedREMB: UInt64?
    /// Runs of datagrams arrive coalesced (UDP_GRO), with their segment size; the handler cuts them apart.
    var receiveOffload: Bool
    var dtlsClient: DTLSContext
    var dtlsServer: DTLSContext
}

/// What a viewer learned from its WHEP exchange, handed to its handler to start ICE.
struct ViewerSession: Sendable {
    var answer: WHEPAnswerSummary
    var remote: SocketAddress
    var credentials: ViewerCredentials
    /// When the WHEP POST was sent; join times count from here.
    var postedAt: NIODeadline
    /// When the answer arrived.
    var answeredAt: NIODeadline
}

/// One WHEP viewer on its own UDP socket: ICE as the controlling agent, the DTLS handshake, SRTP, counters,
/// receiver reports and congestion feedback. Every field lives on the channel's event loop; the outside world
/// reaches it through `NIOLoopBound` and gets `ViewerSnapshot` copies back.
///
/// Datagrams are demultiplexed by their first byte (RFC 7983): 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP.
/// A bad datagram is counted and dropped; nothing a server sends ends the process.
final class ViewerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private enum Phase {
        case idle
        case checking
        case handshaking(deadline: NIODeadline)
        case connected
        case finished
    }

    static let tick: TimeAmount = .milliseconds(100)
    static let dtlsTimeout: TimeAmount = .seconds(10)
    /// Ticks between receiver reports (1 s) and between REMBs (500 ms); transport-cc goes every tick.
    static let receiverReportTicks = 10
    static let rembTicks = 5
    /// What a receiver-side estimator whose path is not congested reports: comfortably above what arrives.
    static let rembHeadroom = 1.5
    static let rembFloor = 10_000.0

    private let configuration: ViewerConfiguration
    private var connectPromise: EventLoopPromise<ViewerConnectOutcome>?
    private var context: ChannelHandlerContext?
    private var session: ViewerSession?
    private var phase = Phase.idle
    private var ice: ICEConnectivityCheck?
    private var dtls: DTLSConnection?
    private var inbound: SRTPSession?
    private var outbound: SRTPSession?
    private var tickTask: Scheduled<Void>?
    private var dtlsTimer: Scheduled<Void>?
    private var ticks = 0
    /// The viewer's own clock for transport-cc arrival times.
    private let origin = NIODeadline.now()

    private var snapshot = ViewerSnapshot()
    private var firstMediaAt: NIODeadline?
    private var meter = ReceiveRateMeter()
    private var videoSSRC: UInt32?
    private var video = SequenceStatistics()
    /// Loss counted on video SSRCs the server stopped using (a server that switches layers by SSRC).
    private var retiredExpected: Int64 = 0
    private var retiredLost: Int64 = 0
    private var transportFeedback = TransportFeedbackRecorder()

    init(configuration: ViewerConfiguration, connectPromise: EventLoopPromise<ViewerConnectOutcome>) {
        self.configuration = configuration
        self.connectPromise = connectPromise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimers()
        finishConnecting(.failed(.socket, detail: "socket closed before the viewer connected"))
        phase = .finished
        self.context = nil
    }

    /// Starts the nominating check against the chosen candidate.
    func start(_ session: ViewerSession) {
        guard case .idle = phase else { return }
        self.session = session
        videoSSRC = session.answer.videoSSRC
        snapshot.answerMilliseconds = Self.milliseconds(from: session.postedAt, to: session.answeredAt)
        var check = ICEConnectivityCheck(username: "\(session.answer.iceUfrag):\(session.credentials.ufrag)",
                                         password: session.answer.icePassword, tieBreaker: session.credentials.tieBreaker)
        send(check.start(now: .now()))
        ice = check
        phase = .checking
        scheduleTick()
    }

    func currentSnapshot() -> ViewerSnapshot {
        var copy = snapshot
        copy.currentBitsPerSecond = meter.bitsPerSecond
        copy.videoExpected = retiredExpected + video.expected
        copy.videoLost = retiredLost + video.lost
        if let firstMediaAt { copy.receivingSeconds = Double((NIODeadline.now() - firstMediaAt).nanoseconds) / 1e9 }
        copy.feedbackRecordsDropped = transportFeedback.overflowed
        return copy
    }

    /// Stops sending (checks, reports, feedback) before the WHEP DELETE, so nothing reaches the server for a
    /// session it is tearing down.
    func quiesce() {
        stopTimers()
        if case .connected = phase { phase = .finished }
    }

    /// Ends the session from our side: close_notify to the server, timers stopped. The channel is closed by the owner.
    func leave() {
        stopTimers()
        if let dtls {
            dtls.close()
            for datagram in dtls.takeOutgoing() { send(datagram) }
        }
        finishConnecting(.failed(.dtlsTimeout, detail: "left before the handshake completed"))
        phase = .finished
    }

    // MARK: - Receiving

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let segmentSize = envelope.metadata?.segmentSize, segmentSize > 0,
              envelope.data.readableBytes > segmentSize else {
            receive(envelope.data, from: envelope.remoteAddress)
            return
        }
        // A coalesced run (UDP_GRO): every datagram but the last is `segmentSize` bytes.
        var run = envelope.data
        while run.readableBytes > 0, let datagram = run.readSlice(length: min(segmentSize, run.readableBytes)) {
            receive(datagram, from: envelope.remoteAddress)
        }
    }

    private func receive(_ datagram: ByteBuffer, from sender: SocketAddress) {
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) else { return }
        switch first {
        case 0...3: receiveSTUN(datagram, from: sender)
        case 20...63: receiveDTLS(datagram)
        case 128...191: receiveMedia(datagram)
        default: snapshot.otherPackets += 1
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like surface here on UDP; a viewer keeps going (or times out).
    }

    private func receiveSTUN(_ datagram: ByteBuffer, from sender: SocketAddress) {
        guard let message = try? STUNMessage(parsing: datagram), let session else { return }
        if message.messageClass == .request, message.method == .binding {
            // A full ICE agent checks our side too; answer with our credentials.
            guard message.verifyMessageIntegrity(password: session.credentials.password) else { return }
            send(STUNMessage.bindingSuccessResponse(transactionID: message.transactionID, mappedAddress: sender,
                                                    password: session.credentials.password))
            return
        }
        guard let action = ice?.receive(message, now: .now()) else { return }
        perform(action)
    }

    private func receiveDTLS(_ datagram: ByteBuffer) {
        guard let dtls else { return }
        dtls.receive(datagram)
        drive(dtls.handshake())
    }

    private func receiveMedia(_ datagram: ByteBuffer) {
        guard let inbound, !(dtls?.isClosed ?? true) else { return }
        let now = NIODeadline.now()
        if firstMediaAt == nil { firstMediaAt = now }
        snapshot.datagrams += 1
        snapshot.bytes += datagram.readableBytes
        meter.add(datagram.readableBytes)
        guard let second = datagram.getInteger(at: datagram.readerIndex + 1, as: UInt8.self),
              !RTPDemux.isRTCP(packetType: second) else {
            snapshot.rtcpPackets += 1
            return
        }
        var packet = datagram
        if configuration.mode == .decrypt {
            do {
                try inbound.unprotect(&packet)
            } catch {
                snapshot.srtpFailures += 1
                return
            }
        }
        guard let header = RTPHeaderFields(packet), let session else {
            snapshot.otherPackets += 1
            return
        }
        let answer = session.answer
        if configuration.feedback == .transportCC, let id = answer.transportCCExtensionID,
           let sequence = header.extensionUInt16(id: id, in: packet) {
            transportFeedback.record(sequenceNumber: sequence, arrivalMicroseconds: (now - origin).nanoseconds / 1000)
        }
        switch header.payloadType {
        case answer.videoPayloadType:
            receiveVideo(header, packet, now: now)
        case answer.rtxPayloadType:
            snapshot.rtxPackets += 1
        case answer.audioPayloadType:
            snapshot.audioPackets += 1
        default:
            snapshot.otherPackets += 1
        }
    }

    private func receiveVideo(_ header: RTPHeaderFields, _ packet: ByteBuffer, now: NIODeadline) {
        snapshot.videoPackets += 1
        if snapshot.joinMilliseconds == nil, let session {
            snapshot.joinMilliseconds = Self.milliseconds(from: session.postedAt, to: now)
        }
        if videoSSRC != header.ssrc {
            if video.hasPackets {
                retiredExpected += video.expected
                retiredLost += video.lost
                video = SequenceStatistics()
            }
            videoSSRC = header.ssrc
        }
        video.record(header.sequenceNumber)
        guard configuration.mode == .decrypt, let payload = header.payload(of: packet),
              let descriptor = try? VP8PayloadDescriptor.parse(payload), descriptor.isStartOfFrame,
              let frame = payload.getSlice(at: payload.readerIndex + descriptor.length,
                                           length: payload.readableBytes - descriptor.length),
              let keyframe = VP8KeyframeHeader(frameStart: frame)
        else { return }
        snapshot.keyframes += 1
        snapshot.resolution = keyframe
    }

    // MARK: - ICE and DTLS

    private func perform(_ action: ICEConnectivityCheck.Action) {
        switch action {
        case .send(let bytes):
            send(bytes)
        case .connected:
            if let session { snapshot.iceMilliseconds = Self.milliseconds(from: session.postedAt, to: .now()) }
            startDTLS()
        case .timedOut:
            fail(.iceTimeout, "no binding success response in 5 s")
        case .rejected(let reason):
            fail(.iceRejected, "binding error response: \(reason)")
        case .consentExpired:
            snapshot.consentExpired = true
        }
    }

    private func startDTLS() {
        guard case .checking = phase, let session else { return }
        // "a=setup:active" makes the server the DTLS client; LiveRelay answers passive.
        let context = session.answer.setup == "active" ? configuration.dtlsServer : configuration.dtlsClient
        let connection: DTLSConnection
        do {
            connection = try DTLSConnection(context: context, expectedPeerFingerprint: session.answer.fingerprint)
        } catch {
            fail(.dtlsFailure, "DTLS connection: \(error)")
            return
        }
        dtls = connection
        phase = .handshaking(deadline: .now() + Self.dtlsTimeout)
        drive(connection.handshake())
    }

    private func drive(_ result: DTLSHandshakeResult) {
        guard let dtls else { return }
        for datagram in dtls.takeOutgoing() { send(datagram) }
        switch (result, phase) {
        case (.incomplete, .handshaking):
            armDTLSTimer()
        case (.complete(let keys), .handshaking):
            dtlsTimer?.cancel()
            establish(keys)
        case (.failed(let error), .handshaking):
            fail(.dtlsFailure, "\(error)")
        case (.failed, .connected):
            snapshot.closedByServer = true
        default:
            break
        }
    }

    private func armDTLSTimer() {
        dtlsTimer?.cancel()
        guard let wait = dtls?.nextTimeout(), let loop = context?.eventLoop else { return }
        let nanoseconds = max(wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000, 1_000_000)
        dtlsTimer = loop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in
            guard let dtls else { return }
            drive(dtls.handleTimeout())
        }
    }

    private func establish(_ keys: SRTPKeyingMaterial) {
        let profile: SRTPProfile = keys.profile == .aeadAES128GCM ? .aeadAES128GCM : .aes128CMHMACSHA1_80
        do {
            inbound = try SRTPSession(profile: profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
            outbound = try SRTPSession(profile: profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
        } catch {
            fail(.dtlsFailure, "SRTP session: \(error)")
            return
        }
        phase = .connected
        snapshot.connected = true
        if let session { snapshot.connectMilliseconds = Self.milliseconds(from: session.postedAt, to: .now()) }
        finishConnecting(.connected)
    }

    private func fail(_ failure: ViewerFailure, _ detail: String) {
        stopTimers()
        phase = .finished
        finishConnecting(.failed(failure, detail: detail))
    }

    private func finishConnecting(_ outcome: ViewerConnectOutcome) {
        guard let promise = connectPromise else { return }
        connectPromise = nil
        promise.succeed(outcome)
    }

    // MARK: - Timers and feedback

    private func scheduleTick() {
        guard let loop = context?.eventLoop else { return }
        tickTask = loop.assumeIsolated().scheduleTask(in: Self.tick) { [self] in
            onTick()
        }
    }

    private func stopTimers() {
        tickTask?.cancel()
        tickTask = nil
        dtlsTimer?.cancel()
        dtlsTimer = nil
    }

    private func onTick() {
        let now = NIODeadline.now()
        if let action = ice?.poll(now: now) { perform(action) }
        switch phase {
        case .handshaking(let deadline) where now >= deadline:
            fail(.dtlsTimeout, "DTLS handshake not complete in \(Self.dtlsTimeout.nanoseconds / 1_000_000_000) s")
        case .connected:
            ticks += 1
            meter.advance()
            sendFeedback()
        default:
            break
        }
        if case .finished = phase { return }
        scheduleTick()
    }

    /// One compound RTCP packet per tick when something is due: RR first (RFC 3550 §6.1), then REMB or
    /// transport-cc feedback.
    private func sendFeedback() {
        guard let outbound, let context, let session, let mediaSSRC = videoSSRC else { return }
        let sender = session.credentials.rtcpSSRC
        var compound = context.channel.allocator.buffer(capacity: 256)
        let reportDue = ticks % Self.receiverReportTicks == 0
        var due = reportDue
        RTCPWriter.writeReceiverReport(ssrc: sender, reports: reportDue && video.hasPackets ? [video.reportBlock(ssrc: mediaSSRC)] : [],
                                       into: &compound)
        switch configuration.feedback {
        case .remb where ticks % Self.rembTicks == 0:
            let bitrate: UInt64
            if let fixed = configuration.fixedREMB {
                bitrate = fixed
            } else {
                // Until a full second was measured the figure would understate the stream and pull the layer down.
                guard meter.coversFullSecond else { break }
                bitrate = UInt64(Double(meter.bitsPerSecond) * Self.rembHeadroom + Self.rembFloor)
            }
            RTCPWriter.writeREMB(senderSSRC: sender, bitrate: bitrate, ssrcs: [mediaSSRC], into: &compound)
            due = true
        case .transportCC:
            if let feedback = transportFeedback.makeFeedback(senderSSRC: sender, mediaSSRC: mediaSSRC) {
                RTCPWriter.writeTransportFeedback(feedback, into: &compound)
                due = true
            }
        default:
            break
        }
        guard due else { return }
        do {
            try outbound.protectRTCP(&compound)
        } catch {
            return
        }
        snapshot.feedbackSent += 1
        send(compound)
    }

    private static func milliseconds(from start: NIODeadline, to end: NIODeadline) -> Double {
        Double((end - start).nanoseconds) / 1e6
    }

    // MARK: - Sending

    private func send(_ bytes: [UInt8]) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        send(buffer)
    }

    private func send(_ buffer: ByteBuffer) {
        guard let context, let remote = session?.remote else { return }
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: buffer)), promise: nil)
    }
}

import DatagramIO
import DTLS
import Logging
import MediaCore
import Metrics
import NIOCore
import RTP
import SDP
import Adaptation
import SRTP
import STUN
import MediaRouter

/// Everything of one WebRTC egress shard that lives on its event loop: its viewer sessions and their indexes, each
/// stream's layers and clock, and its socket on the media port. Nothing here locks but the shared
/// `SessionDirectory`, touched per session event; `WebRTCEgress` hops onto the loop.
final class EgressCore {
    /// A datagram this shard cannot place itself, for the front to hand to the shard that owns its session.
    enum Route: Sendable {
        /// The first check of a session created on `owner`: the session should come here, with the datagram.
        case adopt(ufrag: String, owner: Int, datagram: AddressedEnvelope<ByteBuffer>)
        case forward(owner: Int, datagram: AddressedEnvelope<ByteBuffer>)
    }

    let loop: any EventLoop
    let shard: Int
    let directory: SessionDirectory
    var route: @Sendable (Route) -> Void = { _ in }
    let settings: WebRTCSettings
    let certificate: DTLSCertificate
    /// One OpenSSL context for every viewer's DTLS connection.
    let dtlsContext: DTLSContext
    var metrics = WebRTCMetrics()
    let logger: Logger
    let requestKeyframe: @Sendable (_ stream: String, _ rung: String) -> Bool

    var channel: (any Channel)?
    /// The server end of a DTLS handshake not yet bound to a viewer: first DTLS datagrams pass its cookie check.
    private var cookieGate: DTLSConnection?
    var candidates: [ICECandidate] = []

    private(set) var sessions: [String: ViewerSession] = [:]
    private var byUfrag: [String: ViewerSession] = [:]
    private var byAddress: [SocketAddress: ViewerSession] = [:]
    /// Each stream's viewers, for the fan-out: one lookup a frame instead of a scan of every session.
    private var viewersByStream: [String: [ViewerSession]] = [:]
    var streams: [String: StreamMedia] = [:]
    /// Reused for every RTP packet the packetizers write; each packet sent is copied out of it once.
    var scratch: ByteBuffer
    /// Media datagrams on their way out, protected in place (one sendmmsg per batch).
    let batch: DatagramBatch
    var sentTally = SentPacketTally()
    /// Viewers with video waiting for their pacer, drained every `drainInterval` while any wait.
    private var backlog: [ViewerSession] = []
    private var drainScheduled = false
    /// The time source of the loop's own timers (the pacing drain). Every other entry point is given `now` by its
    /// caller; nothing here reads the system clock, so tests can run the core on a manual clock.
    let clock: @Sendable () -> NIODeadline
    static let drainInterval = TimeAmount.milliseconds(5)
    private var lastSendFailureLog: NIODeadline?
    private var lastLayerCount = NIODeadline.uptimeNanoseconds(0)

    struct StreamMedia {
        var live = false
        var layers: [RenditionLayout.Layer] = []
        var clock = MediaClock()
        var endedAt: NIODeadline?
        /// Payload bits per second of each rung (by rung name) and of the audio, over the last 2 s.
        var layerRates: [String: RateMeter] = [:]
        var audioRate = RateMeter(windowMicroseconds: 2_000_000, bucketCount: 10)
    }

    init(loop: any EventLoop, shard: Int = 0, directory: SessionDirectory = SessionDirectory(shards: 1),
         settings: WebRTCSettings, certificate: DTLSCertificate, logger: Logger,
         clock: @escaping @Sendable () -> NIODeadline = { .now() },
         requestKeyframe: @escaping @Sendable (String, String) -> Bool) throws {
        self.loop = loop
        self.clock = clock
        self.shard = shard
        self.directory = directory
        self.settings = settings
        self.certificate = certificate
        self.dtlsContext = try DTLSContext(role: .server, certificate: certificate)
        self.logger = logger
        self.requestKeyframe = requestKeyframe
        self.scratch = ByteBufferAllocator().buffer(capacity: settings.maximumPacketSize + 64)
        // libsrtp2's trailer bound (tag and MKI) is what a slot leaves room for, whichever engine protects.
        self.batch = DatagramBatch(slotSize: settings.maximumPacketSize + 64 + SRTPSession.maximumTrailerLength)
    }

    // MARK: Sessions

    func viewerCount(stream: String?) -> Int {
        guard let stream else { return sessions.count }
        return viewersByStream[stream]?.count ?? 0
    }

    /// The stream's viewers by the rung they are sent.
    func viewersByLayer(stream: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for session in viewersByStream[stream] ?? [] { counts[session.layer, default: 0] += 1 }
        return counts
    }

    func createSession(stream: String, offerText: String, maximumLayer: String?, client: String? = nil,
                       now: NIODeadline) throws(WHEPError) -> WHEPSessionCreated {
        guard channel != nil else { throw .notRunning }
        // The cheap checks first: a flood is refused before any offer is parsed.
        guard directory.sessionCount < settings.maximumViewers else {
            metrics.refused("capacity")
            throw .capacity
        }
        if let client, !directory.admitPending(client: client, limit: settings.maximumPendingPerClient) {
            metrics.refused("pending_per_client")
            throw .tooManyRequests("\(settings.maximumPendingPerClient) sessions from this address have not connected yet")
        }
        var admitted = client != nil
        defer { if admitted, let client { directory.pendingEnded(client: client) } }
        let offer: WHEPOffer
        do {
            offer = try WHEPOffer.parse(offerText)
        } catch {
            throw refusal(error)
        }
        let id = Self.randomToken(length: 32, alphabet: Self.hexAlphabet)
        var ufrag = Self.randomToken(length: 8, alphabet: Self.iceAlphabet)
        while !directory.claim(id: id, ufrag: ufrag, shard: shard) { ufrag = Self.randomToken(length: 8, alphabet: Self.iceAlphabet) }
        var created = false
        defer { if !created { directory.remove(id: id, ufrag: ufrag, addresses: []) } }
        let password = Self.randomToken(length: 24, alphabet: Self.iceAlphabet)
        let videoSSRC = UInt32.random(in: 1...UInt32.max)
        let parameters = AnswerParameters(
            iceUfrag: ufrag, icePwd: password, fingerprintSHA256: certificate.fingerprintSHA256,
            candidates: candidates, videoSSRC: videoSSRC, videoRTXSSRC: videoSSRC &+ 1,
            audioSSRC: UInt32.random(in: 1...UInt32.max), cname: "liverelay-\(id.prefix(8))",
            streamID: "liverelay", sessionID: UInt64.random(in: 1...UInt64(Int64.max)))
        let answer: (sdp: String, session: NegotiatedSession)
        do {
            answer = try WHEPAnswer.make(offer: offer, parameters: parameters)
        } catch {
            throw refusal(error)
        }
        // Whether the offer can be answered is decided first: a client learns that its offer is wrong (400/406)
        // whether or not the stream is live.
        guard let media = streams[stream], media.live, !media.layers.isEmpty else {
            throw .streamOffline("stream '\(stream)' is not live (no WebRTC layers yet); retry when it is")
        }
        let layer = try Self.chooseLayer(media.layers, maximum: maximumLayer)
        let negotiated = answer.session
        let video = negotiated.video.map { video in
            VideoSender(ssrc: parameters.videoSSRC, payloadType: video.payloadType,
                        packetizer: Self.videoPacketizer(video, ssrc: parameters.videoSSRC, maximumPacketSize: settings.maximumPacketSize),
                        timestampOffset: UInt32.random(in: 0...UInt32.max),
                        rtx: video.rtxPayloadType.map {
                            RTPHeaderTemplate(payloadType: $0, ssrc: parameters.videoRTXSSRC, extensions: Self.extensionLayout(video))
                        })
        }
        let audio = negotiated.audio.map { audio in
            AudioSender(ssrc: parameters.audioSSRC, payloadType: audio.payloadType,
                        packetizer: Self.audioPacketizer(audio, ssrc: parameters.audioSSRC),
                        timestampOffset: UInt32.random(in: 0...UInt32.max))
        }
        let initialBitrate = Self.layerCosts(&streams[stream]!, now: Self.microseconds(now))
            .first { $0.rung == layer }?.bitrate ?? 1_000_000
        let pacing = PacingBudget(bitrate: pacingBitrate(estimate: nil, cost: initialBitrate),
                                  burstMicroseconds: Self.microseconds(settings.pacingBurst),
                                  minimumCapacity: 2 * settings.maximumPacketSize, now: Self.microseconds(now))
        let session = ViewerSession(id: id, stream: stream, localUfrag: ufrag, localPassword: password, offer: offer,
                                    negotiated: negotiated, cname: parameters.cname, layer: layer, maximumLayer: maximumLayer,
                                    video: video, audio: audio, initialBitrate: initialBitrate, pacing: pacing, now: now)
        created = true
        session.pendingClient = client
        admitted = false  // the session holds the count now, until it connects or ends
        insert(session)
        metrics.sessionsCreated.increment()
        logger.info("viewer joined", metadata: ["session": "\(id.prefix(8))", "stream": "\(stream)", "layer": "\(layer)"])
        return WHEPSessionCreated(id: id, answer: answer.sdp, etag: session.etag, layer: layer)
    }

    /// A trickled fragment: new candidates are welcome (an ICE-lite server learns addresses from checks anyway);
    /// new credentials mean an ICE restart, which this server refuses.
    func trickle(id: String, fragment: String, ifMatch: String?) throws(WHEPError) {
        guard let session = sessions[id] else { throw .sessionNotFound }
        let parsed: TrickleFragment
        do {
            parsed = try WHEPOffer.candidates(fromTrickleFragment: fragment)
        } catch {
            throw .badOffer(error.reason)
        }
        if let ufrag = parsed.iceUfrag, ufrag != session.remoteUfrag { throw .iceRestartUnsupported }
        if let ifMatch, ifMatch != "*", ifMatch != session.etag { throw .etagMismatch }
    }

    private func refusal(_ error: SDPError) -> WHEPError {
        switch error {
        case .unsupported(let reason):
            metrics.refused("unsupported_offer")
            return .unsupportedOffer(reason)
        case .malformed(let reason):
            metrics.refused("bad_offer")
            return .badOffer(reason)
        }
    }

    private func insert(_ session: ViewerSession) {
        sessions[session.id] = session
        viewersByStream[session.stream, default: []].append(session)
        byUfrag[session.localUfrag] = session
        metrics.viewers.record(directory.setViewers(sessions.count, shard: shard))
    }

    /// Takes a session out of this shard's indexes (closing, or moving to another shard).
    private func detach(_ session: ViewerSession) {
        sessions.removeValue(forKey: session.id)
        viewersByStream[session.stream]?.removeAll { $0 === session }
        if viewersByStream[session.stream]?.isEmpty ?? false { viewersByStream.removeValue(forKey: session.stream) }
        byUfrag.removeValue(forKey: session.localUfrag)
        for address in session.claimedAddresses where byAddress[address] === session {
            byAddress.removeValue(forKey: address)
        }
    }

    /// The session no longer counts against its client's not-yet-connected limit.
    private func settlePending(_ session: ViewerSession) {
        guard let client = session.pendingClient else { return }
        session.pendingClient = nil
        directory.pendingEnded(client: client)
    }

    /// A session that no connectivity check has reached yet, given up to the shard that the first one reached.
    func release(ufrag: String) -> ViewerSession? {
        guard let session = byUfrag[ufrag], session.phase == .waitingForICE, session.claimedAddresses.isEmpty else { return nil }
        detach(session)
        metrics.viewers.record(directory.setViewers(sessions.count, shard: shard))
        return session
    }

    /// A session released by another shard; from now on it lives here.
    func adopt(_ session: ViewerSession) {
        insert(session)
        directory.move(id: session.id, ufrag: session.localUfrag, to: shard)
    }

    func closeSession(id: String, reason: SessionCloseReason) -> Bool {
        guard let session = sessions[id] else { return false }
        detach(session)
        directory.remove(id: id, ufrag: session.localUfrag, addresses: session.claimedAddresses)
        if let dtls = session.dtls, session.phase == .connected, let address = session.selectedAddress {
            dtls.close()
            for datagram in dtls.takeOutgoing() { write(datagram, to: address) }
            channel?.flush()
        }
        session.phase = .closed
        settlePending(session)
        metrics.closed(reason)
        metrics.viewers.record(directory.setViewers(sessions.count, shard: shard))
        logger.info("viewer left", metadata: ["session": "\(id.prefix(8))", "stream": "\(session.stream)", "reason": "\(reason.rawValue)"])
        return true
    }

    /// Closes every viewer of one stream (the stream was deleted); how many there were.
    func closeSessions(stream: String, reason: SessionCloseReason) -> Int {
        let ids = (viewersByStream[stream] ?? []).map(\.id)
        for id in ids { _ = closeSession(id: id, reason: reason) }
        return ids.count
    }

    func closeAll(reason: SessionCloseReason) {
        for id in Array(sessions.keys) { _ = closeSession(id: id, reason: reason) }
        countViewersByLayer()  // the per-rung gauges say 0, not the last second's figures
    }

    static func chooseLayer(_ layers: [RenditionLayout.Layer], maximum: String?) throws(WHEPError) -> String {
        guard let maximum else { return layers[0].rung }
        if let index = layers.firstIndex(where: { $0.rung == maximum }) { return layers[index].rung }
        // A cap like "480p" that is not a rung: the largest layer no taller than it.
        if maximum.hasSuffix("p"), let height = Int(maximum.dropLast()), height > 0 {
            if let layer = layers.first(where: { $0.height <= height }) { return layer.rung }
            return layers[layers.count - 1].rung
        }
        throw .unknownLayer(maximum)
    }

    // MARK: Incoming datagrams

    /// `routed`: another shard handed it over (it is not handed on again).
    func receive(_ envelope: AddressedEnvelope<ByteBuffer>, routed: Bool = false, now: NIODeadline) {
        let data = envelope.data
        guard let first = data.getInteger(at: data.readerIndex, as: UInt8.self) else {
            metrics.dropped(.unknownClass)
            return
        }
        switch DatagramClass(firstByte: first) {
        case .stun: receiveSTUN(envelope, routed: routed, now: now)
        case .dtls:
            guard let session = byAddress[envelope.remoteAddress] else { return handOff(envelope, routed: routed) }
            guard session.ice.isProven(envelope.remoteAddress) else { return metrics.dropped(.unprovenAddress) }
            receiveDTLS(data, from: envelope.remoteAddress, session: session, now: now)
        case .rtpOrRTCP:
            guard let session = byAddress[envelope.remoteAddress] else { return handOff(envelope, routed: routed) }
            guard envelope.remoteAddress == session.selectedAddress || session.ice.isProven(envelope.remoteAddress) else {
                return metrics.dropped(.unprovenAddress)
            }
            receiveRTCP(data, session: session, now: now)
        case .unknown: metrics.dropped(.unknownClass)
        }
    }

    /// A datagram from an address this shard does not know: if another shard's session validated it, that shard
    /// gets it; else it is dropped.
    private func handOff(_ envelope: AddressedEnvelope<ByteBuffer>, routed: Bool) {
        guard !routed, let owner = directory.shard(address: envelope.remoteAddress), owner != shard else {
            metrics.dropped(.unknownPeer)
            return
        }
        route(.forward(owner: owner, datagram: envelope))
    }

    private func receiveSTUN(_ envelope: AddressedEnvelope<ByteBuffer>, routed: Bool, now: NIODeadline) {
        let data = envelope.data
        let address = envelope.remoteAddress
        let message: STUNMessage
        do {
            message = try STUNMessage(parsing: data)
        } catch {
            metrics.dropped(.malformedSTUN)
            return
        }
        guard message.method == .binding else {
            metrics.dropped(.unexpectedSTUN)
            return
        }
        switch message.messageClass {
        case .request: receiveCheck(message, envelope: envelope, routed: routed, now: now)
        case .successResponse, .errorResponse:
            // The answer to one of our checks: the session is the one that claimed the address it comes from.
            guard let session = byAddress[address] else { return handOff(envelope, routed: routed) }
            guard let actions = session.ice.receivedResponse(message, from: address, now: now) else {
                metrics.dropped(.unexpectedSTUN)
                return
            }
            perform(actions, for: session)
        case .indication:
            return  // keepalives
        }
    }

    private func receiveCheck(_ message: STUNMessage, envelope: AddressedEnvelope<ByteBuffer>, routed: Bool, now: NIODeadline) {
        let address = envelope.remoteAddress
        guard let username = message.username, let colon = username.firstIndex(of: ":") else {
            metrics.dropped(.unknownUsername)
            return
        }
        let ufrag = String(username[..<colon])
        guard let session = byUfrag[ufrag] else {
            if !routed, let owner = directory.shard(ufrag: ufrag), owner != shard {
                route(.adopt(ufrag: ufrag, owner: owner, datagram: envelope))
            } else {
                metrics.dropped(.unknownUsername)
            }
            return
        }
        // Wrong credentials get no answer at all (RFC 8445 §7.3: an unauthenticated check is not answered).
        guard session.ice.authenticates(message) else {
            metrics.dropped(.badIntegrity)
            return
        }
        if let holder = byAddress[address] {
            guard holder === session else { return metrics.dropped(.addressTaken) }
        } else {
            guard session.claimedAddresses.count < 16, directory.claim(address: address, shard: shard, id: session.id) else {
                return metrics.dropped(.addressTaken)
            }
            byAddress[address] = session
            session.claimedAddresses.append(address)
        }
        let (outcome, actions) = session.ice.receivedCheck(message, from: address, now: now)
        switch outcome {
        case .answered, .held: break
        case .replayed: metrics.dropped(.replayedSTUN)
        case .refused: metrics.dropped(.proofsPending)
        }
        if !session.ice.knownAddresses.contains(address) { release(address, of: session) }
        perform(actions, for: session)
    }

    /// Sends what the session's ICE agent asks for and follows its choice of address.
    private func perform(_ actions: [ICELiteAgent.Action], for session: ViewerSession) {
        for action in actions {
            switch action {
            case .send(let bytes, let address):
                var buffer = channel?.allocator.buffer(capacity: bytes.count) ?? ByteBuffer()
                buffer.writeBytes(bytes)
                write(buffer, to: address)
            case .select(let address):
                let previous = session.selectedAddress
                session.selectedAddress = address
                if session.phase == .waitingForICE { session.phase = .connecting }
                if let previous, previous != address {
                    metrics.addressChanges.increment()
                    logger.info("viewer moved", metadata: ["session": "\(session.id.prefix(8))", "to": "\(address)"])
                }
            case .forget(let address):
                release(address, of: session)
            }
        }
    }

    /// An address the session no longer holds: neither proven nor under proof.
    private func release(_ address: SocketAddress, of session: ViewerSession) {
        session.claimedAddresses.removeAll { $0 == address }
        if byAddress[address] === session { byAddress.removeValue(forKey: address) }
        directory.release(address: address, id: session.id)
    }

    private func receiveDTLS(_ data: ByteBuffer, from address: SocketAddress, session: ViewerSession, now: NIODeadline) {
        guard let dtls = session.dtls else { return admitDTLS(data, from: address, session: session, now: now) }
        dtls.receive(data)
        if session.phase == .connected {
            // After the handshake the connection still answers a viewer that retransmits its last flight (ours was
            // lost) and notices its close_notify.
            let result = dtls.handshake()
            for datagram in dtls.takeOutgoing() { write(datagram, to: address) }
            if case .failed = result { _ = closeSession(id: session.id, reason: .peerClosed) }
            return
        }
        driveHandshake(session, dtls: dtls, replyTo: address, now: now)
    }

    /// A session's first DTLS datagrams go through the shard's cookie gate (RFC 6347 §4.2.1): a ClientHello
    /// without the cookie this address was given gets a HelloVerifyRequest (smaller than the ClientHello) and costs
    /// nothing kept; one that echoes it becomes the session's connection, and the gate is made anew.
    private func admitDTLS(_ data: ByteBuffer, from address: SocketAddress, session: ViewerSession, now: NIODeadline) {
        if cookieGate == nil {
            do {
                cookieGate = try DTLSConnection(context: dtlsContext, expectedPeerFingerprint: nil, mtu: settings.maximumPacketSize)
            } catch {
                logger.error("DTLS setup failed", metadata: ["error": "\(error)"])
                return
            }
        }
        guard let gate = cookieGate else { return }
        gate.receive(data)
        switch gate.verifyCookie(peer: Array("\(address)".utf8)) {
        case .challenged:
            metrics.dropped(.dtlsCookieless)
            for datagram in gate.takeOutgoing() { write(datagram, to: address) }
        case .dropped:
            _ = gate.takeOutgoing()
        case .verified:
            cookieGate = nil
            gate.expect(peerFingerprint: session.remoteFingerprint)
            session.dtls = gate
            driveHandshake(session, dtls: gate, replyTo: address, now: now)
        }
    }

    private func driveHandshake(_ session: ViewerSession, dtls: DTLSConnection, replyTo address: SocketAddress, now: NIODeadline) {
        let result = dtls.handshake()
        for datagram in dtls.takeOutgoing() { write(datagram, to: address) }
        switch result {
        case .incomplete:
            return
        case .failed(let error):
            metrics.handshakeFailures.increment()
            logger.notice("DTLS handshake failed", metadata: ["session": "\(session.id.prefix(8))", "error": "\(error)"])
            _ = closeSession(id: session.id, reason: .dtlsFailed)
        case .complete(let keys):
            do {
                let profile: SRTPProfile = keys.profile == .aeadAES128GCM ? .aeadAES128GCM : .aes128CMHMACSHA1_80
                session.outbound = try SRTPSession(profile: profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
                session.inbound = try SRTPSession(profile: profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
            } catch {
                logger.error("SRTP setup failed", metadata: ["error": "\(error)"])
                _ = closeSession(id: session.id, reason: .dtlsFailed)
                return
            }
            session.phase = .connected
            settlePending(session)
            session.connectedAt = now
            session.awaitingKeyframe = true
            askForKeyframe(session, now: now)
            logger.info("viewer connected", metadata: ["session": "\(session.id.prefix(8))", "srtp": "\(keys.profile)"])
        }
    }

    private func receiveRTCP(_ data: ByteBuffer, session: ViewerSession, now: NIODeadline) {
        guard let inbound = session.inbound else {
            metrics.dropped(.unknownPeer)
            return
        }
        // RFC 5761: with rtcp-mux, payload types 192–223 in the second byte are RTCP. Viewers send no RTP.
        guard let second = data.getInteger(at: data.readerIndex + 1, as: UInt8.self), (192...223).contains(second) else {
            metrics.dropped(.unexpectedRTP)
            return
        }
        guard session.rtcpAllowance.take(at: Self.microseconds(now)) else {
            metrics.dropped(.rtcpRateLimited)
            return
        }
        var packet = data
        do {
            try inbound.unprotectRTCP(&packet)
        } catch {
            metrics.dropped(.srtcpRejected)
            return
        }
        let packets: [RTCPPacket]
        do {
            packets = try RTCPPacket.parseCompound(packet)
        } catch {
            metrics.dropped(.malformedRTCP)
            return
        }
        metrics.rtcpReceived.increment(by: packets.count)
        for rtcp in packets { handleFeedback(rtcp, session: session, now: now) }
    }

    /// Whether repairs go out twice: loss steady enough to hit a repair too (≥ 2 %), not so much that it is beyond
    /// repair (> 20 %), and no queue building — congestion is not answered with more packets.
    static func repairsTwice(windowedLoss: UInt8, congested: Bool) -> Bool {
        !congested && windowedLoss >= 5 && windowedLoss <= 51
    }

    private func handleFeedback(_ packet: RTCPPacket, session: ViewerSession, now: NIODeadline) {
        switch packet {
        case .pli(_, let mediaSSRC):
            guard mediaSSRC == session.videoSSRC else { return }
            metrics.pliReceived.increment()
            viewerAskedForKeyframe(session, now: now)
        case .fir(_, let entries):
            guard entries.contains(where: { $0.ssrc == session.videoSSRC }) else { return }
            metrics.firReceived.increment()
            viewerAskedForKeyframe(session, now: now)
        case .nack(_, let mediaSSRC, let lost):
            guard mediaSSRC == session.videoSSRC else { return }
            metrics.nackReceived.increment()
            retransmit(lost, session: session, now: now)
        case .receiverReport(_, let reports):
            for report in reports where report.ssrc == session.videoSSRC {
                session.fractionLost = report.fractionLost
                session.cumulativeLost = report.cumulativeLost
                let microseconds = Self.microseconds(now)
                if let fraction = session.lossWindow.report(highestSequenceNumber: report.highestSequenceNumber,
                                                            cumulativeLost: report.cumulativeLost, at: microseconds) {
                    session.windowedLoss = fraction
                    session.estimator.receivedLossReport(fractionLost: fraction, at: microseconds)
                }
            }
        case .remb(_, let bitrate, _):
            session.rembBitrate = bitrate
            session.estimator.receivedREMB(bitrate: bitrate, at: Self.microseconds(now))
        case .transportCC(let feedback):
            metrics.transportFeedbackReceived.increment()
            receivedTransportFeedback(feedback, session: session, now: now)
        default:
            break
        }
    }

    /// Sends NACKed packets again from the frame history, as RTX (RFC 4588), within the viewer's budget. A viewer
    /// without RTX gets no repairs (its answer did not offer NACK): resending a packet under its own SSRC and
    /// sequence number with a new header would seal different bytes under the same SRTP nonce.
    /// On a path with steady random loss (2–20 % and no queue building) each repair goes out twice, as two RTX
    /// packets: a repair lost too would cost the receiver another round of its NACK timer (libwebrtc waits 100 ms
    /// when it cannot measure the round trip), long enough to freeze the picture; two copies make that 1 in 400
    /// instead of 1 in 20, for a few percent more bits.
    private func retransmit(_ lost: [UInt16], session: ViewerSession, now: NIODeadline) {
        guard session.hasVideo, let outbound = session.outbound, session.selectedAddress != nil else { return }
        guard session.video?.rtx != nil else {
            metrics.retransmissionsWithoutRTX.increment(by: lost.count)
            return
        }
        guard var video = session.video.take() else { return }
        let sendTime = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        let copies = Self.repairsTwice(windowedLoss: session.windowedLoss,
            congested: session.estimator.overusedRecently(at: Self.microseconds(now))) ? 2 : 1
        var refused = 0
        var missed = 0
        var repeated = 0
        let budget = video.retransmissionBudget
        for sequenceNumber in lost.prefix(64) {
            // Short of tokens for two copies, one still goes; none left, the packet is refused (each one counted).
            guard video.retransmissionBudget > 0 else {
                metrics.retransmissionsRefused.increment()
                refused += 1
                continue
            }
            guard let (frame, index) = video.locate(sequenceNumber) else {
                metrics.retransmissionsMissed.increment()
                missed += 1
                continue
            }
            guard video.mayRetransmit(sequenceNumber, at: Self.microseconds(now)) else {
                metrics.retransmissionsRepeated.increment()
                repeated += 1
                continue
            }
            for _ in 0..<min(copies, video.retransmissionBudget) {
                guard let rtx = video.rtx,
                      video.packetizer.writeRetransmission(index: index, of: frame.data, timestamp: frame.timestamp,
                                                           pictureID: frame.pictureID, originalSequenceNumber: sequenceNumber,
                                                           rtx: rtx, rtxSequenceNumber: video.rtxSequenceNumber,
                                                           absSendTime: sendTime, into: &scratch) else { break }
                video.rtxSequenceNumber &+= 1
                video.retransmissionBudget -= 1
                send(&scratch, layout: video.packetizer.header.extensions, session: session, with: outbound,
                     isProbe: false, now: now, kind: .retransmission)
            }
        }
        logger.trace("NACK answered", metadata: [
            "session": "\(session.id.prefix(8))", "lost": "\(lost.count)", "first": "\(lost.first ?? 0)", "last": "\(lost.last ?? 0)",
            "next": "\(video.packetizer.sequenceNumber)", "copies": "\(copies)", "budget": "\(budget)", "refused": "\(refused)",
            "notInHistory": "\(missed)", "repeated": "\(repeated)"])
        session.video = video
        flushMedia(now: now)
    }

    /// A viewer's PLI or FIR: passed on at most once a second per viewer, so one viewer cannot keep an encoder
    /// making keyframes (every viewer of the rung would pay for them in bits).
    private func viewerAskedForKeyframe(_ session: ViewerSession, now: NIODeadline) {
        if let last = session.lastViewerKeyframeRequest, now - last < .seconds(1) {
            metrics.keyframeRequestsLimited.increment()
            return
        }
        session.lastViewerKeyframeRequest = now
        askForKeyframe(session, force: true, now: now)
    }

    /// The transcoder coalesces requests per rung, so asking for every viewer that needs one is cheap.
    func askForKeyframe(_ session: ViewerSession, force: Bool = false, now: NIODeadline) {
        if !force, let last = session.lastKeyframeRequest, now - last < .milliseconds(300) { return }
        session.lastKeyframeRequest = now
        _ = requestKeyframe(session.stream, session.pendingLayer ?? session.layer)
    }

    // MARK: Media from the transcoder

    func media(_ media: RenditionEvent, stream: String, now: NIODeadline) {
        switch media {
        case .started:
            var state = streams[stream] ?? StreamMedia()
            state.live = true
            state.endedAt = nil
            state.clock.reset()
            streams[stream] = state
        case .layout(let layout):
            var state = streams[stream] ?? StreamMedia()
            state.layers = layout.webRTCLayers
            state.live = true
            streams[stream] = state
            relayer(stream: stream, layers: layout.webRTCLayers, now: now)
        case .webRTCVideo(let layer, let frame):
            observe(frame, stream: stream, now: now)
            streams[stream]?.layerRates[layer, default: RateMeter(windowMicroseconds: 2_000_000, bucketCount: 10)]
                .add(bytes: frame.data.readableBytes, at: Self.microseconds(now))
            sendVideo(frame, layer: layer, stream: stream, now: now)
        case .webRTCAudio(let frame):
            observe(frame, stream: stream, now: now)
            streams[stream]?.audioRate.add(bytes: frame.data.readableBytes, at: Self.microseconds(now))
            sendAudio(frame, stream: stream, now: now)
        case .ended:
            streams[stream]?.live = false
            streams[stream]?.endedAt = now
        case .cmafVideoConfiguration, .cmafVideo, .cmafAudioConfiguration, .cmafAudio:
            break
        }
    }

    private func observe(_ frame: EncodedFrame, stream: String, now: NIODeadline) {
        streams[stream]?.clock.observe(sourceSeconds: Double(frame.pts) / Double(frame.timescale), now: now)
    }

    /// A new layout (the source changed size): viewers whose rung is gone move to the best one they may have.
    private func relayer(stream: String, layers: [RenditionLayout.Layer], now: NIODeadline) {
        guard !layers.isEmpty else { return }
        for session in viewersByStream[stream] ?? [] {
            session.selector.reset()
            if let pending = session.pendingLayer, !layers.contains(where: { $0.rung == pending }) { session.pendingLayer = nil }
            if let pinned = session.pinnedLayer, !layers.contains(where: { $0.rung == pinned }) { session.pinnedLayer = nil }
            guard !layers.contains(where: { $0.rung == session.layer }) else { continue }
            session.layer = (try? Self.chooseLayer(layers, maximum: session.maximumLayer)) ?? layers[0].rung
            session.awaitingKeyframe = true
            askForKeyframe(session, force: true, now: now)
        }
    }


    private func sendVideo(_ frame: EncodedFrame, layer: String, stream: String, now: NIODeadline) {
        guard frame.data.readableBytes > 0 else { return }
        var sent = false
        let microseconds = Self.microseconds(now)
        let sendTime = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        let viewers = viewersByStream[stream] ?? []
        for index in viewers.indices {
            Self.prefetchAhead(viewers, from: index, rung: layer)
            let session = viewers[index]
            guard session.isSending, session.layer == layer || session.pendingLayer == layer else { continue }
            guard session.hasVideo, session.outbound != nil, session.datagramAddress != nil else { continue }
            if session.pendingLayer == layer {
                // A switch lands on the new rung's keyframe; until then the old rung goes on.
                guard frame.isKeyframe else { continue }
                completeSwitch(session, to: layer)
            }
            if session.awaitingKeyframe {
                guard frame.isKeyframe else { continue }
                session.awaitingKeyframe = false
            }
            if !session.firstVideoSent {
                session.firstVideoSent = true
                metrics.joinTime.recordNanoseconds(Int64(now.uptimeNanoseconds) - Int64(session.createdAt.uptimeNanoseconds))
            }
            // Mutated where it lies (`&session.video!`): binding the unwrapped value would copy the whole sender (a
            // retain per reference it holds, and its queue then copied on write), and moving it out and back
            // copied its 320 bytes three times.
            guard session.video != nil else { continue }
            enqueue(frame, into: &session.video!, for: session, now: now, at: microseconds)
            sendQueued(&session.video!, to: session, at: microseconds, stamp: sendTime)
            if !session.isBacklogged, Self.hasQueuedVideo(&session.video!) {
                session.isBacklogged = true
                backlog.append(session)
                scheduleDrain()
            }
            sent = true
        }
        if sent { flushMedia(now: now) }
    }

    /// Read through `inout`, so the sender is not copied to answer.
    @inline(__always)
    private static func hasQueuedVideo(_ video: inout VideoSender) -> Bool { !video.queue.isEmpty }

    /// Queues a frame for the viewer's pacer. Frames that waited too long are dropped, and unless this one is a
    /// keyframe the viewer waits for the next (asked for at once).
    private func enqueue(_ frame: EncodedFrame, into video: inout VideoSender, for session: ViewerSession, now: NIODeadline,
                         at microseconds: Int64) {
        let waiting = VideoSendQueue.WaitingFrame(data: frame.data, timestamp: UInt32(truncatingIfNeeded: frame.pts) &+ video.timestampOffset,
                                                  isKeyframe: frame.isKeyframe, queuedAt: microseconds)
        switch video.queue.enqueue(waiting, maximumDelay: Self.microseconds(settings.maximumPacingDelay)) {
        case .queued:
            return
        case .droppedBeforeKeyframe(let count):
            metrics.pacedFramesDropped.increment(by: count)
            session.pacedFramesDropped += count
        case .dropped(let count):
            metrics.pacedFramesDropped.increment(by: count)
            session.pacedFramesDropped += count
            session.awaitingKeyframe = true
            askForKeyframe(session, force: true, now: now)
        }
        logger.debug("video frames dropped before the pacer sent them", metadata: [
            "session": "\(session.id.prefix(8))", "pacingBitrate": "\(session.pacing.bitrate)"])
    }

    /// Sends the viewer's queued video as far as its pacing budget allows, each packet written straight into the
    /// send slot it is encrypted and sent from. Returns the packets sent.
    @discardableResult
    private func sendQueued(_ video: inout VideoSender, to session: ViewerSession, at microseconds: Int64, stamp: UInt32) -> Int {
        guard let outbound = session.outbound, let address = session.datagramAddress else { return 0 }
        let layout = video.packetizer.header.extensions
        session.pacing.refill(at: microseconds)
        var packets = 0
        var rtpBytes = 0
        var sentBytes = 0
        while session.pacing.allowsSending, let next = video.queue.next(packetizer: &video.packetizer, stamp: stamp) {
            if next.index == 0 {
                video.frames &+= 1
                let packets = video.queue.sending
                video.remember(.init(data: packets.frame, timestamp: video.queue.sendingTimestamp, pictureID: packets.pictureID,
                                     firstSequenceNumber: packets.firstSequenceNumber, packetCount: packets.count))
            }
            // The first packet is the longest: every slot is reserved for that size.
            guard let slot = batch.reserve(video.queue.sending.length(ofPacket: 0)) else { continue }
            let length = video.queue.sending.write(next.index, to: slot)
            if next.restamp { layout.setAbsSendTime(stamp, at: slot) }
            guard let size = commit(slot, length: length, layout: layout, session: session, with: outbound, to: address,
                                    isProbe: false, at: microseconds, kind: .video) else { continue }
            session.pacing.spend(size)
            packets += 1
            rtpBytes += length
            sentBytes += size
        }
        video.packets &+= UInt32(truncatingIfNeeded: packets)
        video.octets &+= UInt32(truncatingIfNeeded: rtpBytes)
        if sentBytes > 0 { session.sendRate.add(bytes: sentBytes, at: microseconds) }
        return packets
    }

    private func scheduleDrain() {
        guard !drainScheduled else { return }
        drainScheduled = true
        loop.assumeIsolated().scheduleTask(in: Self.drainInterval) { [weak self] in
            guard let self else { return }
            self.drainBacklog(now: self.clock())
        }
    }

    /// Sends what the backlogged viewers' budgets allow now; a viewer leaves the list when its queue is empty.
    func drainBacklog(now: NIODeadline) {
        drainScheduled = false
        let microseconds = Self.microseconds(now)
        let stamp = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        var paced = 0
        var index = 0
        while index < backlog.count {
            let session = backlog[index]
            var done = true
            if session.phase == .connected, session.video != nil {
                paced += sendQueued(&session.video!, to: session, at: microseconds, stamp: stamp)
                done = !Self.hasQueuedVideo(&session.video!)
            }
            if done {
                session.isBacklogged = false
                backlog.swapAt(index, backlog.count - 1)
                backlog.removeLast()
            } else {
                index += 1
            }
        }
        if paced > 0 {
            metrics.pacedPackets.increment(by: paced)
            flushMedia(now: now)
        }
        if !backlog.isEmpty { scheduleDrain() }
    }

    /// Bits per second a viewer is paced at: `pacingFactor` × the larger of its estimate and its rung's cost.
    func pacingBitrate(estimate: Int?, cost: Int) -> Int {
        guard settings.pacingFactor > 0 else { return Self.unpacedBitrate }
        return Int(settings.pacingFactor * Double(max(estimate ?? 0, cost)))
    }

    /// With pacing off: a rate whose 20 ms burst holds any frame.
    static let unpacedBitrate = 100_000_000_000

    private func sendAudio(_ frame: EncodedFrame, stream: String, now: NIODeadline) {
        var sent = false
        let microseconds = Self.microseconds(now)
        let sendTime = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        let viewers = viewersByStream[stream] ?? []
        for index in viewers.indices {
            Self.prefetchAhead(viewers, from: index)
            let session = viewers[index]
            guard session.isSending else { continue }
            guard session.audio != nil, let outbound = session.outbound, let address = session.datagramAddress else { continue }
            // Moved out and back, kept optional: a copy would retain what the sender holds, for every packet.
            var audio = session.audio.take()
            // A frame too large for one packet (Opus cannot be fragmented) is skipped.
            if let length = audio!.packetizer.packetLength(frame: frame.data), let slot = batch.reserve(length) {
                let timestamp = UInt32(truncatingIfNeeded: frame.pts) &+ audio!.timestampOffset
                audio!.packetizer.write(frame: frame.data, timestamp: timestamp, absSendTime: sendTime, to: slot)
                audio!.packets &+= 1
                audio!.octets &+= UInt32(truncatingIfNeeded: length)
                // Audio is never held back (it is small and steady), but it uses up the budget video is paced by.
                if let size = commit(slot, length: length, layout: audio!.packetizer.header.extensions, session: session,
                                     with: outbound, to: address, isProbe: false, at: microseconds, kind: .audio) {
                    session.sendRate.add(bytes: size, at: microseconds)
                    session.pacing.refill(at: microseconds)
                    session.pacing.spend(size)
                }
            }
            audio!.frames &+= 1
            session.audio = audio
            // Audio comes every 20 ms: the pacing step of probe padding.
            if session.probe != nil { pad(session, now: now) }
            sent = true
        }
        if sent { flushMedia(now: now) }
    }

    /// A fan-out's loop over a stream's viewers finds each one's state cold (main memory, or at best the shared
    /// cache), and waiting for it, a few cache lines at a time, was most of what the loop cost beyond the kernel and
    /// the cipher. So the loop asks for it ahead: the per-packet fields of the viewer two places on
    /// (`ViewerSession.hotBytes`), and the sealing state of the one next in turn, whose session (fetched on the
    /// previous turn) says where that is.
    ///
    /// A video frame is for one rung's viewers only: then the viewer two on gets only the lines that say whether it
    /// is one of them (`ViewerSession.selectionBytes`), and the rest is asked for a turn ahead if it is.
    @inline(__always)
    static func prefetchAhead(_ viewers: [ViewerSession], from index: Int, rung: String? = nil) {
        if index + 2 < viewers.count {
            MemoryHint.prefetch(Unmanaged.passUnretained(viewers[index + 2]).toOpaque(),
                                bytes: rung == nil ? ViewerSession.hotBytes : ViewerSession.selectionBytes)
        }
        guard index + 1 < viewers.count else { return }
        let next = viewers[index + 1]
        if let rung {
            guard next.layer == rung || next.pendingLayer == rung else { return }
            MemoryHint.prefetch(Unmanaged.passUnretained(next).toOpaque() + ViewerSession.selectionBytes,
                                bytes: ViewerSession.hotBytes - ViewerSession.selectionBytes)
        }
        next.sealingState?.prefetch()
    }

    /// Stamps the transport-wide sequence number, encrypts into the media batch, and notes the packet for the
    /// estimator. Sent at the next `flushMedia()` (or when the batch fills).
    func send(_ packet: inout ByteBuffer, layout: RTPHeaderExtensionLayout, session: ViewerSession, with srtp: SRTPSession,
              isProbe: Bool, now: NIODeadline, kind: SentPacketKind) {
        guard let address = session.datagramAddress else { return }
        let length = packet.readableBytes
        guard let slot = batch.reserve(length) else { return }
        packet.withUnsafeReadableBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: length) }
        let microseconds = Self.microseconds(now)
        guard let size = commit(slot, length: length, layout: layout, session: session, with: srtp, to: address,
                                isProbe: isProbe, at: microseconds, kind: kind) else { return }
        session.sendRate.add(bytes: size, at: microseconds)
    }

    /// The packet of `length` bytes written into the batch's reserved `slot`: stamps its transport-wide sequence
    /// number, protects and queues it, and notes it for the estimator. Returns the datagram's size (nil: not
    /// queued, counted by the batch). The caller adds it to the viewer's send rate (once per frame).
    @inline(__always)
    private func commit(_ slot: UnsafeMutableRawPointer, length: Int, layout: RTPHeaderExtensionLayout,
                        session: ViewerSession, with srtp: SRTPSession, to address: DatagramAddress, isProbe: Bool,
                        at microseconds: Int64, kind: SentPacketKind) -> Int? {
        let sequenceNumber = session.transportSequence
        let stamped = layout.transportSequenceNumberID != nil
        if stamped {
            layout.setTransportSequenceNumber(sequenceNumber, at: slot)
            session.transportSequence &+= 1
        }
        guard let size = batch.commit(length, protectedBy: srtp, to: address) else { return nil }
        sentTally.count(kind, bytes: size)
        if session.estimator.isProbing { session.estimator.sentDuringProbe(at: microseconds) }
        if stamped {
            session.sentLog?.record(sequenceNumber: sequenceNumber, sendTime: microseconds, size: size, isProbe: isProbe)
        }
        return size
    }

    /// Sends the media batch, then whatever the NIO channel holds, and brings the packet counters up to date.
    func flushMedia(now: NIODeadline) {
        let segmenting = batch.segmentation
        batch.flush()
        if segmenting, !batch.segmentation {
            logger.warning("UDP GSO refused on the media socket; sending one datagram per packet", metadata: ["shard": "\(shard)"])
        }
        channel?.flush()
        sentTally.publish(to: metrics)
        let totals = batch.takeTotals()
        if totals.droppedFull > 0 { metrics.sendFailures(socketFull: totals.droppedFull) }
        if totals.failed > 0 { metrics.sendFailures(other: totals.failed) }
        if totals.droppedFull + totals.failed > 0, lastSendFailureLog.map({ now - $0 > .seconds(5) }) ?? true {
            lastSendFailureLog = now
            logger.warning("media datagrams not sent", metadata: ["socketFull": "\(totals.droppedFull)",
                                                                  "failed": "\(totals.failed)", "errno": "\(totals.lastError)"])
        }
    }

    private func write(_ buffer: ByteBuffer, to address: SocketAddress) {
        channel?.write(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
    }

    // MARK: Timers

    /// Runs a few times a second: consent and handshake deadlines, DTLS retransmissions, sender reports,
    /// keyframe requests still owed, viewers of streams that ended.
    func tick(now: NIODeadline) {
        for session in Array(sessions.values) {
            if session.phase != .closed { perform(session.ice.tick(now: now), for: session) }
            switch session.phase {
            case .waitingForICE:
                if now - session.createdAt > Self.amount(settings.connectTimeout) { _ = closeSession(id: session.id, reason: .neverConnected) }
                continue
            case .connecting:
                if now - session.createdAt > Self.amount(settings.connectTimeout) {
                    _ = closeSession(id: session.id, reason: .dtlsFailed)
                    continue
                }
                if let dtls = session.dtls, let address = session.selectedAddress, let timeout = dtls.nextTimeout(), timeout <= .zero {
                    _ = dtls.handleTimeout()
                    driveHandshake(session, dtls: dtls, replyTo: address, now: now)
                }
            case .connected:
                break
            case .closed:
                continue
            }
            // RFC 7675: no answer to our checks for the timeout → stop sending and close.
            if now - session.ice.lastConsent > Self.amount(settings.consentTimeout) {
                _ = closeSession(id: session.id, reason: .consentExpired)
                continue
            }
            if let media = streams[session.stream], !media.live, let endedAt = media.endedAt, now - endedAt > Self.amount(settings.offlineGrace) {
                _ = closeSession(id: session.id, reason: .streamEnded)
                continue
            }
            guard session.phase == .connected else { continue }
            if session.awaitingKeyframe { askForKeyframe(session, now: now) }
            if let media = streams[session.stream], media.live { adapt(session, now: now) }
            guard session.phase == .connected else { continue }  // adapt may have closed it (too slow)
            if session.probe != nil { pad(session, now: now) }
            if session.lastSenderReport.map({ now - $0 >= .seconds(1) }) ?? true {
                session.lastSenderReport = now
                session.video?.refillRetransmissionBudget()
                sendSenderReports(session, now: now)
                if let estimate = session.estimator.estimate { metrics.estimates.record(estimate) }
            }
        }
        if now - lastLayerCount >= .seconds(1) {
            lastLayerCount = now
            countViewersByLayer()
        }
        flushMedia(now: now)
    }

    private func sendSenderReports(_ session: ViewerSession, now: NIODeadline) {
        guard let outbound = session.outbound, let address = session.selectedAddress,
              let source = streams[session.stream]?.clock.sourceSeconds(at: now) else { return }
        let ntp = MediaClock.ntpNow()
        let cname = session.cname
        if let video = session.video {
            let rtp = UInt32(truncatingIfNeeded: Int64(source * 90_000)) &+ video.timestampOffset
            writeReport(ssrc: video.ssrc, ntp: ntp, rtp: rtp, packets: video.packets, octets: video.octets, cname: cname,
                        with: outbound, to: address)
        }
        if let audio = session.audio {
            let rtp = UInt32(truncatingIfNeeded: Int64(source * 48_000)) &+ audio.timestampOffset
            writeReport(ssrc: audio.ssrc, ntp: ntp, rtp: rtp, packets: audio.packets, octets: audio.octets, cname: cname,
                        with: outbound, to: address)
        }
    }

    private func writeReport(ssrc: UInt32, ntp: UInt64, rtp: UInt32, packets: UInt32, octets: UInt32, cname: String,
                             with srtp: SRTPSession, to address: SocketAddress) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: 128)
        RTCPWriter.writeSenderReport(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: rtp, packetCount: packets,
                                     octetCount: octets, into: &buffer)
        RTCPWriter.writeSourceDescription(ssrc: ssrc, cname: cname, into: &buffer)
        do {
            try srtp.protectRTCP(&buffer)
        } catch {
            return
        }
        write(buffer, to: address)
    }

    // MARK: Helpers

    static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    static func videoPacketizer(_ video: NegotiatedMedia, ssrc: UInt32, maximumPacketSize: Int) -> VP8Packetizer {
        // 16 bytes for the SRTP tag and 2 for the RTX original sequence number, so a retransmission fits too.
        VP8Packetizer(payloadType: video.payloadType, ssrc: ssrc, extensions: extensionLayout(video),
                      maximumPacketSize: maximumPacketSize, reservedTrailerLength: 18)
    }

    static func audioPacketizer(_ audio: NegotiatedMedia, ssrc: UInt32) -> OpusPacketizer {
        OpusPacketizer(payloadType: audio.payloadType, ssrc: ssrc, extensions: extensionLayout(audio))
    }

    /// The header extensions both sides agreed on, with the offer's ids (a malformed combination is dropped).
    static func extensionLayout(_ media: NegotiatedMedia) -> RTPHeaderExtensionLayout {
        let ids = media.extensionIDs
        let mid = ids.mid.flatMap { id in media.mid.utf8.count <= 16 && !media.mid.isEmpty ? (id: id, value: media.mid) : nil }
        return (try? RTPHeaderExtensionLayout(mid: mid, absSendTimeID: ids.absSendTime, transportSequenceNumberID: ids.transportCC)) ?? .none
    }

    static let iceAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
    static let hexAlphabet = Array("0123456789abcdef")

    static func randomToken(length: Int, alphabet: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

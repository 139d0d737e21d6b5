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
final class EgressShard {
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
    /// The settings every viewer's consumer decides by.
    let policy: SimulcastConsumer.Policy
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
        self.policy = SimulcastConsumer.Policy(
            pacingFactor: settings.pacingFactor, pacingBurst: Self.microseconds(settings.pacingBurst),
            maximumPacingDelay: Self.microseconds(settings.maximumPacingDelay),
            maximumPacketSize: settings.maximumPacketSize, slowViewerTimeout: Self.amount(settings.slowViewerTimeout))
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
        for session in viewersByStream[stream] ?? [] { counts[session.consumer.layer, default: 0] += 1 }
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
        let pacing = PacingBudget(bitrate: SimulcastConsumer.pacingBitrate(estimate: nil, cost: initialBitrate, factor: policy.pacingFactor),
                                  burstMicroseconds: policy.pacingBurst,
                                  minimumCapacity: 2 * settings.maximumPacketSize, now: Self.microseconds(now))
        let consumer = SimulcastConsumer(layer: layer, maximumLayer: maximumLayer, video: video, audio: audio,
                                         transportWideFeedback: negotiated.video?.extensionIDs.transportCC != nil,
                                         initialBitrate: initialBitrate, pacing: pacing)
        let session = ViewerSession(id: id, stream: stream, localUfrag: ufrag, localPassword: password, offer: offer,
                                    negotiated: negotiated, cname: parameters.cname, consumer: consumer, now: now)
        created = true
        session.pendingClient = client
        admitted = false  // the session holds the count now, until it connects or ends
        insert(session)
        metrics.sessionsCreated.increment()
        logger.info("viewer joined", metadata: ["session": "\(id.prefix(8))", "stream": "\(stream)", "layer": "\(layer)"])
        return WHEPSessionCreated(id: id, answer: answer.sdp, etag: session.etag, layer: layer, layers: media.layers.map(\.rung))
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
            follow(session.consumer.connected(now: now), for: session)
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

    private func handleFeedback(_ packet: RTCPPacket, session: ViewerSession, now: NIODeadline) {
        switch packet {
        case .pli(_, let mediaSSRC):
            guard mediaSSRC == session.consumer.videoSSRC else { return }
            metrics.pliReceived.increment()
            viewerAskedForKeyframe(session, now: now)
        case .fir(_, let entries):
            guard entries.contains(where: { $0.ssrc == session.consumer.videoSSRC }) else { return }
            metrics.firReceived.increment()
            viewerAskedForKeyframe(session, now: now)
        case .nack(_, let mediaSSRC, let lost):
            guard mediaSSRC == session.consumer.videoSSRC else { return }
            metrics.nackReceived.increment()
            retransmit(lost, session: session, now: now)
        case .receiverReport(_, let reports):
            for report in reports where report.ssrc == session.consumer.videoSSRC {
                session.consumer.receivedReport(report, now: now)
            }
        case .remb(_, let bitrate, _):
            session.consumer.receivedREMB(bitrate: bitrate, now: now)
        case .transportCC(let feedback):
            metrics.transportFeedbackReceived.increment()
            session.consumer.receivedTransportFeedback(feedback, now: now)
        default:
            break
        }
    }

    /// Answers a NACK from the frame history (`SimulcastConsumer.retransmit`), and counts what it did.
    private func retransmit(_ lost: [UInt16], session: ViewerSession, now: NIODeadline) {
        guard session.consumer.hasVideo, let outlet = session.outlet(batch) else { return }
        guard session.consumer.video?.rtx != nil else {
            metrics.retransmissionsWithoutRTX.increment(by: lost.count)
            return
        }
        let outcome = session.consumer.retransmit(lost, through: outlet, scratch: &scratch, tally: &sentTally, now: now)
        if outcome.refused > 0 { metrics.retransmissionsRefused.increment(by: outcome.refused) }
        if outcome.missed > 0 { metrics.retransmissionsMissed.increment(by: outcome.missed) }
        if outcome.repeated > 0 { metrics.retransmissionsRepeated.increment(by: outcome.repeated) }
        logger.trace("NACK answered", metadata: [
            "session": "\(session.id.prefix(8))", "lost": "\(lost.count)", "first": "\(lost.first ?? 0)", "last": "\(lost.last ?? 0)",
            "next": "\(session.consumer.video?.packetizer.sequenceNumber ?? 0)", "copies": "\(outcome.copies)",
            "budget": "\(outcome.budget)", "refused": "\(outcome.refused)", "notInHistory": "\(outcome.missed)",
            "repeated": "\(outcome.repeated)"])
        flushMedia(now: now)
    }

    /// A viewer's PLI or FIR: passed on at most once a second per viewer (`SimulcastConsumer.viewerAskedForKeyframe`).
    private func viewerAskedForKeyframe(_ session: ViewerSession, now: NIODeadline) {
        guard let action = session.consumer.viewerAskedForKeyframe(now: now) else {
            metrics.keyframeRequestsLimited.increment()
            return
        }
        follow(action, for: session)
    }

    /// The transcoder coalesces requests per rung, so asking for every viewer that needs one is cheap.
    func askForKeyframe(_ session: ViewerSession, force: Bool = false, now: NIODeadline) {
        follow(session.consumer.keyframeWanted(force: force, now: now), for: session)
    }

    /// Does what a viewer's consumer asks for.
    func follow(_ action: SimulcastConsumer.Action?, for session: ViewerSession) {
        switch action {
        case nil:
            return
        case .requestKeyframe(let rung):
            _ = requestKeyframe(session.stream, rung)
        case .probeStarted:
            metrics.probesStarted.increment()
        case .probeFinished(let succeeded):
            (succeeded ? metrics.probesSucceeded : metrics.probesFailed).increment()
            logger.debug("probe finished", metadata: ["session": "\(session.id.prefix(8))", "succeeded": "\(succeeded)",
                                                     "estimate": "\(session.consumer.estimator.estimate ?? 0)"])
        case .close(let reason):
            if reason == .tooSlow {
                logger.info("viewer too slow for the bottom rung", metadata: [
                    "session": "\(session.id.prefix(8))", "estimate": "\(session.consumer.estimator.measuredEstimate ?? 0)"])
            }
            _ = closeSession(id: session.id, reason: reason)
        }
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
        for session in viewersByStream[stream] ?? [] {
            follow(session.consumer.ladderChanged(layers, now: now), for: session)
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
            guard session.isSending, session.consumer.follows(layer) else { continue }
            guard session.consumer.hasVideo, let outlet = session.outlet(batch) else { continue }
            switch session.consumer.verdict(rung: layer, isKeyframe: frame.isKeyframe) {
            case .skip:
                continue
            case .send:
                break
            case .sendAfterSwitch(let from):
                countSwitch(session, from: from, to: layer)
            }
            if !session.consumer.firstVideoSent {
                session.consumer.firstVideoSent = true
                metrics.joinTime.recordNanoseconds(Int64(now.uptimeNanoseconds) - Int64(session.createdAt.uptimeNanoseconds))
            }
            let (dropped, keyframe) = session.consumer.enqueue(data: frame.data, pts: frame.pts, isKeyframe: frame.isKeyframe,
                                                               policy: policy, now: now, at: microseconds)
            if dropped > 0 { framesDropped(dropped, session: session, keyframe: keyframe) }
            session.consumer.sendQueued(through: outlet, tally: &sentTally, at: microseconds, stamp: sendTime)
            if !session.isBacklogged, session.consumer.hasQueuedVideo {
                session.isBacklogged = true
                backlog.append(session)
                scheduleDrain()
            }
            sent = true
        }
        if sent { flushMedia(now: now) }
    }

    /// Frames that waited too long for the pacer were dropped; unless the new one is a keyframe the viewer waits for
    /// the next (asked for at once).
    private func framesDropped(_ count: Int, session: ViewerSession, keyframe: SimulcastConsumer.Action?) {
        metrics.pacedFramesDropped.increment(by: count)
        follow(keyframe, for: session)
        logger.debug("video frames dropped before the pacer sent them", metadata: [
            "session": "\(session.id.prefix(8))", "pacingBitrate": "\(session.consumer.pacing.bitrate)"])
    }

    /// A switch landed on its keyframe: counted up (to a better rung) or down.
    private func countSwitch(_ session: ViewerSession, from: String, to rung: String) {
        let layers = streams[session.stream]?.layers ?? []
        let up = (layers.firstIndex { $0.rung == rung } ?? 0) < (layers.firstIndex { $0.rung == from } ?? 0)
        (up ? metrics.switchesUp : metrics.switchesDown).increment()
        session.consumer.countSwitch(up: up)
        logger.debug("viewer switched layer", metadata: ["session": "\(session.id.prefix(8))", "from": "\(from)",
                                                         "to": "\(rung)", "estimate": "\(session.consumer.estimator.estimate ?? 0)"])
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
            if session.phase == .connected, let outlet = session.outlet(batch) {
                paced += session.consumer.sendQueued(through: outlet, tally: &sentTally, at: microseconds, stamp: stamp)
                done = !session.consumer.hasQueuedVideo
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

    private func sendAudio(_ frame: EncodedFrame, stream: String, now: NIODeadline) {
        var sent = false
        let microseconds = Self.microseconds(now)
        let sendTime = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        let viewers = viewersByStream[stream] ?? []
        for index in viewers.indices {
            Self.prefetchAhead(viewers, from: index)
            let session = viewers[index]
            guard session.isSending, session.consumer.hasAudio, let outlet = session.outlet(batch) else { continue }
            session.consumer.sendAudio(frame, through: outlet, tally: &sentTally, at: microseconds, stamp: sendTime)
            // Audio comes every 20 ms: the pacing step of probe padding.
            if session.consumer.probe != nil { pad(session, now: now) }
            sent = true
        }
        if sent { flushMedia(now: now) }
    }

    /// A fan-out's loop over a stream's viewers finds each one's state cold (main memory, or at best the shared
    /// cache), and waiting for it, a few cache lines at a time, is the loop's largest cost beyond the kernel and
    /// the cipher (docs/benchmarks.md, "WebRTC fan-out"). So the loop asks for it ahead: the per-packet fields of
    /// the viewer two places on (`ViewerSession.hotBytes`), and the sealing state of the one next in turn, whose
    /// session (fetched on the previous turn) says where that is.
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
            guard next.consumer.follows(rung) else { return }
            MemoryHint.prefetch(Unmanaged.passUnretained(next).toOpaque() + ViewerSession.selectionBytes,
                                bytes: ViewerSession.hotBytes - ViewerSession.selectionBytes)
        }
        next.sealingState?.prefetch()
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
            if session.consumer.awaitingKeyframe { askForKeyframe(session, now: now) }
            if let media = streams[session.stream], media.live { adapt(session, now: now) }
            guard session.phase == .connected else { continue }  // adapt may have closed it (too slow)
            if session.consumer.probe != nil { pad(session, now: now) }
            if session.lastSenderReport.map({ now - $0 >= .seconds(1) }) ?? true {
                session.lastSenderReport = now
                session.consumer.video?.refillRetransmissionBudget()
                sendSenderReports(session, now: now)
                if let estimate = session.consumer.estimator.estimate { metrics.estimates.record(estimate) }
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
        if let video = session.consumer.video {
            let rtp = UInt32(truncatingIfNeeded: Int64(source * 90_000)) &+ video.timestampOffset
            writeReport(ssrc: video.ssrc, ntp: ntp, rtp: rtp, packets: video.packets, octets: video.octets, cname: cname,
                        with: outbound, to: address)
        }
        if let audio = session.consumer.audio {
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

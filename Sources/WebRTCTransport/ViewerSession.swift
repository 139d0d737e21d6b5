import DatagramIO
import DTLS
import NIOCore
import RTP
import SDP
import Adaptation
import SRTP

/// One WHEP viewer: its ICE credentials and selected address, its DTLS connection, the SRTP contexts made from
/// it, and what it is sent. Lives on the egress's event loop only (plain `var`s, no locks).
final class ViewerSession {
    enum Phase: Equatable {
        /// Answered; waiting for the first valid connectivity check.
        case waitingForICE
        /// ICE works; DTLS is handshaking.
        case connecting
        /// SRTP keys are in place; media flows.
        case connected
        case closed
    }

    // MARK: Read for every packet, first
    // A fan-out visits every viewer of a stream in turn and finds each one's state cold (a thousand viewers' state
    // and the encoders' frames pass through the caches between two visits). What the fan-out reads comes first, in
    // the object's first `hotBytes`, which the egress prefetches two viewers ahead (Swift lays a class's stored
    // properties out in declaration order, and a struct's inline).

    var phase: Phase = .waitingForICE
    /// In the shard's list of viewers with video waiting for the pacer.
    var isBacklogged = false
    /// `selectedAddress` as the kernel takes it, for the media batch.
    private(set) var datagramAddress: DatagramAddress?
    var outbound: SRTPSession? {
        didSet { sealingState = outbound?.sealingStateHint }
    }
    /// Where `outbound` keeps what sealing a packet reads, prefetched a viewer ahead.
    private(set) var sealingState: SRTPSession.SealingStateHint?
    /// What the viewer is sent: its rung, RTP rewriting, pacing, estimator (its per-packet fields first).
    var consumer: SimulcastConsumer
    /// The bytes from the object's start that hold the fields above up to the consumer's estimator's first: what
    /// the egress prefetches for a viewer whose turn is coming. The first `selectionBytes` hold `phase` to the
    /// consumer's `pendingLayer`, which say whether a frame is for this viewer.
    static let hotBytes = 960
    static let selectionBytes = 128

    // MARK: The rest

    let id: String
    let stream: String
    let etag: String
    let localUfrag: String
    let localPassword: String
    let remoteUfrag: String
    let remoteFingerprint: String
    let negotiated: NegotiatedSession
    /// RTCP CNAME of both streams (RFC 3550 §6.5.1): the receiver syncs the streams that share it.
    let cname: String
    let createdAt: NIODeadline
    /// The address the offer came from, while the session counts against its not-yet-connected limit.
    var pendingClient: String?

    /// Checks, proofs of address and consent; its `select` actions set `selectedAddress`.
    var ice: ICELiteAgent
    /// Addresses this session holds in the shard's index (proven, or under proof); no other session can take them.
    var claimedAddresses: [SocketAddress] = []
    /// Where media goes: an address that answered the server's own check.
    var selectedAddress: SocketAddress? {
        didSet { datagramAddress = selectedAddress.map(DatagramAddress.init) }
    }
    var connectedAt: NIODeadline?
    /// The viewer's transport after ICE: the DTLS connection, then the SRTP contexts made from its keys.
    var dtls: DTLSConnection?
    var inbound: SRTPSession?
    /// RTCP datagrams this viewer may still send now.
    var rtcpAllowance = RTCPAllowance()
    var lastSenderReport: NIODeadline?

    init(id: String, stream: String, localUfrag: String, localPassword: String, offer: WHEPOffer,
         negotiated: NegotiatedSession, cname: String, consumer: SimulcastConsumer, now: NIODeadline) {
        self.id = id
        self.consumer = consumer
        self.stream = stream
        self.etag = "\"\(id.prefix(12))\""
        self.localUfrag = localUfrag
        self.localPassword = localPassword
        self.remoteUfrag = offer.iceUfrag
        self.remoteFingerprint = offer.fingerprint.value
        self.negotiated = negotiated
        self.cname = cname
        self.createdAt = now
        self.ice = ICELiteAgent(localUfrag: localUfrag, localPassword: localPassword, remoteUfrag: offer.iceUfrag,
                                remotePassword: offer.icePwd, now: now)
    }

    /// The outlet of the consumer's packets, while the session is sending.
    @inline(__always)
    func outlet(_ batch: DatagramBatch) -> SimulcastConsumer.Outlet? {
        guard let outbound, let datagramAddress else { return nil }
        return SimulcastConsumer.Outlet(batch: batch, sealer: outbound, address: datagramAddress)
    }

    /// Read for every viewer and frame: `datagramAddress` is plain bytes, `selectedAddress` would be copied (retained).
    var isSending: Bool { phase == .connected && datagramAddress != nil }
}

/// RTP state of the video stream sent to one viewer: one SSRC, one sequence-number space and one PictureID
/// space, whatever rung feeds it.
struct VideoSender {
    let ssrc: UInt32
    let payloadType: UInt8
    var packetizer: VP8Packetizer
    /// Random per viewer (RFC 3550 §5.1): RTP timestamp = source pts (90 kHz) + offset.
    let timestampOffset: UInt32
    var packets: UInt32 = 0
    var octets: UInt32 = 0
    var frames: UInt32 = 0
    /// The retransmission stream (RFC 4588), when the viewer negotiated RTX; without it nothing is resent.
    var rtx: RTPHeaderTemplate?
    var rtxSequenceNumber = UInt16.random(in: 0...UInt16.max)
    /// Frames waiting for the pacer and the one being sent.
    var queue = VideoSendQueue()
    /// The frames sent lately, to rebuild NACKed packets from (see `VP8Packetizer.writePacket`).
    var history = CircularBuffer<SentFrame>(initialCapacity: VideoSender.historyFrames)
    /// Retransmissions allowed now, a token bucket (see `refillRetransmissionBudget`).
    var retransmissionBudget = 2 * VideoSender.minimumRetransmissionsPerSecond
    /// Video packets sent when the budget was last refilled.
    var packetsAtRefill: UInt32 = 0
    /// The last packets retransmitted and when (µs), so a NACK repeated before the repair could arrive is not
    /// answered twice; a fixed ring.
    var recentRetransmissions = [(sequenceNumber: UInt16, at: Int64)](repeating: (0, Int64.min), count: 64)
    var recentRetransmissionIndex = 0

    /// About 2 s of video at 30 fps.
    static let historyFrames = 64
    static let minimumRetransmissionsPerSecond = 30
    /// A packet is sent again at most once in this span: NACKs repeated on every arriving packet are answered once,
    /// but a receiver's retry after its round-trip guess (libwebrtc assumes 100 ms when, as a receive-only peer, it
    /// cannot measure one) gets a second repair in time.
    static let retransmissionSpacing: Int64 = 50_000

    /// Once a second: the bucket gains as many packets as were sent in the last second (at least
    /// `minimumRetransmissionsPerSecond`) and holds at most two seconds' worth. A burst of loss (a receiver that
    /// stalled for a moment, a run of NACKs repeated while this loop was busy) is repaired at once, while over time
    /// repairs cannot more than double what a lossy viewer is sent.
    mutating func refillRetransmissionBudget() {
        let sent = Int(packets &- packetsAtRefill)
        packetsAtRefill = packets
        let capacity = 2 * max(Self.minimumRetransmissionsPerSecond, sent)
        retransmissionBudget = min(capacity, retransmissionBudget + max(Self.minimumRetransmissionsPerSecond, sent))
    }

    /// Whether the packet may be sent again now; notes it when so.
    mutating func mayRetransmit(_ sequenceNumber: UInt16, at now: Int64) -> Bool {
        for entry in recentRetransmissions where entry.sequenceNumber == sequenceNumber && now - entry.at < Self.retransmissionSpacing {
            return false
        }
        recentRetransmissions[recentRetransmissionIndex] = (sequenceNumber, now)
        recentRetransmissionIndex = (recentRetransmissionIndex + 1) % recentRetransmissions.count
        return true
    }

    struct SentFrame {
        let data: ByteBuffer
        let timestamp: UInt32
        let pictureID: UInt16
        let firstSequenceNumber: UInt16
        let packetCount: Int
    }

    mutating func remember(_ frame: SentFrame) {
        if history.count == Self.historyFrames { history.removeFirst() }
        history.append(frame)
    }

    /// The frame and packet index a sequence number belongs to, if it is still in the history.
    func locate(_ sequenceNumber: UInt16) -> (SentFrame, Int)? {
        for frame in history.reversed() {
            let index = Int(sequenceNumber &- frame.firstSequenceNumber)
            if index < frame.packetCount { return (frame, index) }
        }
        return nil
    }
}

/// RTP state of the Opus stream sent to one viewer.
struct AudioSender {
    let ssrc: UInt32
    let payloadType: UInt8
    var packetizer: OpusPacketizer
    let timestampOffset: UInt32
    var packets: UInt32 = 0
    var octets: UInt32 = 0
    var frames: UInt32 = 0
}

/// Padding that raises what one viewer is sent to a probe's bitrate: retransmissions (RTX) of the latest frame's
/// packets, paced out in small steps.
struct ProbePadding {
    let until: NIODeadline
    /// Bits per second on top of the media.
    let bitrate: Int
    var lastSentAt: NIODeadline
    var creditBytes = 0.0
    var cursor = 0
}

/// A token bucket on the RTCP datagrams one viewer may have processed (each costs an SRTCP check and a parse): a
/// browser sends a few dozen a second (receiver reports, transport-cc every 50–100 ms, NACKs under loss); a flood
/// beyond `rate` is dropped before decryption.
struct RTCPAllowance {
    static let rate = 300.0
    static let burst = 300.0
    private var tokens = RTCPAllowance.burst
    private var updated: Int64?

    /// Takes one datagram's token at `now` (µs); false when none is left.
    mutating func take(at now: Int64) -> Bool {
        if let updated { tokens = min(Self.burst, tokens + Double(max(0, now - updated)) * Self.rate / 1_000_000) }
        updated = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}

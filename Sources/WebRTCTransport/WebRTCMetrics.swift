import Metrics

/// Metric handles of the egress, made once so the media path does not look them up.
struct WebRTCMetrics {
    let viewers: Gauge
    let sessionsCreated: Counter
    /// Media moved to another address of a viewer (it proved the new one).
    let addressChanges: Counter
    let videoPackets: Counter
    let audioPackets: Counter
    let bytesSent: Counter
    let pliReceived: Counter
    /// PLI/FIR beyond one a second from one viewer: counted, not passed on to the encoder.
    let keyframeRequestsLimited: Counter
    let firReceived: Counter
    let nackReceived: Counter
    let retransmissions: Counter
    let retransmissionsMissed: Counter
    let retransmissionsRefused: Counter
    /// NACKed packets of a viewer without RTX: never resent (see `EgressShard.retransmit`).
    let retransmissionsWithoutRTX: Counter
    let retransmissionsRepeated: Counter
    let rtcpReceived: Counter
    let handshakeFailures: Counter
    let transportFeedbackReceived: Counter
    let paddingPackets: Counter
    let switchesUp: Counter
    let switchesDown: Counter
    let probesStarted: Counter
    let probesSucceeded: Counter
    let probesFailed: Counter
    let sendSocketFull: Counter
    let sendFailed: Counter
    /// Video packets that waited for their viewer's pacer (sent after the frame they belong to arrived).
    let pacedPackets: Counter
    /// Video frames dropped after waiting for the pacer past `WebRTCSettings.maximumPacingDelay`.
    let pacedFramesDropped: Counter
    /// Bandwidth estimates, one sample per viewer per second.
    let estimates: Recorder
    /// From the WHEP offer to the first video packet sent.
    let joinTime: Timer
    private var viewersByLayer: [String: Gauge] = [:]
    private let closedByReason: [SessionCloseReason: Counter]
    private let droppedByReason: [DroppedDatagram: Counter]
    private let refusedByReason: [String: Counter]

    init() {
        viewers = Gauge(label: "liverelay_webrtc_viewers")
        sessionsCreated = Counter(label: "liverelay_webrtc_sessions_created_total")
        addressChanges = Counter(label: "liverelay_webrtc_address_changes_total")
        videoPackets = Counter(label: "liverelay_webrtc_packets_sent_total", dimensions: [("kind", "video")])
        audioPackets = Counter(label: "liverelay_webrtc_packets_sent_total", dimensions: [("kind", "audio")])
        bytesSent = Counter(label: "liverelay_webrtc_bytes_sent_total")
        pliReceived = Counter(label: "liverelay_webrtc_feedback_received_total", dimensions: [("type", "pli")])
        keyframeRequestsLimited = Counter(label: "liverelay_webrtc_keyframe_requests_limited_total")
        firReceived = Counter(label: "liverelay_webrtc_feedback_received_total", dimensions: [("type", "fir")])
        nackReceived = Counter(label: "liverelay_webrtc_feedback_received_total", dimensions: [("type", "nack")])
        retransmissions = Counter(label: "liverelay_webrtc_retransmissions_total", dimensions: [("result", "sent")])
        retransmissionsMissed = Counter(label: "liverelay_webrtc_retransmissions_total", dimensions: [("result", "not_in_history")])
        retransmissionsRefused = Counter(label: "liverelay_webrtc_retransmissions_total", dimensions: [("result", "over_budget")])
        retransmissionsWithoutRTX = Counter(label: "liverelay_webrtc_retransmissions_total", dimensions: [("result", "no_rtx")])
        retransmissionsRepeated = Counter(label: "liverelay_webrtc_retransmissions_total", dimensions: [("result", "repeated")])
        rtcpReceived = Counter(label: "liverelay_webrtc_rtcp_packets_received_total")
        handshakeFailures = Counter(label: "liverelay_webrtc_dtls_failures_total")
        transportFeedbackReceived = Counter(label: "liverelay_webrtc_feedback_received_total", dimensions: [("type", "transport_cc")])
        paddingPackets = Counter(label: "liverelay_webrtc_packets_sent_total", dimensions: [("kind", "padding")])
        switchesUp = Counter(label: "liverelay_webrtc_layer_switches_total", dimensions: [("direction", "up")])
        switchesDown = Counter(label: "liverelay_webrtc_layer_switches_total", dimensions: [("direction", "down")])
        probesStarted = Counter(label: "liverelay_webrtc_probes_total", dimensions: [("result", "started")])
        probesSucceeded = Counter(label: "liverelay_webrtc_probes_total", dimensions: [("result", "succeeded")])
        probesFailed = Counter(label: "liverelay_webrtc_probes_total", dimensions: [("result", "failed")])
        sendSocketFull = Counter(label: "liverelay_webrtc_send_failures_total", dimensions: [("reason", "socket_full")])
        sendFailed = Counter(label: "liverelay_webrtc_send_failures_total", dimensions: [("reason", "error")])
        pacedPackets = Counter(label: "liverelay_webrtc_paced_packets_total")
        pacedFramesDropped = Counter(label: "liverelay_webrtc_paced_frames_dropped_total")
        estimates = Recorder(label: "liverelay_webrtc_bandwidth_estimate_bps", aggregate: true)
        joinTime = Timer(label: "liverelay_webrtc_join_seconds", preferredDisplayUnit: .seconds)
        var closed: [SessionCloseReason: Counter] = [:]
        for reason in SessionCloseReason.allCases {
            closed[reason] = Counter(label: "liverelay_webrtc_sessions_closed_total", dimensions: [("reason", reason.rawValue)])
        }
        closedByReason = closed
        var dropped: [DroppedDatagram: Counter] = [:]
        for reason in DroppedDatagram.allCases {
            dropped[reason] = Counter(label: "liverelay_webrtc_datagrams_dropped_total", dimensions: [("reason", reason.rawValue)])
        }
        droppedByReason = dropped
        var refused: [String: Counter] = [:]
        for reason in ["bad_offer", "unsupported_offer", "capacity"] {
            refused[reason] = Counter(label: "liverelay_webrtc_offers_refused_total", dimensions: [("reason", reason)])
        }
        refusedByReason = refused
    }

    func closed(_ reason: SessionCloseReason) { closedByReason[reason]?.increment() }

    /// Media datagrams the kernel did not take: its socket buffer was full, or it refused one.
    func sendFailures(socketFull: Int = 0, other: Int = 0) {
        if socketFull > 0 { sendSocketFull.increment(by: socketFull) }
        if other > 0 { sendFailed.increment(by: other) }
    }

    /// The gauge of viewers on one rung, made the first time the rung is seen.
    mutating func viewers(onLayer rung: String) -> Gauge {
        if let gauge = viewersByLayer[rung] { return gauge }
        let gauge = Gauge(label: "liverelay_webrtc_viewers_by_layer", dimensions: [("layer", rung)])
        viewersByLayer[rung] = gauge
        return gauge
    }
    /// Drops by reason, also kept here so the operations API and tests can read them without a metrics backend.
    private(set) var droppedCounts: [DroppedDatagram: Int] = [:]

    mutating func dropped(_ reason: DroppedDatagram) {
        droppedByReason[reason]?.increment()
        droppedCounts[reason, default: 0] += 1
    }
    func refused(_ reason: String) { refusedByReason[reason]?.increment() }
}

/// Why a viewer session ended.
public enum SessionCloseReason: String, Sendable, CaseIterable {
    case deleted
    case consentExpired = "consent_expired"
    case neverConnected = "never_connected"
    case dtlsFailed = "dtls_failed"
    case peerClosed = "peer_closed"
    case streamEnded = "stream_ended"
    /// On the bottom rung and still far above what its path carries (`WebRTCSettings.slowViewerTimeout`).
    case tooSlow = "too_slow"
    case shutdown
}

/// Why an incoming datagram was dropped, counted per reason.
enum DroppedDatagram: String, Sendable, CaseIterable {
    case unknownClass = "unknown_class"
    case malformedSTUN = "malformed_stun"
    case unknownUsername = "unknown_username"
    case badIntegrity = "bad_integrity"
    case unexpectedSTUN = "unexpected_stun"
    case unknownPeer = "unknown_peer"
    case srtcpRejected = "srtcp_rejected"
    case malformedRTCP = "malformed_rtcp"
    case unexpectedRTP = "unexpected_rtp"
    /// A check from an address another session holds (one session cannot take over another's address).
    case addressTaken = "address_taken"
    /// A binding request whose transaction ID was seen before from another address.
    case replayedSTUN = "replayed_stun"
    /// A check refused because too many addresses of the session await proof.
    case proofsPending = "proofs_pending"
    /// RTCP beyond a viewer's allowance (`RTCPAllowance`).
    case rtcpRateLimited = "rtcp_rate_limited"
    /// DTLS or RTCP from an address that has not answered the server's check.
    case unprovenAddress = "unproven_address"
    /// A DTLS ClientHello without a valid cookie: answered with a HelloVerifyRequest, nothing kept.
    case dtlsCookieless = "dtls_cookieless"
}

/// What a forwarded packet was, for `liverelay_webrtc_packets_sent_total{kind}`.
enum SentPacketKind {
    case video
    case audio
    case retransmission
    case padding
}

/// Packets and bytes queued since the last flush, counted in plain integers and handed to the metrics once per
/// flush rather than once per packet.
struct SentPacketTally {
    private var video = 0
    private var audio = 0
    private var retransmissions = 0
    private var padding = 0
    private var bytes = 0

    mutating func count(_ kind: SentPacketKind, bytes size: Int) {
        switch kind {
        case .video: video += 1
        case .audio: audio += 1
        case .retransmission: retransmissions += 1
        case .padding: padding += 1
        }
        bytes += size
    }

    mutating func publish(to metrics: WebRTCMetrics) {
        guard bytes > 0 else { return }
        if video > 0 { metrics.videoPackets.increment(by: video) }
        if audio > 0 { metrics.audioPackets.increment(by: audio) }
        if retransmissions > 0 { metrics.retransmissions.increment(by: retransmissions) }
        if padding > 0 { metrics.paddingPackets.increment(by: padding) }
        metrics.bytesSent.increment(by: bytes)
        self = SentPacketTally()
    }
}

/// How the load generator receives: `decrypt` unprotects every SRTP packet (and reads VP8 keyframe sizes),
/// `count` only counts datagrams and reads the clear RTP header, for fan-out runs where the load generator's
/// own CPU would otherwise be the limit.
enum ReceiveMode: String, CaseIterable, Sendable, Codable {
    case decrypt
    case count
}

/// Which congestion feedback each viewer sends besides its receiver reports.
enum FeedbackMode: String, CaseIterable, Sendable, Codable {
    case remb
    case transportCC = "transport-cc"
    case none
}

/// Why a viewer did not get to receive media; `key` is what the report counts.
enum ViewerFailure: Sendable, Hashable {
    case socket
    case httpTransport
    case httpStatus(Int)
    case badAnswer
    case noCandidate
    case iceTimeout
    case iceRejected
    case dtlsFailure
    case dtlsTimeout

    var key: String {
        switch self {
        case .socket: "socket"
        case .httpTransport: "http_error"
        case .httpStatus(let status): "http_\(status)"
        case .badAnswer: "bad_answer"
        case .noCandidate: "no_candidate"
        case .iceTimeout: "ice_timeout"
        case .iceRejected: "ice_error"
        case .dtlsFailure: "dtls_failure"
        case .dtlsTimeout: "dtls_timeout"
        }
    }
}

/// Where a viewer's connection setup ended.
enum ViewerConnectOutcome: Sendable {
    case connected
    case failed(ViewerFailure, detail: String)
}

/// One viewer's counters at one moment, copied off its event loop.
struct ViewerSnapshot: Sendable {
    var connected = false
    /// From the WHEP POST to its answer.
    var answerMilliseconds: Double?
    /// From the WHEP POST to the success response of the nominating check.
    var iceMilliseconds: Double?
    /// From the WHEP POST to the DTLS handshake's completion.
    var connectMilliseconds: Double?
    /// From the WHEP POST to the first video packet.
    var joinMilliseconds: Double?
    var datagrams = 0
    var bytes = 0
    var videoPackets = 0
    var rtxPackets = 0
    var audioPackets = 0
    var otherPackets = 0
    var rtcpPackets = 0
    var srtpFailures = 0
    var videoExpected: Int64 = 0
    var videoLost: Int64 = 0
    var keyframes = 0
    /// The size the latest keyframe announced (decrypt mode).
    var resolution: VP8KeyframeHeader?
    /// Over the last second.
    var currentBitsPerSecond = 0
    /// Since the first media datagram.
    var receivingSeconds: Double = 0
    var consentExpired = false
    /// The server closed DTLS (close_notify or alert) while the session was up.
    var closedByServer = false
    var feedbackSent = 0
    var feedbackRecordsDropped = 0

    /// Bytes per second since the first media datagram.
    var averageBitsPerSecond: Double {
        receivingSeconds > 0 ? Double(bytes) * 8 / receivingSeconds : 0
    }
}

/// The RTCP feedback LiveRelay acts on as a sender: retransmission on NACK, key frames on PLI/FIR,
/// bandwidth estimates from REMB or transport-wide feedback.
public enum RTCPFeedback: String, Equatable, Hashable, Sendable, CaseIterable {
    case nack
    case pli
    case fir
    case remb
    case transportCC

    /// The `a=rtcp-fb` value, in the order the answer writes them.
    public var sdpValue: String {
        switch self {
        case .nack: "nack"
        case .pli: "nack pli"
        case .fir: "ccm fir"
        case .remb: "goog-remb"
        case .transportCC: "transport-cc"
        }
    }
}

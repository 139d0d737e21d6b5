/// RTCP packet type codes (RFC 3550 §12.1, RFC 4585 §6.1).
public enum RTCPPacketType {
    public static let senderReport: UInt8 = 200
    public static let receiverReport: UInt8 = 201
    public static let sourceDescription: UInt8 = 202
    public static let goodbye: UInt8 = 203
    public static let applicationDefined: UInt8 = 204
    /// RTPFB: NACK (FMT 1), transport-cc (FMT 15).
    public static let transportLayerFeedback: UInt8 = 205
    /// PSFB: PLI (FMT 1), FIR (FMT 4), application layer feedback such as REMB (FMT 15).
    public static let payloadSpecificFeedback: UInt8 = 206
}

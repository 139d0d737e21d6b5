/// One FIR entry (RFC 5104 §4.3.1.1): the source asked for a key frame and the request's
/// sequence number, which lets the sender ignore a retransmitted request it already served.
public struct RTCPFIREntry: Sendable, Hashable {
    public var ssrc: UInt32
    public var sequenceNumber: UInt8

    public init(ssrc: UInt32, sequenceNumber: UInt8) {
        self.ssrc = ssrc
        self.sequenceNumber = sequenceNumber
    }
}

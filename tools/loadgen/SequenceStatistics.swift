import RTP

/// Reception bookkeeping for one SSRC (RFC 3550 §A.1, §A.3): extended highest sequence number, packets
/// received, and the interval counters a receiver report's fraction lost is computed from. Counters only,
/// so memory does not grow with the session.
struct SequenceStatistics {
    private(set) var received: Int64 = 0
    private var base: Int64 = 0
    /// Extended (cycles × 65536 + sequence number); -1 before the first packet.
    private var highest: Int64 = -1
    private var expectedAtLastReport: Int64 = 0
    private var receivedAtLastReport: Int64 = 0

    var hasPackets: Bool { highest >= 0 }
    var expected: Int64 { highest < 0 ? 0 : highest - base + 1 }
    /// Duplicates can make received exceed expected; that is no negative loss for the final figure.
    var lost: Int64 { max(0, expected - received) }

    mutating func record(_ sequenceNumber: UInt16) {
        received += 1
        guard highest >= 0 else {
            base = Int64(sequenceNumber)
            highest = Int64(sequenceNumber)
            return
        }
        let delta = Int64(Int16(bitPattern: sequenceNumber &- UInt16(truncatingIfNeeded: highest)))
        let extended = highest + delta
        if delta > 0 { highest = extended }
        if extended < base { base = extended }   // reordered ahead of the first packet seen
    }

    /// The report block for this source, and the start of the next report interval.
    mutating func reportBlock(ssrc: UInt32) -> RTCPReceptionReport {
        let expectedInterval = expected - expectedAtLastReport
        let lostInterval = expectedInterval - (received - receivedAtLastReport)
        expectedAtLastReport = expected
        receivedAtLastReport = received
        let fraction = expectedInterval <= 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
        return RTCPReceptionReport(ssrc: ssrc, fractionLost: fraction,
                                   cumulativeLost: Int32((expected - received).clamped(to: -0x80_0000...0x7F_FFFF)),
                                   highestSequenceNumber: UInt32(truncatingIfNeeded: max(highest, 0)), jitter: 0)
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}

/// Loss over windows long enough to mean something, from a receiver's cumulative counters.
///
/// A receiver report's own `fraction lost` covers the interval since that receiver's last report. Chromium sends
/// one with every transport-cc feedback, several a second, so an interval may hold ten packets and a single
/// random loss reads as 10 %, two as 20 %: a loss-based controller fed those figures sees congestion in 5 % random
/// loss. Here loss is the change in cumulative lost over the change in the extended highest sequence number,
/// taken once at least `minimumInterval` and `minimumPackets` have gone by (RFC 3550 §6.4.1 computes it the same
/// way, over the report interval). Half a second and 30 packets: a receiver reporting once a second (aiortc)
/// closes a window with every report, and 5 % random loss reads above 20 % in about one window in 3,000.
public struct LossWindow: Sendable {
    public var minimumInterval: Int64
    public var minimumPackets: Int64
    private var start: (highest: Int64, lost: Int64, at: Int64)?

    public init(minimumInterval: Int64 = 500_000, minimumPackets: Int64 = 30) {
        self.minimumInterval = minimumInterval
        self.minimumPackets = minimumPackets
    }

    /// One report's counters for the stream; returns the fraction lost (×256, as RTCP writes it) when a window
    /// closes, else nil. A receiver that restarted its counters (highest went backwards) starts a new window.
    public mutating func report(highestSequenceNumber: UInt32, cumulativeLost: Int32, at now: Int64) -> UInt8? {
        let highest = Int64(highestSequenceNumber)
        let lost = Int64(cumulativeLost)
        guard let start, highest >= start.highest else {
            self.start = (highest, lost, now)
            return nil
        }
        let expected = highest - start.highest
        guard now - start.at >= minimumInterval, expected >= minimumPackets else { return nil }
        self.start = (highest, lost, now)
        // Duplicates can make cumulative loss fall: that interval lost nothing.
        let lostInWindow = min(max(lost - start.lost, 0), expected)
        return UInt8(min(lostInWindow * 256 / expected, 255))
    }
}

/// What was sent under each transport-wide sequence number (send time, size, whether it was a probe), so transport-cc
/// feedback can be turned into delays. A fixed ring indexed by the sequence number: recording never allocates, and an
/// entry older than the ring is simply gone (feedback that late is no use to the estimator).
public struct SentPacketLog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var sequenceNumber: UInt16
        /// Microseconds on the sender's monotonic clock.
        public var sendTime: Int64
        public var size: Int
        public var isProbe: Bool
    }

    private var entries: [Entry?]
    private let mask: Int

    /// `capacity` is rounded up to a power of two; 2048 is ~6 s of a 2.5 Mbit/s stream.
    public init(capacity: Int = 2048) {
        var size = 1
        while size < capacity { size <<= 1 }
        entries = Array(repeating: nil, count: size)
        mask = size - 1
    }

    public mutating func record(sequenceNumber: UInt16, sendTime: Int64, size: Int, isProbe: Bool) {
        entries[Int(sequenceNumber) & mask] = Entry(sequenceNumber: sequenceNumber, sendTime: sendTime, size: size, isProbe: isProbe)
    }

    public func entry(_ sequenceNumber: UInt16) -> Entry? {
        guard let entry = entries[Int(sequenceNumber) & mask], entry.sequenceNumber == sequenceNumber else { return nil }
        return entry
    }
}

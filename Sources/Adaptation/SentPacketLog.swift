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

    /// Packed to 16 bytes a packet (the public `Entry` is 32 as an optional): a viewer's log is 16 KB, not 64.
    private struct Slot {
        var sendTime: Int64 = 0
        var size: UInt16 = 0
        var sequenceNumber: UInt16 = 0
        var isProbe = false
        var used = false
    }

    private var slots: [Slot]
    private let mask: Int

    /// `capacity` is rounded up to a power of two; 1024 is ~4 s of a 2.5 Mbit/s stream (feedback comes within
    /// a few hundred milliseconds).
    public init(capacity: Int = 1024) {
        var size = 1
        while size < capacity { size <<= 1 }
        slots = Array(repeating: Slot(), count: size)
        mask = size - 1
    }

    public mutating func record(sequenceNumber: UInt16, sendTime: Int64, size: Int, isProbe: Bool) {
        slots[Int(sequenceNumber) & mask] = Slot(sendTime: sendTime, size: UInt16(clamping: size),
                                                 sequenceNumber: sequenceNumber, isProbe: isProbe, used: true)
    }

    public func entry(_ sequenceNumber: UInt16) -> Entry? {
        let slot = slots[Int(sequenceNumber) & mask]
        guard slot.used, slot.sequenceNumber == sequenceNumber else { return nil }
        return Entry(sequenceNumber: sequenceNumber, sendTime: slot.sendTime, size: Int(slot.size), isProbe: slot.isProbe)
    }
}

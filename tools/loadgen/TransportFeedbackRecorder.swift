import RTP

/// Arrival times by transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01),
/// turned into one `RTCPTransportFeedback` per flush. Bounded: at most `maximumPending` arrivals wait between
/// flushes and one feedback covers at most `maximumSpan` sequence numbers; what falls outside is counted.
struct TransportFeedbackRecorder {
    static let maximumPending = 2048
    static let maximumSpan: Int64 = 1024

    private var pending: [(sequence: Int64, arrival: Int64)] = []
    /// Highest extended sequence number seen, to unwrap the 16-bit field.
    private var highest: Int64?
    /// First sequence number the next feedback reports; earlier ones were already reported (received or lost).
    private var nextBase: Int64?
    private var feedbackCount: UInt8 = 0
    private(set) var overflowed = 0
    private(set) var arrivedAfterReport = 0

    init() {
        pending.reserveCapacity(256)
    }

    /// `arrivalMicroseconds` on the viewer's own monotonic clock, starting near zero.
    mutating func record(sequenceNumber: UInt16, arrivalMicroseconds: Int64) {
        let extended: Int64
        if let highest {
            extended = highest + Int64(Int16(bitPattern: sequenceNumber &- UInt16(truncatingIfNeeded: highest)))
            self.highest = max(highest, extended)
        } else {
            extended = Int64(sequenceNumber)
            highest = extended
        }
        if let nextBase, extended < nextBase {
            arrivedAfterReport += 1
            return
        }
        guard pending.count < Self.maximumPending else {
            overflowed += 1
            return
        }
        pending.append((extended, arrivalMicroseconds))
    }

    /// Everything recorded since the last call, or nil when nothing arrived.
    mutating func makeFeedback(senderSSRC: UInt32, mediaSSRC: UInt32) -> RTCPTransportFeedback? {
        guard !pending.isEmpty else { return nil }
        pending.sort { $0.sequence < $1.sequence }
        let last = pending[pending.count - 1].sequence
        var base = min(nextBase ?? pending[0].sequence, pending[0].sequence)
        if last - base + 1 > Self.maximumSpan { base = last - Self.maximumSpan + 1 }
        let firstArrival = pending.first { $0.sequence >= base }?.arrival ?? 0
        // 24-bit reference time in 64 ms units; the first delta is measured from it.
        let referenceTime = firstArrival / 64_000
        var previous = referenceTime * 64_000
        var deltas: [Int?] = []
        deltas.reserveCapacity(Int(last - base + 1))
        var index = pending.firstIndex { $0.sequence >= base } ?? pending.count
        for sequence in base...last {
            if index < pending.count, pending[index].sequence == sequence {
                // On the 250 µs grid the feedback carries, so the sender's running sum of deltas does not drift.
                let arrival = pending[index].arrival / 250 * 250
                deltas.append(Int(arrival - previous))
                previous = arrival
                while index < pending.count, pending[index].sequence == sequence { index += 1 }   // duplicates
            } else {
                deltas.append(nil)
            }
        }
        pending.removeAll(keepingCapacity: true)
        nextBase = last + 1
        defer { feedbackCount &+= 1 }
        return RTCPTransportFeedback(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC,
                                     baseSequenceNumber: UInt16(truncatingIfNeeded: base),
                                     referenceTime: Int32(truncatingIfNeeded: referenceTime & 0x7F_FFFF),
                                     feedbackPacketCount: feedbackCount, receiveDeltas: deltas)
    }
}

/// Bytes received over the last second, in ten 100 ms slots advanced by the viewer's tick: what the REMB
/// figure and the live summary are computed from, in constant memory.
struct ReceiveRateMeter {
    static let slots = 10
    static let slotMilliseconds = 100
    /// One more than `slots`: the slot being filled is not part of the figure until it is complete.
    private var bytes = [Int](repeating: 0, count: slots + 1)
    private var current = 0
    /// Completed slots since the first byte, up to `slots`: the figure is only a full second's once this is full.
    private(set) var completedSlots = 0
    private var started = false

    mutating func add(_ count: Int) {
        bytes[current] += count
        started = true
    }

    /// Closes the current slot; call every `slotMilliseconds`.
    mutating func advance() {
        guard started else { return }
        current = (current + 1) % bytes.count
        bytes[current] = 0
        completedSlots = min(completedSlots + 1, Self.slots)
    }

    var coversFullSecond: Bool { completedSlots == Self.slots }

    /// Over the completed slots, scaled to one second.
    var bitsPerSecond: Int {
        guard completedSlots > 0 else { return 0 }
        var total = 0
        for (index, count) in bytes.enumerated() where index != current { total += count }
        return total * 8 * 1000 / (completedSlots * Self.slotMilliseconds)
    }
}

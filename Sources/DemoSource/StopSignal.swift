import Foundation

/// Tells the demo's media thread to stop, and lets it sleep until a deadline unless told to stop first — so
/// shutdown never waits out a frame interval or a retry back-off.
final class StopSignal: @unchecked Sendable {
    // @unchecked: `requested` is read and written only while holding `condition`'s lock.
    private let condition = NSCondition()
    private var requested = false

    var isRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return requested
    }

    func request() {
        condition.lock()
        requested = true
        condition.broadcast()
        condition.unlock()
    }

    /// Sleeps until `deadline` or until a stop is requested; returns whether a stop was requested.
    @discardableResult
    func wait(until deadline: ContinuousClock.Instant) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !requested {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) * 1e-18
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
        }
        return requested
    }

    @discardableResult
    func wait(for duration: Duration) -> Bool {
        wait(until: ContinuousClock.now.advanced(by: duration))
    }
}

/// Coalesces keyframe requests: viewers' PLIs and FIRs for one layer arrive in bursts (every viewer that lost the
/// same packet asks), and each honoured request costs a keyframe's worth of bits. At most one request per rung per
/// `interval` goes through; the rest are already answered by that keyframe.
struct KeyframeRequestLimiter {
    let interval: Duration
    private var lastGranted: [String: ContinuousClock.Instant] = [:]

    init(interval: Duration) {
        self.interval = interval
    }

    mutating func admit(rung: String, now: ContinuousClock.Instant = .now) -> Bool {
        if let last = lastGranted[rung], now - last < interval { return false }
        lastGranted[rung] = now
        return true
    }
}

/// Chooses one viewer's rung from its bandwidth estimate, with hysteresis: down fast, up only after sustained
/// headroom, and probing for headroom before an upgrade the estimate cannot yet justify.
///
/// Rungs are indexed best first (0 = the top of the ladder); `rates` are what each rung costs now (its measured
/// video rate plus audio, bits per second), so a quiet scene asks for less than the encoder's nominal target.
public struct LayerSelector: Sendable {
    public struct Settings: Sendable {
        /// Below `downFactor` × the current rung's rate for `downHold` µs: move down (an over-use cut of a path
        /// that delivers the rung is 0.85 × it, which must not move the viewer). Below `panicFactor` ×: at once.
        public var downFactor = 0.7
        public var panicFactor = 0.5
        public var downHold: Int64 = 400_000
        /// A rung (the first one too) is kept this long before a move down that is not a panic: the first seconds
        /// of a session, and of a switch, carry a keyframe and a busy receiver, not news about the path.
        public var minimumLayerHold: Int64 = 2_000_000
        /// Up when the estimate covers `upFactor` × the next rung's rate for `upHold` µs, and not sooner than
        /// `holdAfterDowngrade` µs after a move down.
        public var upFactor = 1.15
        public var upHold: Int64 = 1_000_000
        public var holdAfterDowngrade: Int64 = 4_000_000
        /// A probe pads to `probeFactor` × the next rung's rate for `probeDuration` µs. After a failed probe the
        /// next waits twice as long as the last, from `probeInterval` up to `maximumProbeInterval`.
        public var probeFactor = 1.25
        public var probeDuration: Int64 = 1_000_000
        public var probeInterval: Int64 = 2_000_000
        public var maximumProbeInterval: Int64 = 6_000_000

        public init() {}
    }

    public enum Decision: Sendable, Equatable {
        case stay
        case switchTo(Int)
        /// Pad the stream up to this many bits per second to see if the path carries the next rung.
        case probe(bitrate: Int)
    }

    public let settings: Settings
    private var belowSince: Int64?
    private var aboveSince: Int64?
    private var lastDowngrade: Int64?
    private var nextProbeAt: Int64?
    private var probeInterval: Int64
    private var probing = false
    private var layer: Int?
    private var layerSince: Int64 = 0

    public init(settings: Settings = Settings()) {
        self.settings = settings
        self.probeInterval = settings.probeInterval
    }

    /// `current`: the rung the viewer is on (or switching to); `best`: the best rung it may have (its cap).
    public mutating func decide(estimate: Int?, rates: [Int], current: Int, best: Int, now: Int64) -> Decision {
        guard !rates.isEmpty, rates.indices.contains(current) else { return .stay }
        let best = min(max(best, 0), rates.count - 1)
        if layer != current {
            layer = current
            layerSince = now
        }
        if current < best { return .switchTo(best) }  // above its cap (the cap changed)
        guard let estimate else { return .stay }
        let bandwidth = Double(estimate)

        // Down.
        if current < rates.count - 1, bandwidth < settings.downFactor * Double(rates[current]) {
            let since = belowSince ?? now
            belowSince = since
            aboveSince = nil
            let panic = bandwidth < settings.panicFactor * Double(rates[current])
            if panic || (now - since >= settings.downHold && now - layerSince >= settings.minimumLayerHold) {
                belowSince = nil
                lastDowngrade = now
                nextProbeAt = now + settings.holdAfterDowngrade / 2
                // The best rung that fits; the bottom one if none does (audio goes on regardless).
                let target = (current + 1..<rates.count).first { Double(rates[$0]) <= bandwidth } ?? rates.count - 1
                return .switchTo(target)
            }
            return .stay
        }
        belowSince = nil

        // Up.
        guard current > best else {
            aboveSince = nil
            return .stay
        }
        let fits = (best..<current).first { bandwidth >= settings.upFactor * Double(rates[$0]) }
        if let target = fits {
            let since = aboveSince ?? now
            aboveSince = since
            let settled = lastDowngrade.map { now - $0 >= settings.holdAfterDowngrade } ?? true
            if now - since >= settings.upHold, settled {
                aboveSince = nil
                return .switchTo(target)
            }
            return .stay
        }
        aboveSince = nil
        guard !probing, now >= (nextProbeAt ?? now) else { return .stay }
        probing = true
        return .probe(bitrate: Int(settings.probeFactor * Double(rates[current - 1])))
    }

    /// A probe's verdict: after success the move up follows at once and the next probe (for the rung above) may
    /// follow soon; after failure the wait doubles.
    public mutating func probeFinished(succeeded: Bool, now: Int64) {
        probing = false
        if succeeded {
            probeInterval = settings.probeInterval
            nextProbeAt = now
            // The probe was the sustained headroom (a second of padding and its feedback): the hold is served, so
            // the move up waits for nothing but the rung's keyframe.
            aboveSince = now - settings.upHold
        } else {
            probeInterval = min(probeInterval * 2, settings.maximumProbeInterval)
            nextProbeAt = now + probeInterval
        }
    }

    /// Forget timers (the viewer was pinned, or the ladder changed).
    public mutating func reset() {
        belowSince = nil
        aboveSince = nil
        probing = false
    }
}

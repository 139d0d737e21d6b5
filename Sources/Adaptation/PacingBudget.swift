/// How many bytes one viewer may be sent now: a token bucket that fills at the pacing rate and holds a short burst.
///
/// A frame leaves the server as fast as the bucket allows, not back to back: a keyframe several times the size of
/// a delta frame would otherwise arrive at the viewer's bottleneck as one burst and overflow a shallow queue
/// there (a home router, a cell's scheduler, `tc tbf` in the tests). The bucket may go one packet into debt, so a
/// packet is never split or held for the last few bytes.
public struct PacingBudget: Sendable {
    /// Bits per second the bucket fills at.
    public private(set) var bitrate: Int
    /// Bytes that may be sent now; below zero after a packet larger than what was left.
    public private(set) var tokens: Int
    /// How much of the rate the bucket holds when nothing is sent, in µs.
    public let burstMicroseconds: Int64
    /// The bucket holds at least this many bytes, so a slow viewer's bucket still takes a whole packet or two.
    public let minimumCapacity: Int
    private var refilledAt: Int64

    public init(bitrate: Int, burstMicroseconds: Int64, minimumCapacity: Int, now: Int64) {
        precondition(burstMicroseconds > 0 && minimumCapacity > 0)
        self.bitrate = max(bitrate, 1)
        self.burstMicroseconds = burstMicroseconds
        self.minimumCapacity = minimumCapacity
        self.refilledAt = now
        self.tokens = 0
        self.tokens = capacity
    }

    /// Bytes the bucket holds when full.
    public var capacity: Int { max(minimumCapacity, Int(Int64(bitrate) * burstMicroseconds / 8_000_000)) }

    /// Whether a packet may go now.
    public var allowsSending: Bool { tokens > 0 }

    /// Adds what the rate earned since the last refill, up to `capacity`.
    public mutating func refill(at now: Int64) {
        // Ten seconds fill any bucket (and keep the product below Int64's range at any rate).
        let elapsed = min(now - refilledAt, 10_000_000)
        guard elapsed > 0 else { return }
        let earned = Int64(bitrate) * elapsed / 8_000_000
        let full = Int64(capacity)
        if Int64(tokens) + earned >= full {
            tokens = capacity
            refilledAt = now
            return
        }
        tokens += Int(earned)
        // Only the time the whole bytes took is used up; the rest counts towards the next refill.
        refilledAt += (earned * 8_000_000 + Int64(bitrate) - 1) / Int64(bitrate)
    }

    /// A packet of `bytes` went out. The debt is bounded by one bucket, whatever is sent past the budget.
    public mutating func spend(_ bytes: Int) {
        tokens = max(tokens - bytes, -capacity)
    }

    /// A new rate from now on (the time before `now` is paid at the old one).
    public mutating func setBitrate(_ bitrate: Int, at now: Int64) {
        refill(at: now)
        refilledAt = now
        self.bitrate = max(bitrate, 1)
        tokens = min(tokens, capacity)
    }
}

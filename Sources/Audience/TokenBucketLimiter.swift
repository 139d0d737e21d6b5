import NIOConcurrencyHelpers

/// A token bucket per key (stream and user): `rate` tokens a second, at most `burst` saved up.
public final class TokenBucketLimiter: Sendable {
    public enum Decision: Equatable, Sendable {
        case allowed
        /// Seconds until one token is available again, rounded up (the `Retry-After` value).
        case limited(retryAfter: Int)
    }

    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public let rate: Double
    public let burst: Double
    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])
    /// Buckets of users who stopped posting are dropped once full again, keeping the table the size of the active set.
    private let pruneThreshold = 10_000

    public init(rate: Double, burst: Int) {
        self.rate = max(rate, 0.000_001)
        self.burst = Double(max(burst, 1))
    }

    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Decision {
        buckets.withLockedValue { buckets in
            if buckets.count > pruneThreshold { prune(&buckets, now: now) }
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + seconds(now - bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .allowed
            }
            return .limited(retryAfter: max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
        }
    }

    private func prune(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in bucket.tokens + seconds(now - bucket.updated) * rate < burst }
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

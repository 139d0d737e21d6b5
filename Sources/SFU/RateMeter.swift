/// Bits per second over a sliding window, kept in a fixed ring of buckets so adding a sample never allocates.
public struct RateMeter: Sendable {
    private var buckets: [Int]
    private let bucketMicroseconds: Int64
    /// Index (time / bucket length) of the newest bucket; nil before the first sample.
    private var newestBucket: Int64?
    private var firstSampleAt: Int64?
    private var total = 0

    public let windowMicroseconds: Int64

    public init(windowMicroseconds: Int64 = 1_000_000, bucketCount: Int = 10) {
        precondition(bucketCount > 0 && windowMicroseconds >= Int64(bucketCount))
        self.windowMicroseconds = windowMicroseconds
        self.bucketMicroseconds = windowMicroseconds / Int64(bucketCount)
        self.buckets = Array(repeating: 0, count: bucketCount)
    }

    public mutating func add(bytes: Int, at now: Int64) {
        advance(to: now)
        if firstSampleAt == nil { firstSampleAt = now }
        let index = Int((now / bucketMicroseconds) % Int64(buckets.count))
        buckets[index] += bytes
        total += bytes
    }

    /// The rate over the window ending now; before a whole window has passed since the first sample, over the time
    /// that has (so a new meter is not read as a collapse). Nil with no samples.
    public mutating func bitsPerSecond(at now: Int64) -> Int? {
        advance(to: now)
        guard let first = firstSampleAt else { return nil }
        let span = min(windowMicroseconds, max(now - first, bucketMicroseconds))
        return Int(Int64(total) * 8 * 1_000_000 / span)
    }

    /// Whether a whole window has passed since the first sample (before that the rate is over a shorter span).
    public func isMature(at now: Int64) -> Bool {
        firstSampleAt.map { now - $0 >= windowMicroseconds } ?? false
    }

    public mutating func reset() {
        for index in buckets.indices { buckets[index] = 0 }
        total = 0
        newestBucket = nil
        firstSampleAt = nil
    }

    private mutating func advance(to now: Int64) {
        let bucket = now / bucketMicroseconds
        guard let newest = newestBucket else {
            newestBucket = bucket
            return
        }
        guard bucket > newest else { return }
        let stale = min(bucket - newest, Int64(buckets.count))
        for step in 1...stale {
            let index = Int((newest + step) % Int64(buckets.count))
            total -= buckets[index]
            buckets[index] = 0
        }
        newestBucket = bucket
    }
}

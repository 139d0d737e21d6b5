/// Bits per second over a sliding window, kept in a fixed ring of buckets so adding a sample never allocates.
public struct RateMeter: Sendable {
    /// The most buckets a meter has. They are stored inline: a viewer's meter is added to for every frame it is
    /// sent, and an array would be a heap object to check for uniqueness on each add.
    public static let maximumBucketCount = 16
    private var buckets = InlineArray<16, Int>(repeating: 0)
    private let bucketCount: Int
    private let bucketMicroseconds: Int64
    /// Index (time / bucket length) of the newest bucket; nil before the first sample.
    private var newestBucket: Int64?
    private var firstSampleAt: Int64?
    private var total = 0

    public let windowMicroseconds: Int64

    public init(windowMicroseconds: Int64 = 1_000_000, bucketCount: Int = 10) {
        precondition((1...Self.maximumBucketCount).contains(bucketCount) && windowMicroseconds >= Int64(bucketCount))
        self.windowMicroseconds = windowMicroseconds
        self.bucketMicroseconds = windowMicroseconds / Int64(bucketCount)
        self.bucketCount = bucketCount
    }

    public mutating func add(bytes: Int, at now: Int64) {
        let bucket = advance(to: now)
        if firstSampleAt == nil { firstSampleAt = now }
        buckets[Int(bucket % Int64(bucketCount))] += bytes
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
        for index in 0..<bucketCount { buckets[index] = 0 }
        total = 0
        newestBucket = nil
        firstSampleAt = nil
    }

    /// Clears the buckets that fell out of the window; returns `now`'s bucket number.
    @discardableResult
    private mutating func advance(to now: Int64) -> Int64 {
        let bucket = now / bucketMicroseconds
        guard let newest = newestBucket else {
            newestBucket = bucket
            return bucket
        }
        guard bucket > newest else { return bucket }
        let stale = min(bucket - newest, Int64(bucketCount))
        for step in 1...stale {
            let index = Int((newest + step) % Int64(bucketCount))
            total -= buckets[index]
            buckets[index] = 0
        }
        newestBucket = bucket
        return bucket
    }
}

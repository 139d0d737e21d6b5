/// Counters of one stream's transcoding, for the API and tests (the same figures go to `/metrics`).
public struct TranscoderStatistics: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public var width = 0
        public var height = 0
        public var frames = 0
        public var keyframes = 0
        public var bytes = 0
        /// Pictures dropped because the encoder was behind.
        public var dropped = 0
        public var encodeErrors = 0
        /// Encoders opened (1 + reconfigurations after size changes).
        public var reconfigurations = 0
        /// Encode times in 1 ms buckets (the last bucket holds everything from 255 ms up); the `/metrics` Timer has
        /// the same figures, this copy lets the API and benchmarks read percentiles without a metrics backend.
        public var encodeLatencyBuckets = [Int](repeating: 0, count: 256)

        mutating func recordEncodeLatency(nanoseconds: Int64) {
            encodeLatencyBuckets[min(255, max(0, Int(nanoseconds / 1_000_000)))] += 1
        }

        /// The encode time below which `fraction` of the frames fell, as the upper edge of its 1 ms bucket.
        public func encodeLatency(percentile fraction: Double) -> Duration? {
            let total = encodeLatencyBuckets.reduce(0, +)
            guard total > 0 else { return nil }
            let rank = Int((Double(total) * fraction).rounded(.up))
            var seen = 0
            for (milliseconds, count) in encodeLatencyBuckets.enumerated() {
                seen += count
                if seen >= max(1, rank) { return .milliseconds(milliseconds + 1) }
            }
            return .milliseconds(256)
        }
    }

    public var generation = 0
    /// Pictures out of the H.264 decoder.
    public var decodedPictures = 0
    /// Damaged or rejected video packets, and unusable configurations (each starts a resync at the next keyframe).
    public var videoDecodeErrors = 0
    /// Video frames skipped while waiting for a configuration or a keyframe.
    public var videoFramesSkipped = 0
    /// Compressed video frames dropped because the decoder was behind.
    public var decoderQueueDrops = 0
    /// Source size changes followed (the first size counts as well).
    public var sourceSizeChanges = 0
    public var audioDecodeErrors = 0
    public var audioConfigurations = 0
    public var opusPackets = 0
    /// VP8 layers by rung name.
    public var webRTC: [String: Layer] = [:]
    /// Re-encoded H.264 renditions by rung name.
    public var cmaf: [String: Layer] = [:]
    public var ended = false

    public init() {}
}

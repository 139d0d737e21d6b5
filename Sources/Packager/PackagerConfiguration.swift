/// How the packager cuts and how much it keeps.
public struct PackagerConfiguration: Sendable, Equatable {
    /// Seconds of media kept per track (the time-shift window); older segments are gone (404).
    public var windowSeconds: Double = 600
    /// Target segment duration. Video cuts only on keyframes, so a longer GOP makes longer segments.
    public var segmentSeconds: Double = 2
    /// Target duration of a low-latency part (LL-HLS part, LL-DASH chunk).
    public var partSeconds: Double = 0.5
    /// Hard limit on the bytes a stream's window holds, all tracks together; the oldest segments go first.
    public var maximumBytesPerStream: Int = 768 * 1024 * 1024
    /// Hard limit on the bytes all streams' windows hold together: each packaged stream's share is this divided by
    /// the streams packaged, never more than `maximumBytesPerStream`.
    public var maximumBytes: Int = 4 * 1024 * 1024 * 1024
    /// Where every complete segment is also written, one directory per publisher session with HLS playlists (a
    /// recording that outlives the window); nil: nothing is written.
    public var recordingDirectory: String?
    /// Streams packaged at once; a stream beyond this is not packaged.
    public var maximumStreams: Int = 32
    /// Renditions per stream (source passthrough plus transcoded rungs).
    public var maximumRenditions: Int = 8
    /// Timed-metadata events kept per stream.
    public var maximumEvents: Int = 256
    /// Hard cap on one sample; anything larger is dropped (a broken publisher must not grow a part without bound).
    public var maximumSampleBytes: Int = 8 * 1024 * 1024

    public init() {}
}

import MediaCore

/// What the API reports about a live publication.
public struct IngestStatus: Sendable {
    public var publisher: PublisherDescription
    public var startedAt: ContinuousClock.Instant
    public var video: VideoTrackConfig?
    public var audio: AudioTrackConfig?
    /// Frame rate measured from the video timestamps, or the declared one until enough frames arrived.
    public var frameRate: Double?
    public var bitrateKbps: Int
    public var videoFrames: Int
    public var audioFrames: Int
    public var bytes: Int
}

/// Frame counts, frame rate and bitrate measured on the media timeline, so the figures do not depend on
/// when packets happened to arrive.
struct IngestStatistics {
    private(set) var videoFrames = 0
    private(set) var audioFrames = 0
    private(set) var bytes = 0

    /// The last video decode timestamps (milliseconds), oldest first; bounded.
    private var recentVideoDTS: [Int64] = []
    private let frameRateWindow = 64

    /// Bytes per media second, keyed by second; only the last few seconds are kept.
    private var bytesPerSecond: [(second: Int64, bytes: Int)] = []
    private let bitrateWindowSeconds = 5

    mutating func record(_ frame: EncodedFrame) {
        let size = frame.data.readableBytes
        bytes += size
        let milliseconds = frame.timescale == 1000 ? frame.dts : frame.dts * 1000 / Int64(max(frame.timescale, 1))
        switch frame.kind {
        case .video:
            videoFrames += 1
            if recentVideoDTS.count == frameRateWindow { recentVideoDTS.removeFirst() }
            recentVideoDTS.append(milliseconds)
        case .audio:
            audioFrames += 1
        }
        let second = milliseconds >= 0 ? milliseconds / 1000 : -1
        if let last = bytesPerSecond.last, last.second == second {
            bytesPerSecond[bytesPerSecond.count - 1].bytes += size
        } else if bytesPerSecond.last.map({ second > $0.second }) ?? true {
            bytesPerSecond.append((second, size))
            if bytesPerSecond.count > bitrateWindowSeconds + 1 { bytesPerSecond.removeFirst() }
        } else if let index = bytesPerSecond.firstIndex(where: { $0.second == second }) {
            // A frame from an earlier second (audio and video interleave slightly out of order).
            bytesPerSecond[index].bytes += size
        }
    }

    /// Frames per second over the recent video timestamps, rounded to hundredths.
    var measuredFrameRate: Double? {
        guard recentVideoDTS.count >= 8, let first = recentVideoDTS.first, let last = recentVideoDTS.last, last > first else {
            return nil
        }
        let fps = Double(recentVideoDTS.count - 1) * 1000 / Double(last - first)
        return (fps * 100).rounded() / 100
    }

    /// Kilobits per second over the completed media seconds in the window (the current second is still filling).
    var bitrateKbps: Int {
        let complete = bytesPerSecond.dropLast()
        guard !complete.isEmpty else {
            return bytesPerSecond.first.map { $0.bytes * 8 / 1000 } ?? 0
        }
        let total = complete.reduce(0) { $0 + $1.bytes }
        return total * 8 / 1000 / complete.count
    }
}

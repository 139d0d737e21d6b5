import CMAF
import Foundation
import MediaCore
import NIOCore

/// One track of one rendition of a stream: its configuration, init segments, segmenter and window.
struct PackagedTrack {
    /// URL-safe name, `{rendition}-video` / `{rendition}-audio`; also the DASH Representation id.
    let name: String
    let rendition: String
    let kind: MediaKind
    var track: CMAFTrack
    var declaredFrameRate: Double?
    /// Init segments by id; an id is dropped once no segment in the window refers to it.
    var initSegments: [Int: ByteBuffer] = [:]
    var currentInitID = 0
    var segmenter: TrackSegmenter
    var window = SegmentWindow()
    /// The generation the segmenter is cutting for.
    var generation = 0
    var lastAudioTime: UInt64?

    var timescale: UInt32 { track.timescale }

    init(name: String, rendition: String, track: CMAFTrack, configuration: PackagerConfiguration, initID: Int) {
        self.name = name
        self.rendition = rendition
        self.kind = track.kind
        self.track = track
        self.currentInitID = initID
        self.initSegments[initID] = InitSegment.make(track)
        self.segmenter = Self.segmenter(for: track, configuration: configuration)
    }

    static func segmenter(for track: CMAFTrack, configuration: PackagerConfiguration) -> TrackSegmenter {
        let frameDuration: UInt64 = track.kind == .video ? UInt64(track.timescale / 30) : 1024
        return TrackSegmenter(trackID: track.trackID, isVideo: track.kind == .video, timescale: track.timescale,
                              segmentSeconds: configuration.segmentSeconds, partSeconds: configuration.partSeconds,
                              frameDuration: frameDuration)
    }

    /// Seconds from the availability start to the end of the newest sample written.
    var endSeconds: Double {
        guard let last = window.segments.last else { return 0 }
        return Double(last.endTime) / Double(timescale)
    }

    /// Peak and average bits per second over the recent complete segments.
    var bandwidth: (peak: Int, average: Int) {
        var peak = 0.0
        var bytes = 0
        var ticks: UInt64 = 0
        for segment in window.segments.suffix(30) where segment.isComplete && segment.duration > 0 {
            let seconds = Double(segment.duration) / Double(timescale)
            peak = max(peak, Double(segment.byteCount * 8) / seconds)
            bytes += segment.byteCount
            ticks += segment.duration
        }
        guard ticks > 0 else {
            return kind == .video ? (4_000_000, 3_000_000) : (160_000, 128_000)
        }
        let average = Double(bytes * 8) / (Double(ticks) / Double(timescale))
        return (max(1, Int(peak.rounded())), max(1, Int(average.rounded())))
    }

    /// Measured from the newest complete segment; the declared rate before that.
    var frameRate: Double? {
        guard kind == .video else { return nil }
        if let segment = window.segments.last(where: { $0.isComplete && $0.duration > 0 }), segment.sampleCount > 1 {
            let measured = Double(segment.sampleCount) / (Double(segment.duration) / Double(timescale))
            return (measured * 1000).rounded() / 1000
        }
        return declaredFrameRate
    }

    var width: Int {
        if case .avc(let width, _, _) = track.codec { return width }
        return 0
    }

    var height: Int {
        if case .avc(_, let height, _) = track.codec { return height }
        return 0
    }

    var channels: Int {
        if case .aac(_, let channels, _) = track.codec { return channels }
        return 0
    }

    mutating func push(_ sample: TrackSegmenter.Sample, generation: Int) -> Bool {
        self.generation = generation
        return segmenter.push(sample, generation: generation, initID: currentInitID, window: &window)
    }

    mutating func finish(generation: Int) -> Bool {
        segmenter.finish(generation: generation, initID: currentInitID, window: &window)
    }

    mutating func dropUnusedInitSegments() {
        let used = Set(window.segments.map(\.initID)).union([currentInitID])
        for id in initSegments.keys where !used.contains(id) { initSegments[id] = nil }
    }
}

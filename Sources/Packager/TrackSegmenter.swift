import CMAF
import NIOCore

/// Cuts one track's samples into parts and segments. Video segments start on keyframes once the target duration is
/// reached (so they follow a longer GOP); parts close at the part target. A sample's duration is the distance to the
/// next one, so each sample is written when its successor arrives.
struct TrackSegmenter {
    struct Sample {
        var decodeTime: UInt64
        var compositionOffset: Int32
        var isSync: Bool
        var data: ByteBuffer
    }

    let trackID: UInt32
    let isVideo: Bool
    let segmentTicks: UInt64
    let partTicks: UInt64
    /// A segment never grows beyond this, whatever the GOP: it is closed and the track waits for a keyframe.
    let maximumSegmentTicks: UInt64
    let defaultDuration: UInt64

    private var pending: Sample?
    private var partSamples: [CMAFSample] = []
    private var partStart: UInt64 = 0
    private var partDuration: UInt64 = 0
    private var segmentDuration: UInt64 = 0
    private var lastDuration: UInt64
    private var sequenceNumber: UInt32 = 0
    private var pendingEvents: [EventMessage] = []

    /// The segmenter cuts a segment at this length at the latest, whatever the GOP.
    static func longestSegmentSeconds(segmentSeconds: Double) -> Double {
        max(segmentSeconds * 10, 30)
    }

    init(trackID: UInt32, isVideo: Bool, timescale: UInt32, segmentSeconds: Double, partSeconds: Double, frameDuration: UInt64) {
        self.trackID = trackID
        self.isVideo = isVideo
        segmentTicks = UInt64(segmentSeconds * Double(timescale))
        partTicks = UInt64(partSeconds * Double(timescale))
        maximumSegmentTicks = UInt64(Self.longestSegmentSeconds(segmentSeconds: segmentSeconds) * Double(timescale))
        defaultDuration = frameDuration
        lastDuration = frameDuration
    }

    var lastDecodeTime: UInt64? { pending?.decodeTime }

    /// Queues an in-band event for the next chunk (bounded: the oldest queued ones go first).
    mutating func enqueue(_ event: EventMessage) {
        if pendingEvents.count >= 16 { pendingEvents.removeFirst() }
        pendingEvents.append(event)
    }

    /// Adds a sample; returns true when a part or segment became available.
    mutating func push(_ sample: Sample, generation: Int, initID: Int, window: inout SegmentWindow) -> Bool {
        guard let previous = pending else {
            pending = sample
            return false
        }
        // Decode times must increase; a sample that goes back is dropped rather than corrupting the timeline.
        guard sample.decodeTime > previous.decodeTime else { return false }
        var duration = sample.decodeTime - previous.decodeTime
        if duration > maximumSegmentTicks / 4 { duration = lastDuration }  // a gap: do not stretch one sample over it
        var changed = append(previous, duration: duration, generation: generation, initID: initID, window: &window)
        if (sample.isSync || !isVideo) && segmentDuration >= segmentTicks {
            closeSegment(window: &window)
            changed = true
        }
        pending = sample
        return changed
    }

    /// The session ended (or the configuration changed): writes the last sample and closes the segment.
    mutating func finish(generation: Int, initID: Int, window: inout SegmentWindow) -> Bool {
        var changed = false
        if let last = pending {
            changed = append(last, duration: lastDuration, generation: generation, initID: initID, window: &window)
            pending = nil
        }
        if window.openSegment != nil {
            closeSegment(window: &window)
            changed = true
        }
        return changed
    }

    private mutating func append(_ sample: Sample, duration: UInt64, generation: Int, initID: Int, window: inout SegmentWindow) -> Bool {
        var changed = false
        lastDuration = duration
        if window.openSegment == nil {
            // A video segment starts on a keyframe; until one comes, samples are dropped.
            guard sample.isSync || !isVideo else { return false }
            window.open(generation: generation, initID: initID, startTime: sample.decodeTime)
            segmentDuration = 0
        }
        if !partSamples.isEmpty, partDuration + duration > partTicks + partTicks / 10 {
            closePart(window: &window)
            changed = true
        }
        if partSamples.isEmpty { partStart = sample.decodeTime }
        partSamples.append(CMAFSample(duration: UInt32(clamping: duration), compositionOffset: sample.compositionOffset,
                                      isSync: sample.isSync, data: sample.data))
        partDuration += duration
        segmentDuration += duration
        // Close when one more sample would overshoot the target by more than this one falls short of it.
        if partDuration + duration / 2 >= partTicks {
            closePart(window: &window)
            changed = true
        }
        if segmentDuration >= maximumSegmentTicks {
            closeSegment(window: &window)
            changed = true
        }
        return changed
    }

    private mutating func closePart(window: inout SegmentWindow) {
        guard !partSamples.isEmpty, let open = window.openSegment else { return }
        sequenceNumber &+= 1
        let data = MediaChunk.make(trackID: trackID, sequenceNumber: sequenceNumber, baseDecodeTime: partStart,
                                   samples: partSamples, startsSegment: open.parts.isEmpty, events: pendingEvents)
        pendingEvents.removeAll()
        window.appendPart(MediaPart(index: open.parts.count, duration: partDuration, independent: partSamples[0].isSync, data: data),
                          samples: partSamples.count)
        partSamples.removeAll(keepingCapacity: true)
        partDuration = 0
    }

    private mutating func closeSegment(window: inout SegmentWindow) {
        closePart(window: &window)
        window.completeOpenSegment()
        segmentDuration = 0
    }
}

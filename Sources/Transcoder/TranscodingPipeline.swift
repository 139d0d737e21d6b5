import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import Codecs

/// One publication's pipeline: a `VideoPipeline` (H.264 decoded once, each rung size scaled once, the pictures handed
/// to the rung encoders, each on a thread of its own) and an `AudioPipeline` (AAC → 48 kHz → Opus), each owned by one
/// worker thread.
///
/// Ingest calls come in on the publisher's event loop and only queue; passthrough frames are forwarded there directly.
final class TranscodingPipeline: Sendable {
    let stream: String
    let generation: Int
    let settings: TranscoderSettings
    let statistics = NIOLockedValueBox(TranscoderStatistics())
    private let emit: @Sendable (RenditionEvent) -> Void
    private let video: VideoPipeline
    private let audio: AudioPipeline

    init(stream: String, generation: Int, settings: TranscoderSettings, logger: Logger,
         emit: @escaping @Sendable (RenditionEvent) -> Void) {
        self.stream = stream
        self.generation = generation
        self.settings = settings
        self.emit = emit
        let metrics = DecoderMetrics(stream: stream)
        statistics.withLockedValue { $0.generation = generation }
        let statistics = statistics
        let completion = Completion(outstanding: 2) {
            statistics.withLockedValue { $0.ended = true }
            emit(.ended(generation: generation))
        }
        video = VideoPipeline(stream: stream, settings: settings, logger: logger, metrics: metrics, statistics: statistics,
                              completion: completion, emit: emit)
        audio = AudioPipeline(stream: stream, settings: settings, metrics: metrics, statistics: statistics,
                              completion: completion, emit: emit)
        emit(.started(generation: generation))
    }

    // MARK: Ingest side (publisher's event loop; must not block)

    func handle(_ event: MediaEvent) {
        switch event {
        case .started:
            break
        case .videoConfiguration(let config):
            if settings.cmafEnabled { emit(.cmafVideoConfiguration(rendition: LiveTranscoder.passthroughRendition, config)) }
            video.submit(.configuration(config), droppable: false)
        case .audioConfiguration(let config):
            if settings.cmafEnabled { emit(.cmafAudioConfiguration(config)) }
            audio.submit(.configuration(config), droppable: false)
        case .frame(let frame):
            switch frame.kind {
            case .video:
                if settings.cmafEnabled { emit(.cmafVideo(rendition: LiveTranscoder.passthroughRendition, frame: frame)) }
                video.submit(.frame(frame, afterDrop: false), droppable: true)
            case .audio:
                if settings.cmafEnabled { emit(.cmafAudio(frame)) }
                if settings.webRTCEnabled { audio.submit(.frame(frame), droppable: true) }
            }
        case .ended:
            end()
        }
    }

    func end() {
        video.finish()
        audio.finish()
    }

    /// Returns whether the request went through the 300 ms coalescing (false: a keyframe is already on its way).
    func requestKeyframe(rung: String) -> Bool {
        video.requestKeyframe(rung: rung)
    }

    static func milliseconds(_ value: Int64, _ timescale: Int32) -> Int64 {
        timescale == 1000 ? value : value * 1000 / Int64(max(1, timescale))
    }
}

/// Passes pictures at most at `fps`: a 60 fps source feeds a 30 fps rung every other picture. A quarter-interval
/// tolerance absorbs millisecond rounding of FLV timestamps (33, 34, 33 ms).
struct FrameRateLimiter {
    let interval: Int64
    private var last: Int64?

    init(fps: Int) {
        interval = Int64(1000 / max(1, fps))
    }

    mutating func admit(_ pts: Int64, force: Bool = false) -> Bool {
        if !force, let last, pts - last < interval * 3 / 4 { return false }
        last = pts
        return true
    }
}

/// Counts the pipeline's threads down; the last one out reports the end.
final class Completion: Sendable {
    private let outstanding: NIOLockedValueBox<Int>
    private let onComplete: @Sendable () -> Void

    init(outstanding: Int, onComplete: @escaping @Sendable () -> Void) {
        self.outstanding = NIOLockedValueBox(outstanding)
        self.onComplete = onComplete
    }

    func add(_ count: Int) {
        outstanding.withLockedValue { $0 += count }
    }

    func done() {
        let remaining = outstanding.withLockedValue { count -> Int in
            count -= 1
            return count
        }
        if remaining == 0 { onComplete() }
    }
}

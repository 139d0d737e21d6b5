import MediaCore
import Metrics
import NIOConcurrencyHelpers

/// One publisher's session on a stream. Ingest pushes configurations and frames; observers receive them in order
/// on the caller's thread.
public final class Publication: Sendable {
    public let stream: String
    public let publisher: PublisherDescription

    struct State {
        var active = true
        var startedAt = ContinuousClock.now
        var video: VideoTrackConfig?
        var audio: AudioTrackConfig?
        var statistics = IngestStatistics()
    }

    private let state = NIOLockedValueBox(State())
    private let metrics: IngestMetrics
    private let onEvict: (@Sendable () -> Void)?
    // Unowned-safe: the router outlives its publications.
    private let router: MediaRouter

    init(stream: String, publisher: PublisherDescription, router: MediaRouter, onEvict: (@Sendable () -> Void)?) {
        self.stream = stream
        self.publisher = publisher
        self.router = router
        self.onEvict = onEvict
        self.metrics = IngestMetrics(stream: stream)
    }

    public var isActive: Bool { state.withLockedValue { $0.active } }

    public func setVideoConfiguration(_ config: VideoTrackConfig) {
        let changed = state.withLockedValue { state -> Bool in
            guard state.active, state.video != config else { return false }
            state.video = config
            return true
        }
        if changed { deliver(.videoConfiguration(config)) }
    }

    public func setAudioConfiguration(_ config: AudioTrackConfig) {
        let changed = state.withLockedValue { state -> Bool in
            guard state.active, state.audio != config else { return false }
            state.audio = config
            return true
        }
        if changed { deliver(.audioConfiguration(config)) }
    }

    /// Records the frame rate the publisher declares (metadata) until one can be measured.
    public func setDeclaredFrameRate(_ fps: Double) {
        state.withLockedValue { state in
            state.video?.declaredFrameRate = fps
        }
    }

    public func push(_ frame: EncodedFrame) {
        let active = state.withLockedValue { state -> Bool in
            guard state.active else { return false }
            state.statistics.record(frame)
            return true
        }
        guard active else { return }
        metrics.record(frame)
        deliver(.frame(frame))
    }

    /// The publisher is gone; the stream goes offline. Safe to call more than once.
    public func end() {
        let wasActive = state.withLockedValue { state -> Bool in
            defer { state.active = false }
            return state.active
        }
        if wasActive { router.finish(self) }
    }

    func evict() {
        onEvict?()
        end()
    }

    public var status: IngestStatus {
        state.withLockedValue { state in
            IngestStatus(publisher: publisher, startedAt: state.startedAt, video: state.video, audio: state.audio,
                         frameRate: state.statistics.measuredFrameRate ?? state.video?.declaredFrameRate,
                         bitrateKbps: state.statistics.bitrateKbps, videoFrames: state.statistics.videoFrames,
                         audioFrames: state.statistics.audioFrames, bytes: state.statistics.bytes)
        }
    }

    private func deliver(_ event: MediaEvent) {
        for observer in router.observers(of: stream) { observer.handle(event, stream: stream) }
    }
}

/// Per-stream ingest counters, created once per publication so pushing a frame does not look them up.
struct IngestMetrics: Sendable {
    let videoFrames: Counter
    let audioFrames: Counter
    let videoBytes: Counter
    let audioBytes: Counter

    /// The stream is labelled as `StreamMetricLabel` says: never a private stream's name.
    init(stream name: String) {
        let stream = StreamMetricLabel.label(for: name)
        videoFrames = Counter(label: "liverelay_ingest_frames_total", dimensions: [("stream", stream), ("kind", "video")])
        audioFrames = Counter(label: "liverelay_ingest_frames_total", dimensions: [("stream", stream), ("kind", "audio")])
        videoBytes = Counter(label: "liverelay_ingest_bytes_total", dimensions: [("stream", stream), ("kind", "video")])
        audioBytes = Counter(label: "liverelay_ingest_bytes_total", dimensions: [("stream", stream), ("kind", "audio")])
    }

    func record(_ frame: EncodedFrame) {
        switch frame.kind {
        case .video:
            videoFrames.increment()
            videoBytes.increment(by: frame.data.readableBytes)
        case .audio:
            audioFrames.increment()
            audioBytes.increment(by: frame.data.readableBytes)
        }
    }
}

import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Turns each live stream of the `MediaRouter` into the VP8/Opus layers of WebRTC and the H.264/AAC renditions
/// of DASH/HLS.
///
/// Register it as a router observer (`router.addObserver(transcoder)`); it publishes what it makes back into the
/// router as renditions (`MediaRouter.publishRendition`), where the egress and the packager observe them.
/// Each publication gets its own pipeline: H.264 decoded once, every rung size scaled once, each encoder on its own
/// thread behind a small bounded queue (when it falls behind, the oldest waiting picture is dropped and counted in
/// `liverelay_transcode_dropped_frames_total{rung}`). The publisher's end flushes every encoder and ends with
/// `.ended`; the next publisher starts a fresh pipeline.
public final class LiveTranscoder: MediaObserver {
    /// Name of the CMAF rendition that is the source itself (no re-encode).
    public static let passthroughRendition = "source"

    public let settings: TranscoderSettings
    private let logger: Logger

    private struct State {
        var pipelines: [String: TranscodingPipeline] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// Where the renditions go.
    private let renditions: MediaRouter

    public init(settings: TranscoderSettings = TranscoderSettings(), publishingTo renditions: MediaRouter,
                logger: Logger = Logger(label: "liverelay.transcoder")) {
        self.settings = settings
        self.renditions = renditions
        self.logger = logger
    }

    /// Asks for a keyframe on the next picture of a VP8 layer (a viewer joined, switched layers or sent PLI/FIR).
    /// Requests are coalesced to one per rung per `settings.keyframeRequestInterval`; returns whether this one
    /// went through.
    @discardableResult
    public func requestKeyframe(stream: String, rung: String) -> Bool {
        guard let pipeline = state.withLockedValue({ $0.pipelines[stream] }) else { return false }
        return pipeline.requestKeyframe(rung: rung)
    }

    /// Counters of the stream's current (or last) publication.
    public func statistics(stream: String) -> TranscoderStatistics? {
        state.withLockedValue { $0.pipelines[stream] }?.statistics.withLockedValue { $0 }
    }

    /// Streams with a pipeline (live, or ended and not yet replaced).
    public var streams: [String] {
        state.withLockedValue { Array($0.pipelines.keys) }
    }

    /// Ends every pipeline (encoders flush, observers get `.ended`); for shutdown, after removing this observer
    /// from the router. Pipelines stop on their own threads; this call does not wait for them.
    public func stop() {
        let pipelines = state.withLockedValue { Array($0.pipelines.values) }
        for pipeline in pipelines { pipeline.end() }
    }

    // MARK: MediaObserver

    public func handle(_ event: MediaEvent, stream: String) {
        if case .started(let publisher) = event {
            let emit: @Sendable (RenditionEvent) -> Void = { [renditions] media in renditions.publishRendition(media, stream: stream) }
            let pipeline = TranscodingPipeline(stream: stream, generation: publisher.generation, settings: settings,
                                            logger: logger, emit: emit)
            let previous = state.withLockedValue { state -> TranscodingPipeline? in
                defer { state.pipelines[stream] = pipeline }
                return state.pipelines[stream]
            }
            previous?.end()
            return
        }
        // The ended pipeline stays in the map (for its statistics) until the next publisher replaces it.
        state.withLockedValue { $0.pipelines[stream] }?.handle(event)
    }
}

extension LiveTranscoder: Service {
    /// Runs until the node shuts down, then ends every pipeline (encoders flush).
    public func run() async throws {
        try? await gracefulShutdown()
        stop()
    }
}

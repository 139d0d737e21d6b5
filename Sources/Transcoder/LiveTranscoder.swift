import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore

/// Turns each live stream of the `MediaRouter` into the VP8/Opus layers of WebRTC and the H.264/AAC renditions
/// of DASH/HLS.
///
/// Register it as a router observer (`router.addObserver(transcoder)`); consumers register with `addObserver`.
/// Each publication gets its own pipeline: H.264 decoded once, every rung size scaled once, each encoder on its own
/// thread behind a small bounded queue (when it falls behind, the oldest waiting picture is dropped and counted in
/// `liverelay_transcode_dropped_frames_total{rung}`). The publisher's end flushes every encoder and ends with
/// `.ended`; the next publisher starts a fresh pipeline.
public final class LiveTranscoder: MediaObserver {
    /// Name of the CMAF rendition that is the source itself (no re-encode).
    public static let passthroughRendition = "source"

    public let settings: TranscoderSettings
    private let logger: Logger

    private struct ObserverEntry {
        let id: Int
        let stream: String?
        let observer: any TranscodedMediaObserver
    }

    private struct State {
        var pipelines: [String: StreamTranscoder] = [:]
        var observers: [ObserverEntry] = []
        var nextObserverID = 0
    }

    private let state = NIOLockedValueBox(State())

    public init(settings: TranscoderSettings = TranscoderSettings(),
                logger: Logger = Logger(label: "liverelay.transcoder")) {
        self.settings = settings
        self.logger = logger
    }

    // MARK: Consumers

    /// Observes one stream's output, or every stream's when `stream` is nil. Returns a token for `removeObserver`.
    @discardableResult
    public func addObserver(_ observer: any TranscodedMediaObserver, stream: String? = nil) -> Int {
        state.withLockedValue { state in
            let id = state.nextObserverID
            state.nextObserverID += 1
            state.observers.append(ObserverEntry(id: id, stream: stream, observer: observer))
            return id
        }
    }

    /// Closure form of `addObserver`; the closure must not block (see `TranscodedMediaObserver`).
    @discardableResult
    public func subscribe(stream: String? = nil,
                          _ handler: @escaping @Sendable (TranscodedMedia, String) -> Void) -> Int {
        addObserver(TranscodedMediaHandler(handler), stream: stream)
    }

    public func removeObserver(_ token: Int) {
        state.withLockedValue { $0.observers.removeAll { $0.id == token } }
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
            let emit: @Sendable (TranscodedMedia) -> Void = { [weak self] media in self?.deliver(media, stream: stream) }
            let pipeline = StreamTranscoder(stream: stream, generation: publisher.generation, settings: settings,
                                            logger: logger, emit: emit)
            let previous = state.withLockedValue { state -> StreamTranscoder? in
                defer { state.pipelines[stream] = pipeline }
                return state.pipelines[stream]
            }
            previous?.end()
            return
        }
        // The ended pipeline stays in the map (for its statistics) until the next publisher replaces it.
        state.withLockedValue { $0.pipelines[stream] }?.handle(event)
    }

    private func deliver(_ media: TranscodedMedia, stream: String) {
        // Copying the array out only retains its storage (copy-on-write): no allocation per frame.
        let observers = state.withLockedValue { $0.observers }
        for entry in observers where entry.stream == nil || entry.stream == stream {
            entry.observer.handle(media, stream: stream)
        }
    }
}

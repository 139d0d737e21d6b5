import Logging
import MediaCore
import Metrics
import NIOConcurrencyHelpers

public enum MediaRouterError: Error, Equatable, Sendable {
    /// The stream already has a live publisher; LiveRelay allows one per stream.
    case alreadyPublishing(stream: String)
}

/// Streams currently being published, their renditions, and the stages observing them.
///
/// Two levels. Ingest (RTMP, the demo source) opens a `Publication` per publisher; the transcoder, the packager and
/// the API observe those (`addObserver`). Whatever makes renditions — the transcoder today — publishes them here
/// (`publishRendition`), and the stages that deliver them to viewers, the WebRTC egress and the packager's extra
/// renditions, observe those (`addRenditionObserver`) without knowing who made them.
public final class MediaRouter: Sendable {
    struct ObserverEntry {
        let id: Int
        let stream: String?
        let observer: any MediaObserver
    }

    struct State {
        var publications: [String: Publication] = [:]
        var generations: [String: Int] = [:]
        var observers: [ObserverEntry] = []
        var nextObserverID = 0
    }

    private let state = NIOLockedValueBox(State())
    /// Rendition observers under a lock of their own: frames of every rendition pass here, and must not wait on
    /// publishers starting or ending.
    private let renditionObservers = NIOLockedValueBox(RenditionObservers())
    private let logger: Logger
    private let liveStreamsGauge = Gauge(label: "liverelay_live_streams")

    public init(logger: Logger = Logger(label: "liverelay.router")) {
        self.logger = logger
    }

    /// Starts a publication of `stream`; fails if the stream is already live.
    public func beginPublishing(stream: String, source: String, remoteAddress: String?,
                                onEvict: (@Sendable () -> Void)? = nil) throws(MediaRouterError) -> Publication {
        let result: Result<(Publication, [any MediaObserver]), MediaRouterError> = state.withLockedValue { state in
            if state.publications[stream] != nil { return .failure(.alreadyPublishing(stream: stream)) }
            let generation = (state.generations[stream] ?? 0) + 1
            state.generations[stream] = generation
            let description = PublisherDescription(source: source, remoteAddress: remoteAddress, generation: generation)
            let publication = Publication(stream: stream, publisher: description, router: self, onEvict: onEvict)
            state.publications[stream] = publication
            liveStreamsGauge.record(state.publications.count)
            return .success((publication, Self.observers(of: stream, in: state)))
        }
        let (publication, observers) = try result.get()
        logger.info("publish started", metadata: ["stream": "\(stream)", "source": "\(source)",
                                                  "remote": "\(remoteAddress ?? "-")"])
        for observer in observers { observer.handle(.started(publication.publisher), stream: stream) }
        return publication
    }

    /// Streams with a live publisher.
    public var liveStreams: [String] {
        state.withLockedValue { Array($0.publications.keys) }
    }

    public func isLive(_ stream: String) -> Bool {
        state.withLockedValue { $0.publications[stream] != nil }
    }

    public func status(of stream: String) -> IngestStatus? {
        let publication = state.withLockedValue { $0.publications[stream] }
        return publication?.status
    }

    /// Ends the stream's publication (the stream was deleted or its key rotated) and tells the publisher to go.
    public func evict(stream: String) {
        let publication = state.withLockedValue { $0.publications[stream] }
        publication?.evict()
    }

    /// Observes one stream, or every stream when `stream` is nil. Returns a token for `removeObserver`.
    @discardableResult
    public func addObserver(_ observer: any MediaObserver, stream: String? = nil) -> Int {
        state.withLockedValue { state in
            let id = state.nextObserverID
            state.nextObserverID += 1
            state.observers.append(ObserverEntry(id: id, stream: stream, observer: observer))
            return id
        }
    }

    public func removeObserver(_ token: Int) {
        state.withLockedValue { $0.observers.removeAll { $0.id == token } }
    }

    func observers(of stream: String) -> [any MediaObserver] {
        state.withLockedValue { Self.observers(of: stream, in: $0) }
    }

    private static func observers(of stream: String, in state: State) -> [any MediaObserver] {
        state.observers.compactMap { entry in
            entry.stream == nil || entry.stream == stream ? entry.observer : nil
        }
    }

    func finish(_ publication: Publication) {
        let removed = state.withLockedValue { state -> Bool in
            guard state.publications[publication.stream] === publication else { return false }
            state.publications[publication.stream] = nil
            liveStreamsGauge.record(state.publications.count)
            return true
        }
        guard removed else { return }
        logger.info("publish ended", metadata: ["stream": "\(publication.stream)"])
        for observer in observers(of: publication.stream) { observer.handle(.ended, stream: publication.stream) }
    }
}

// MARK: Renditions

struct RenditionObservers {
    struct Entry {
        let id: Int
        let stream: String?
        let observer: any RenditionObserver
    }

    var entries: [Entry] = []
    var nextID = 0
}

extension MediaRouter {
    /// Observes one stream's renditions, or every stream's when `stream` is nil. Returns a token for
    /// `removeRenditionObserver`.
    @discardableResult
    public func addRenditionObserver(_ observer: any RenditionObserver, stream: String? = nil) -> Int {
        renditionObservers.withLockedValue { observers in
            let id = observers.nextID
            observers.nextID += 1
            observers.entries.append(RenditionObservers.Entry(id: id, stream: stream, observer: observer))
            return id
        }
    }

    /// Closure form of `addRenditionObserver`; the closure must not block (see `RenditionObserver`).
    @discardableResult
    public func subscribeRenditions(stream: String? = nil,
                                    _ handler: @escaping @Sendable (RenditionEvent, String) -> Void) -> Int {
        addRenditionObserver(RenditionHandler(handler), stream: stream)
    }

    public func removeRenditionObserver(_ token: Int) {
        renditionObservers.withLockedValue { $0.entries.removeAll { $0.id == token } }
    }

    /// Hands one event of `stream`'s renditions to their observers, on the caller's thread.
    public func publishRendition(_ event: RenditionEvent, stream: String) {
        // Copying the array out only retains its storage (copy-on-write): no allocation per frame.
        let entries = renditionObservers.withLockedValue { $0.entries }
        for entry in entries where entry.stream == nil || entry.stream == stream {
            entry.observer.handle(event, stream: stream)
        }
    }
}

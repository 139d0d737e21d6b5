import Logging
import MediaCore
import Metrics
import NIOConcurrencyHelpers

public enum MediaRouterError: Error, Equatable, Sendable {
    /// The stream already has a live publisher; LiveRelay allows one per stream.
    case alreadyPublishing(stream: String)
}

/// Streams currently being published and the stages observing them.
///
/// Ingest (RTMP, the demo source) opens a `Publication` per publisher; transcoder, packager and API observe.
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

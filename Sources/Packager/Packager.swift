import CMAF
import Foundation
import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Packages live streams as CMAF for DASH and HLS, from memory.
///
/// A *rendition* is a source of `MediaEvent`s (track configurations and `EncodedFrame`s on the source timeline).
/// The packager observes the `MediaRouter` and packages each stream's ingest as the `source` rendition; a transcoder
/// adds lower rungs by calling `ingest(_:stream:rendition:)` with its own rendition name and the source's timestamps.
/// Every rendition's video track joins the DASH video AdaptationSet and the HLS multivariant playlist.
public final class Packager: MediaObserver, Sendable {
    public static let sourceRendition = "source"

    public let configuration: PackagerConfiguration
    private let streams = NIOLockedValueBox([String: StreamPackage]())
    /// `streams.count`, shared with every package: their share of `configuration.maximumBytes`.
    private let streamCount = NIOLockedValueBox(0)
    private let serials = NIOLockedValueBox(0)
    private let recorder: SegmentRecorder?
    private let logger: Logger

    public init(configuration: PackagerConfiguration = PackagerConfiguration(), logger: Logger = Logger(label: "liverelay.packager")) {
        self.configuration = configuration
        self.logger = logger
        recorder = configuration.recordingDirectory.map {
            SegmentRecorder(directory: $0, longestSegmentSeconds: TrackSegmenter.longestSegmentSeconds(segmentSeconds: configuration.segmentSeconds),
                            logger: logger)
        }
    }

    // MARK: Ingest

    public func handle(_ event: MediaEvent, stream: String) {
        ingest(event, stream: stream, rendition: Self.sourceRendition)
    }

    /// Feeds one rendition of a stream. Renditions other than `source` are packaged within the source's sessions.
    public func ingest(_ event: MediaEvent, stream: String, rendition: String) {
        guard Self.isSafeName(rendition) else { return }
        let package: StreamPackage?
        if case .started = event, rendition == Self.sourceRendition {
            package = packageForPublishing(stream)
        } else {
            package = streams.withLockedValue { $0[stream] }
        }
        package?.handle(event, rendition: rendition)
    }

    private func packageForPublishing(_ stream: String) -> StreamPackage? {
        let now = Date()
        let result = streams.withLockedValue { streams -> (StreamPackage?, [StreamPackage]) in
            if let existing = streams[stream] { return (existing, []) }
            defer { streamCount.withLockedValue { $0 = streams.count } }
            var dropped: [StreamPackage] = []
            // Streams whose publisher left more than a window ago hold nothing any more.
            for (name, package) in streams where !package.isLive
                && now.timeIntervalSince(package.lastActivity) > configuration.windowSeconds {
                streams[name] = nil
                dropped.append(package)
            }
            if streams.count >= configuration.maximumStreams {
                guard let (name, oldest) = streams.filter({ !$0.value.isLive }).min(by: { $0.value.lastActivity < $1.value.lastActivity })
                else { return (nil, dropped) }
                streams[name] = nil
                dropped.append(oldest)
            }
            let serial = serials.withLockedValue { serial in
                serial += 1
                return serial
            }
            let package = StreamPackage(name: stream, configuration: configuration, serial: serial, streamCount: streamCount,
                                        recorder: recorder, now: now)
            streams[stream] = package
            return (package, dropped)
        }
        for package in result.1 { package.releaseWaiters() }
        if result.0 != nil {
            // One more stream: every other's share of the byte budget shrank.
            let others = streams.withLockedValue { $0.filter { $0.key != stream }.map(\.value) }
            for package in others { package.trim(now: now) }
        }
        if result.0 == nil {
            logger.warning("stream not packaged: too many streams", metadata: ["stream": "\(stream)",
                                                                               "maximum": "\(configuration.maximumStreams)"])
        }
        return result.0
    }

    /// Forgets one stream's window at once (the stream was deleted): its manifests and media answer 404 from now on,
    /// and blocked requests are released.
    public func remove(stream: String) {
        let removed = streams.withLockedValue { streams -> StreamPackage? in
            defer { streamCount.withLockedValue { $0 = streams.count } }
            return streams.removeValue(forKey: stream)
        }
        removed?.releaseWaiters()
    }

    /// Releases blocked requests and forgets every stream.
    public func stop() {
        let all = streams.withLockedValue { streams -> [StreamPackage] in
            defer {
                streams = [:]
                streamCount.withLockedValue { $0 = 0 }
            }
            return Array(streams.values)
        }
        for package in all { package.releaseWaiters() }
        recorder?.stop()
    }

    // MARK: Timed metadata

    public enum EventError: Error, Equatable, Sendable {
        case unknownStream(String)
        case payloadTooLarge(Int)
    }

    /// Puts an event on the stream's timeline (now, unless `at` says otherwise): DASH `EventStream` and in-band `emsg`,
    /// HLS `EXT-X-DATERANGE`. A flash carries its text as payload; an SCTE-35 marker an optional splice_info_section
    /// (a `splice_insert` is generated when it is empty).
    @discardableResult
    public func addEvent(stream: String, at start: Date? = nil, duration: Double? = nil, kind: TimedEvent.Kind,
                         payload: ByteBuffer = ByteBuffer()) throws(EventError) -> TimedEvent {
        guard payload.readableBytes <= 4096 else { throw .payloadTooLarge(payload.readableBytes) }
        guard let package = streams.withLockedValue({ $0[stream] }) else { throw .unknownStream(stream) }
        return package.addEvent(kind: kind, at: start, duration: duration.map { max(0, $0) }, payload: payload)
    }

    // MARK: Serving

    public func isPackaged(_ stream: String) -> Bool {
        streams.withLockedValue { $0[stream] != nil }
    }

    /// Identifies the stream's current packaging run: with a track and a file name, a strong validator of
    /// immutable media (cheaper than hashing the bytes on every request). Nil when the stream is not packaged.
    public func epoch(of stream: String) -> String? {
        streams.withLockedValue { $0[stream] }?.epoch
    }

    func snapshot(_ stream: String) -> StreamPackage.Snapshot? {
        streams.withLockedValue { $0[stream] }?.snapshot()
    }

    /// Track names of a stream (`source-video`, `source-audio`, ...).
    public func tracks(of stream: String) -> [String] {
        snapshot(stream)?.tracks.map(\.name) ?? []
    }

    /// `query` (e.g. `?exp=…&sig=…`) is appended to every URL the manifest names; the same for the playlists below.
    public func dashManifest(stream: String, utcTimingURL: String, query: String = "", now: Date = Date()) -> String? {
        guard let snapshot = snapshot(stream), !snapshot.tracks.isEmpty else { return nil }
        return ManifestRenderer(snapshot: snapshot, configuration: configuration, query: query).dash(utcTimingURL: utcTimingURL, now: now)
    }

    public func multivariantPlaylist(stream: String, query: String = "") -> String? {
        renderedMultivariantPlaylist(stream: stream, query: query)?.text
    }

    public func mediaPlaylist(stream: String, track: String, query: String = "") -> String? {
        renderedMediaPlaylist(stream: stream, track: track, query: query)?.text
    }

    /// The multivariant playlist with its bytes and ETag, made once per change of the stream.
    public func renderedMultivariantPlaylist(stream: String, query: String = "") -> RenderedManifest? {
        streams.withLockedValue { $0[stream] }?.manifest("master \(query)") { snapshot in
            guard !snapshot.tracks.isEmpty else { return nil }
            return ManifestRenderer(snapshot: snapshot, configuration: configuration, query: query).multivariant()
        }
    }

    /// A media playlist with its bytes and ETag, made once per change of the stream.
    public func renderedMediaPlaylist(stream: String, track: String, query: String = "") -> RenderedManifest? {
        streams.withLockedValue { $0[stream] }?.manifest("media \(track) \(query)") { snapshot in
            guard let packaged = snapshot.tracks.first(where: { $0.name == track }) else { return nil }
            return ManifestRenderer(snapshot: snapshot, configuration: configuration, query: query).media(packaged)
        }
    }

    public func initSegment(stream: String, track: String, id: Int) -> ByteBuffer? {
        snapshot(stream)?.tracks.first(where: { $0.name == track })?.initSegments[id]
    }

    public enum SegmentLookup: Sendable {
        case complete(MediaSegment)
        /// Being written: its parts so far; LL-DASH delivers the rest as they come.
        case inProgress(MediaSegment)
        /// The next segment, not started yet.
        case upcoming
        /// Left the window (or never existed).
        case notFound
    }

    public func segment(stream: String, track: String, number: Int) -> SegmentLookup {
        guard let snapshot = snapshot(stream), let packaged = snapshot.tracks.first(where: { $0.name == track }) else { return .notFound }
        if let segment = packaged.window.segment(number: number) {
            return segment.isComplete ? .complete(segment) : .inProgress(segment)
        }
        if number == packaged.window.nextNumber, snapshot.live { return .upcoming }
        return .notFound
    }

    /// Waits for segment `msn` (part `part`) of a track: LL-HLS blocking reload and preload hints, LL-DASH chunks.
    public func waitFor(stream: String, track: String, msn: Int, part: Int?, timeout: Duration) async -> Bool {
        guard let package = streams.withLockedValue({ $0[stream] }) else { return false }
        return await package.wait(track: track, msn: msn, part: part, timeout: timeout)
    }

    /// The newest segment number of a track, and whether the stream is live (bounds for `_HLS_msn`).
    public func newestSegment(stream: String, track: String) -> (number: Int, live: Bool)? {
        guard let snapshot = snapshot(stream), let packaged = snapshot.tracks.first(where: { $0.name == track }) else { return nil }
        return (packaged.window.nextNumber - 1, snapshot.live)
    }

    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
    }
}

extension Packager: Service {
    /// Runs until the node shuts down, then releases held requests and forgets every stream.
    public func run() async throws {
        try? await gracefulShutdown()
        stop()
    }
}

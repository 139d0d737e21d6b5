import CMAF
import Foundation
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore

/// Everything packaged for one stream: its tracks (every rendition's video and audio), publisher sessions, timed
/// events and the requests blocked waiting for new media. Ingest mutates it under one lock, briefly; manifests are
/// rendered outside the lock from a copy-on-write snapshot.
final class StreamPackage: Sendable {
    struct Session {
        var generation: Int
        /// Seconds since the availability start at which the session's timeline starts (its DASH Period start).
        var offsetSeconds: Double
        /// Source decode time mapped to `offsetSeconds`, set by the session's first frame.
        var baseTime: Int64?
        var baseTimescale: Int32 = 1000
    }

    struct Waiter {
        var id: Int
        var track: String
        var msn: Int
        var part: Int?
        var continuation: CheckedContinuation<Bool, Never>
    }

    struct State {
        var availabilityStart: Date
        /// Bumped by everything that can change what a manifest says (a completed part, sessions, configurations,
        /// events, pruning), not by every frame: playlists rendered at one version are reused until the next.
        var version = 0
        var live = false
        var sessions: [Session] = []
        var tracks: [PackagedTrack] = []
        var events: [TimedEvent] = []
        var nextEventID: UInt32 = 1
        var nextInitID = 1
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var lastActivity = Date()
        var lastPrune = Date.distantPast
        /// Per track, the newest segment number handed to the recorder; and the init segments handed to it
        /// (`track/id`).
        var recordedThrough: [String: Int] = [:]
        var recordedInits: Set<String> = []
    }

    struct Snapshot {
        var name: String
        var version: Int
        var availabilityStart: Date
        var live: Bool
        var sessions: [Session]
        var tracks: [PackagedTrack]
        var events: [TimedEvent]
    }

    let name: String
    let configuration: PackagerConfiguration
    /// Names this package's media for validators: a number is never reused for other bytes within one epoch.
    let epoch: String
    private let state: NIOLockedValueBox<State>
    /// How many streams share `configuration.maximumBytes` (kept by the packager).
    private let streamCount: NIOLockedValueBox<Int>
    private let recorder: SegmentRecorder?

    init(name: String, configuration: PackagerConfiguration, serial: Int = 0, streamCount: NIOLockedValueBox<Int> = .init(1),
         recorder: SegmentRecorder? = nil, now: Date = Date()) {
        self.name = name
        self.configuration = configuration
        self.streamCount = streamCount
        self.recorder = recorder
        self.epoch = "\(Int(now.timeIntervalSince1970))-\(serial)"
        // Whole seconds keep the manifests' arithmetic readable.
        self.state = NIOLockedValueBox(State(availabilityStart: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))))
    }

    /// The current state, pruned to the window as of `now` (a stream that stopped still ages out).
    func snapshot(now: Date = Date()) -> Snapshot {
        state.withLockedValue { state in
            pruneIfDue(&state, now: now)
            return Snapshot(name: name, version: state.version, availabilityStart: state.availabilityStart, live: state.live,
                            sessions: state.sessions, tracks: state.tracks, events: state.events)
        }
    }

    /// The version `snapshot(now:)` would have, without building the snapshot.
    func version(now: Date = Date()) -> Int {
        state.withLockedValue { state in
            pruneIfDue(&state, now: now)
            return state.version
        }
    }

    /// Requests come by the thousand per second; ageing out once per half second is plenty.
    private func pruneIfDue(_ state: inout State, now: Date) {
        if now.timeIntervalSince(state.lastPrune) > 0.5 { prune(&state, now: now) }
    }

    /// Rendered manifests by key (kind, track, query) with the version they were rendered at.
    private let rendered = NIOLockedValueBox([String: (version: Int, manifest: RenderedManifest)]())

    /// The text `render` makes of the current snapshot, rendered once per version and key: every LL-HLS player
    /// reloads the same playlist each part, thousands of times between two changes. nil (nothing to render) is not
    /// kept.
    func manifest(_ key: String, now: Date = Date(), render: (Snapshot) -> String?) -> RenderedManifest? {
        let version = version(now: now)
        if let hit = rendered.withLockedValue({ $0[key] }), hit.version == version { return hit.manifest }
        let current = snapshot(now: now)
        guard let text = render(current) else { return nil }
        let manifest = RenderedManifest(text)
        rendered.withLockedValue { cache in
            // Keys differ by track and by signed query (one per five minutes for a private stream): stay small.
            if cache.count >= 64 { cache = cache.filter { $0.value.version == current.version } }
            if cache.count < 64 { cache[key] = (current.version, manifest) }
        }
        return manifest
    }

    /// The bytes this stream's window may hold now: its share of the packager's budget, within its own.
    var byteBudget: Int {
        min(configuration.maximumBytesPerStream, configuration.maximumBytes / max(1, streamCount.withLockedValue { $0 }))
    }

    /// Ages out and trims to the budget now (another stream started and the shares shrank).
    func trim(now: Date = Date()) {
        state.withLockedValue { prune(&$0, now: now) }
    }

    var isLive: Bool { state.withLockedValue { $0.live } }
    var lastActivity: Date { state.withLockedValue { $0.lastActivity } }

    // MARK: Ingest

    func handle(_ event: MediaEvent, rendition: String, now: Date = Date()) {
        var recording: [SegmentRecorder.Item] = []
        let ready: [Waiter] = state.withLockedValue { state in
            state.lastActivity = now
            // A frame changes what manifests say only when it completes a part (`changed`, which prunes and so bumps
            // the version below); sessions and configurations always may.
            if case .frame = event {} else { state.version &+= 1 }
            var changed = false
            switch event {
            case .started(let publisher):
                // The source rendition's sessions define the timeline; other renditions follow them.
                guard rendition == Packager.sourceRendition else { break }
                changed = finishSession(&state)
                let previousEnd = state.tracks.map(\.endSeconds).max() ?? 0
                let offset = max(now.timeIntervalSince(state.availabilityStart), previousEnd)
                state.sessions.append(Session(generation: publisher.generation, offsetSeconds: offset))
                state.live = true
            case .ended:
                guard rendition == Packager.sourceRendition else { break }
                changed = finishSession(&state)
                state.live = false
                if recorder != nil, let generation = state.sessions.last?.generation {
                    recording = newlyCompleted(&state)
                    recording.append(.end(stream: name, session: sessionName(generation), tracks: state.tracks.map(\.name)))
                }
            case .videoConfiguration(let config):
                changed = configure(&state, rendition: rendition, video: config)
            case .audioConfiguration(let config):
                changed = configure(&state, rendition: rendition, audio: config)
            case .frame(let frame):
                changed = push(&state, frame: frame, rendition: rendition)
            }
            if changed, recorder != nil, recording.isEmpty { recording = newlyCompleted(&state) }
            if changed { prune(&state, now: now) }
            return changed ? takeReadyWaiters(&state) : []
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
        recorder?.record(recording)
    }

    /// The recording directory of one publisher session.
    private func sessionName(_ generation: Int) -> String {
        "\(epoch)-g\(generation)"
    }

    /// The segments completed since the last call (and the init segments they need that the recorder has not had),
    /// oldest first per track.
    private func newlyCompleted(_ state: inout State) -> [SegmentRecorder.Item] {
        var items: [SegmentRecorder.Item] = []
        for track in state.tracks {
            let through = state.recordedThrough[track.name] ?? 0
            var fresh: [MediaSegment] = []
            for segment in track.window.segments.reversed() {
                guard segment.number > through else { break }
                if segment.isComplete { fresh.append(segment) }
            }
            guard let newest = fresh.first else { continue }
            state.recordedThrough[track.name] = newest.number
            for segment in fresh.reversed() {
                let session = sessionName(segment.generation)
                let initKey = "\(track.name)/\(segment.initID)"
                if !state.recordedInits.contains(initKey), let data = track.initSegments[segment.initID] {
                    state.recordedInits.insert(initKey)
                    items.append(.initialization(stream: name, session: session, track: track.name, id: segment.initID, data: data))
                }
                items.append(.segment(stream: name, session: session, track: track.name, number: segment.number,
                                      initID: segment.initID, seconds: Double(segment.duration) / Double(track.timescale),
                                      parts: segment.parts.map(\.data)))
            }
        }
        return items
    }

    private func finishSession(_ state: inout State) -> Bool {
        guard let session = state.sessions.last else { return false }
        var changed = false
        for index in state.tracks.indices {
            changed = state.tracks[index].finish(generation: session.generation) || changed
            state.tracks[index].lastAudioTime = nil
        }
        return changed
    }

    private func configure(_ state: inout State, rendition: String, video config: VideoTrackConfig) -> Bool {
        guard config.codec == .h264, config.width > 0, config.height > 0,
              (try? AVCDecoderConfigurationRecord.parse(config.decoderConfiguration)) != nil else { return false }
        let track = CMAFTrack(trackID: 1, timescale: 90000,
                              codec: .avc(width: config.width, height: config.height, configuration: config.decoderConfiguration))
        return install(&state, name: "\(rendition)-video", rendition: rendition, track: track, frameRate: config.declaredFrameRate)
    }

    private func configure(_ state: inout State, rendition: String, audio config: AudioTrackConfig) -> Bool {
        guard config.codec == .aac, let asc = try? AudioSpecificConfig.parse(config.decoderConfiguration),
              (1000...192_000).contains(asc.sampleRate) else { return false }
        let track = CMAFTrack(trackID: 1, timescale: UInt32(asc.sampleRate),
                              codec: .aac(sampleRate: asc.sampleRate, channels: asc.channelCount ?? config.channels,
                                          audioSpecificConfig: config.decoderConfiguration))
        return install(&state, name: "\(rendition)-audio", rendition: rendition, track: track, frameRate: nil)
    }

    private func install(_ state: inout State, name: String, rendition: String, track: CMAFTrack, frameRate: Double?) -> Bool {
        let initID = state.nextInitID
        if let index = state.tracks.firstIndex(where: { $0.name == name }) {
            state.tracks[index].declaredFrameRate = frameRate ?? state.tracks[index].declaredFrameRate
            guard state.tracks[index].track != track else { return false }
            // A new configuration: close what was cut with the old one, continue with a new init segment.
            var changed = false
            if let session = state.sessions.last {
                changed = state.tracks[index].finish(generation: session.generation)
            }
            if track.timescale != state.tracks[index].track.timescale {
                state.tracks[index].segmenter = PackagedTrack.segmenter(for: track, configuration: configuration)
                state.tracks[index].lastAudioTime = nil
            }
            state.tracks[index].track = track
            state.tracks[index].currentInitID = initID
            state.tracks[index].initSegments[initID] = InitSegment.make(track)
            state.tracks[index].dropUnusedInitSegments()
            state.nextInitID += 1
            return changed
        }
        let renditions = Set(state.tracks.map(\.rendition))
        guard renditions.contains(rendition) || renditions.count < configuration.maximumRenditions else { return false }
        var packaged = PackagedTrack(name: name, rendition: rendition, track: track, configuration: configuration, initID: initID)
        packaged.declaredFrameRate = frameRate
        state.tracks.append(packaged)
        state.nextInitID += 1
        return false
    }

    private func push(_ state: inout State, frame: EncodedFrame, rendition: String) -> Bool {
        guard frame.timescale > 0, frame.data.readableBytes > 0, frame.data.readableBytes <= configuration.maximumSampleBytes,
              let sessionIndex = state.sessions.indices.last else { return false }
        let kind = frame.kind
        guard let index = state.tracks.firstIndex(where: { $0.rendition == rendition && $0.kind == kind }) else { return false }
        let codecMatches = (kind == .video && frame.codec == .h264) || (kind == .audio && frame.codec == .aac)
        guard codecMatches else { return false }
        if state.sessions[sessionIndex].baseTime == nil {
            state.sessions[sessionIndex].baseTime = frame.dts
            state.sessions[sessionIndex].baseTimescale = frame.timescale
        }
        let session = state.sessions[sessionIndex]
        let timescale = Int64(state.tracks[index].timescale)
        let offsetTicks = Int64((session.offsetSeconds * Double(timescale)).rounded())
        let relative = Self.rescale(frame.dts, from: Int64(frame.timescale), to: timescale)
            - Self.rescale(session.baseTime ?? 0, from: Int64(session.baseTimescale), to: timescale)
        var decodeTime = max(0, offsetTicks + relative)
        if kind == .audio {
            // AAC frames are 1024 samples; millisecond timestamps jitter around that. Snap to the sample count
            // while they agree within 20 ms, resynchronise when they do not (a gap in the source).
            if let last = state.tracks[index].lastAudioTime {
                let expected = Int64(last) + 1024
                if abs(decodeTime - expected) <= timescale / 50 { decodeTime = expected }
            }
            state.tracks[index].lastAudioTime = UInt64(decodeTime)
        }
        let compositionOffset = Self.rescale(frame.pts - frame.dts, from: Int64(frame.timescale), to: timescale)
        let sample = TrackSegmenter.Sample(decodeTime: UInt64(decodeTime),
                                           compositionOffset: Int32(clamping: compositionOffset),
                                           isSync: kind == .audio || frame.isKeyframe, data: frame.data)
        return state.tracks[index].push(sample, generation: session.generation)
    }

    static func rescale(_ value: Int64, from: Int64, to: Int64) -> Int64 {
        from == to ? value : (value * to) / from
    }

    /// Drops what is older than the window or over the byte budget, and the events and sessions nothing refers to.
    private func prune(_ state: inout State, now: Date) {
        state.lastPrune = now
        state.version &+= 1
        // The window ends at the newer of the wall clock and the media written (a publisher may run ahead of real time).
        let newest = state.tracks.map(\.endSeconds).max() ?? 0
        let horizon = max(now.timeIntervalSince(state.availabilityStart), newest) - configuration.windowSeconds
        for index in state.tracks.indices {
            let timescale = Double(state.tracks[index].timescale)
            while let first = state.tracks[index].window.segments.first, first.isComplete,
                  Double(first.endTime) / timescale < horizon {
                state.tracks[index].window.evictOldest()
            }
        }
        var total = state.tracks.reduce(0) { $0 + $1.window.byteCount }
        let budget = byteBudget
        while total > budget {
            // The oldest complete segment of any track goes first.
            var oldest: (index: Int, start: Double)?
            for index in state.tracks.indices {
                guard let first = state.tracks[index].window.segments.first, first.isComplete else { continue }
                let start = Double(first.startTime) / Double(state.tracks[index].timescale)
                if oldest == nil || start < oldest!.start { oldest = (index, start) }
            }
            guard let oldest else { break }
            total -= state.tracks[oldest.index].window.evictOldest()
        }
        for index in state.tracks.indices { state.tracks[index].dropUnusedInitSegments() }
        let earliest = state.tracks.compactMap { track in
            track.window.segments.first.map { Double($0.startTime) / Double(track.timescale) }
        }.min() ?? 0
        state.events.removeAll { event in
            let end = event.start.timeIntervalSince(state.availabilityStart) + (event.duration ?? 0)
            return end < earliest
        }
        let generations = Set(state.tracks.flatMap { $0.window.segments.map(\.generation) })
        while state.sessions.count > 1, !generations.contains(state.sessions[0].generation) {
            state.sessions.removeFirst()
        }
    }

    // MARK: Events

    func addEvent(kind: TimedEvent.Kind, at start: Date?, duration: Double?, payload: ByteBuffer, now: Date = Date()) -> TimedEvent {
        state.withLockedValue { state in
            let event = TimedEvent(id: state.nextEventID, kind: kind, start: start ?? now, duration: duration, payload: payload)
            state.nextEventID &+= 1
            state.version &+= 1
            if state.events.count >= configuration.maximumEvents { state.events.removeFirst() }
            state.events.append(event)
            let seconds = max(0, event.start.timeIntervalSince(state.availabilityStart))
            for index in state.tracks.indices where state.tracks[index].kind == .video {
                let timescale = state.tracks[index].timescale
                state.tracks[index].segmenter.enqueue(EventMessage(
                    schemeIDURI: event.schemeIDURI, value: "1", timescale: timescale,
                    presentationTime: UInt64(seconds * Double(timescale)),
                    eventDuration: event.duration.map { UInt32(clamping: Int64($0 * Double(timescale))) } ?? 0xFFFF_FFFF,
                    id: event.id, messageData: event.messageData))
            }
            return event
        }
    }

    // MARK: Blocking reload

    /// Waits until segment `msn` (part `part`) of `track` exists, or `timeout` passes; true when it exists.
    func wait(track: String, msn: Int, part: Int?, timeout: Duration) async -> Bool {
        let id: Int? = state.withLockedValue { state in
            guard let track = state.tracks.first(where: { $0.name == track }) else { return -1 }
            if track.window.reached(msn: msn, part: part) { return -2 }
            guard state.waiters.count < 4096 else { return -1 }
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        guard let id, id >= 0 else { return id == -2 }
        return await withCheckedContinuation { continuation in
            let registered = state.withLockedValue { state -> Bool in
                // Media may have arrived between the check and here.
                if let packaged = state.tracks.first(where: { $0.name == track }), packaged.window.reached(msn: msn, part: part) {
                    return false
                }
                state.waiters.append(Waiter(id: id, track: track, msn: msn, part: part, continuation: continuation))
                return true
            }
            guard registered else { continuation.resume(returning: true); return }
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.expireWaiter(id)
            }
        }
    }

    private func expireWaiter(_ id: Int) {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    private func takeReadyWaiters(_ state: inout State) -> [Waiter] {
        guard !state.waiters.isEmpty else { return [] }
        var ready: [Waiter] = []
        state.waiters.removeAll { waiter in
            guard let track = state.tracks.first(where: { $0.name == waiter.track }),
                  track.window.reached(msn: waiter.msn, part: waiter.part) else { return false }
            ready.append(waiter)
            return true
        }
        return ready
    }

    /// Releases every blocked request (shutdown, stream dropped).
    func releaseWaiters() {
        let waiters = state.withLockedValue { state -> [Waiter] in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: false) }
    }
}

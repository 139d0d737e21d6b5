import CMAF
import Foundation
import MediaCore

/// Renders a stream snapshot as an MPD and HLS playlists.
///
/// URL scheme (manifests refer to media relatively, so a cache or proxy in front works unchanged):
/// `/dash/{stream}/manifest.mpd`, `/hls/{stream}/master.m3u8`, `/hls/{stream}/{track}.m3u8`, and the shared media
/// `/cmaf/{stream}/{track}/init-{id}.mp4`, `/cmaf/{stream}/{track}/{number}.m4s`, `/cmaf/{stream}/{track}/{number}.{part}.m4s`.
struct ManifestRenderer {
    let snapshot: StreamPackage.Snapshot
    let configuration: PackagerConfiguration
    /// Appended to every URL the manifest names (`?exp=…&sig=…` for a private stream), or empty.
    var query = ""

    var mediaBase: String { "../../cmaf/\(snapshot.name)/" }

    /// The longest segment held, in seconds: what the manifests announce as the target / maximum.
    var longestSegment: Double {
        var longest = configuration.segmentSeconds
        for track in snapshot.tracks {
            for segment in track.window.segments where segment.isComplete {
                longest = max(longest, Double(segment.duration) / Double(track.timescale))
            }
        }
        return longest
    }

    // MARK: DASH

    func dash(utcTimingURL: String, now: Date) -> String {
        let longest = longestSegment
        var periods: [DASHManifest.Period] = []
        let generations = snapshot.sessions.map(\.generation)
        for (sessionIndex, session) in snapshot.sessions.enumerated() {
            var videoRepresentations: [DASHManifest.Representation] = []
            var audioRepresentations: [DASHManifest.Representation] = []
            for track in snapshot.tracks {
                let segments = track.window.segments.filter { $0.generation == session.generation && $0.isComplete }
                guard let first = segments.first, track.initSegments[first.initID] != nil else { continue }
                let timescale = track.timescale
                let bandwidth = track.bandwidth
                let representation = DASHManifest.Representation(
                    id: track.name, bandwidth: bandwidth.peak, codecs: track.track.codecsString,
                    width: track.kind == .video ? track.width : nil, height: track.kind == .video ? track.height : nil,
                    frameRate: track.frameRate.map(Self.frameRateString),
                    audioSamplingRate: track.kind == .audio ? Int(timescale) : nil,
                    audioChannels: track.kind == .audio ? track.channels : nil,
                    timescale: timescale,
                    presentationTimeOffset: UInt64((session.offsetSeconds * Double(timescale)).rounded()),
                    startNumber: first.number,
                    timeline: DASHManifest.TimelineEntry.runs(segments.map { ($0.startTime, $0.duration) }),
                    initialization: "\(mediaBase)\(track.name)/init-\(first.initID).mp4\(query)",
                    media: "\(mediaBase)$RepresentationID$/$Number$.m4s\(query)")
                if track.kind == .video { videoRepresentations.append(representation) } else { audioRepresentations.append(representation) }
            }
            guard !videoRepresentations.isEmpty || !audioRepresentations.isEmpty else { continue }
            var sets: [DASHManifest.AdaptationSet] = []
            let schemes = [TimedEvent.flashScheme, TimedEvent.scte35Scheme]
            if !videoRepresentations.isEmpty {
                sets.append(.init(id: 0, contentType: "video", mimeType: "video/mp4",
                                  representations: videoRepresentations.sorted { $0.bandwidth > $1.bandwidth },
                                  inbandEventSchemes: schemes))
            }
            if !audioRepresentations.isEmpty {
                sets.append(.init(id: 1, contentType: "audio", mimeType: "audio/mp4", representations: audioRepresentations))
            }
            let nextOffset = sessionIndex + 1 < snapshot.sessions.count ? snapshot.sessions[sessionIndex + 1].offsetSeconds : .infinity
            periods.append(.init(id: "p\(session.generation)", start: session.offsetSeconds, adaptationSets: sets,
                                 eventStreams: eventStreams(from: session.offsetSeconds, to: nextOffset)))
        }
        _ = generations
        let manifest = DASHManifest(
            availabilityStartTime: snapshot.availabilityStart, publishTime: now,
            timeShiftBufferDepth: configuration.windowSeconds,
            minimumUpdatePeriod: min(configuration.segmentSeconds, 2),
            suggestedPresentationDelay: max(3 * configuration.partSeconds, longest + configuration.partSeconds),
            minBufferTime: longest, maxSegmentDuration: longest, utcTimingURL: utcTimingURL,
            availabilityTimeOffset: max(0, configuration.segmentSeconds - configuration.partSeconds),
            periods: periods)
        return manifest.xml()
    }

    private func eventStreams(from start: Double, to end: Double) -> [DASHManifest.EventStream] {
        var flashes: [DASHManifest.Event] = []
        var splices: [DASHManifest.Event] = []
        for event in snapshot.events {
            let seconds = event.start.timeIntervalSince(snapshot.availabilityStart)
            guard seconds >= start, seconds < end else { continue }
            let time = UInt64(((seconds - start) * 1000).rounded())
            let duration = event.duration.map { UInt64(($0 * 1000).rounded()) }
            switch event.kind {
            case .flash:
                flashes.append(.init(id: event.id, presentationTime: time, duration: duration,
                                     content: String(decoding: event.payload.readableBytesView, as: UTF8.self), contentIsXML: false))
            case .scte35:
                let binary = Data(event.messageData.readableBytesView).base64EncodedString()
                splices.append(.init(id: event.id, presentationTime: time, duration: duration,
                                     content: "<scte35:Signal><scte35:Binary>\(binary)</scte35:Binary></scte35:Signal>",
                                     contentIsXML: true))
            }
        }
        return [.init(schemeIDURI: TimedEvent.flashScheme, value: "1", timescale: 1000, events: flashes),
                .init(schemeIDURI: TimedEvent.scte35Scheme, value: "1", timescale: 1000, events: splices)]
    }

    static func frameRateString(_ rate: Double) -> String {
        let rounded = rate.rounded()
        if abs(rate - rounded) < 0.01 { return "\(Int(rounded))" }
        let ntsc = (rate * 1.001).rounded()
        if abs(rate - ntsc / 1.001) < 0.01 { return "\(Int(ntsc) * 1000)/1001" }
        return "\(Int((rate * 1000).rounded()))/1000"
    }

    // MARK: HLS

    func multivariant() -> String {
        let audio = snapshot.tracks.filter { $0.kind == .audio }
        let audioBandwidth: (peak: Int, average: Int) = audio.first?.bandwidth ?? (0, 0)
        let audioCodecs = audio.first.map { "," + $0.track.codecsString } ?? ""
        let variants = snapshot.tracks.filter { $0.kind == .video }.map { track in
            let bandwidth = track.bandwidth
            return HLSMultivariantPlaylist.Variant(
                uri: "\(track.name).m3u8\(query)", bandwidth: bandwidth.peak + audioBandwidth.peak,
                averageBandwidth: bandwidth.average + audioBandwidth.average,
                codecs: track.track.codecsString + audioCodecs, width: track.width, height: track.height, frameRate: track.frameRate)
        }.sorted { $0.bandwidth > $1.bandwidth }
        let audioEntries = audio.map { HLSMultivariantPlaylist.Audio(uri: "\($0.name).m3u8\(query)", name: $0.rendition, channels: $0.channels) }
        if variants.isEmpty {
            // Audio only: the audio playlists are the variants.
            return HLSMultivariantPlaylist(variants: [], audio: []).text()
                + audio.map { "#EXT-X-STREAM-INF:BANDWIDTH=\($0.bandwidth.peak),CODECS=\"\($0.track.codecsString)\"\n\($0.name).m3u8\(query)\n" }.joined()
        }
        return HLSMultivariantPlaylist(variants: variants, audio: audioEntries).text()
    }

    func media(_ track: PackagedTrack) -> String {
        let timescale = Double(track.timescale)
        let base = "\(mediaBase)\(track.name)/"
        let segments = track.window.segments
        let complete = segments.filter(\.isComplete)
        // Parts are listed for the newest segments only (RFC 8216bis: at least the last three target durations).
        let partHorizon = max(0, complete.count - 3)
        var previousGeneration = segments.first?.generation
        var hlsSegments: [HLSMediaPlaylist.Segment] = []
        for (index, segment) in complete.enumerated() {
            let parts = index >= partHorizon ? segment.parts.map { part in
                HLSMediaPlaylist.Part(uri: "\(base)\(segment.number).\(part.index).m4s\(query)", duration: Double(part.duration) / timescale,
                                      independent: part.independent)
            } : []
            hlsSegments.append(.init(uri: "\(base)\(segment.number).m4s\(query)", duration: Double(segment.duration) / timescale,
                                     programDateTime: snapshot.availabilityStart.addingTimeInterval(Double(segment.startTime) / timescale),
                                     parts: parts, discontinuity: segment.generation != previousGeneration,
                                     initURI: "\(base)init-\(segment.initID).mp4\(query)"))
            previousGeneration = segment.generation
        }
        var pendingParts: [HLSMediaPlaylist.Part] = []
        var pendingInit: String?
        var pendingDiscontinuity = false
        var hint: String?
        if let open = track.window.openSegment {
            pendingParts = open.parts.map { part in
                HLSMediaPlaylist.Part(uri: "\(base)\(open.number).\(part.index).m4s\(query)", duration: Double(part.duration) / timescale,
                                      independent: part.independent)
            }
            pendingInit = "\(base)init-\(open.initID).mp4\(query)"
            pendingDiscontinuity = open.generation != previousGeneration
            if snapshot.live { hint = "\(base)\(open.number).\(open.parts.count).m4s\(query)" }
        } else if snapshot.live {
            hint = "\(base)\(track.window.nextNumber).0.m4s\(query)"
        }
        if hlsSegments.isEmpty, let open = track.window.openSegment {
            // Nothing complete yet: the map and date still have to come first.
            pendingInit = "\(base)init-\(open.initID).mp4\(query)"
            pendingDiscontinuity = false
        }
        var longest = configuration.segmentSeconds
        for segment in complete { longest = max(longest, Double(segment.duration) / timescale) }
        let dateRanges = snapshot.events.map { event -> HLSMediaPlaylist.DateRange in
            switch event.kind {
            case .flash:
                return .init(id: "flash-\(event.id)", startDate: event.start, duration: event.duration, className: "com.liverelay.flash",
                             clientAttributes: [("MESSAGE", String(decoding: event.payload.readableBytesView, as: UTF8.self))])
            case .scte35(let out):
                let hex = "0x" + event.messageData.readableBytesView.map { CMAFTrack.hexByte($0) }.joined().uppercased()
                return .init(id: "splice-\(event.id)", startDate: event.start, duration: event.duration,
                             scte35Out: out ? hex : nil, scte35In: out ? nil : hex)
            }
        }
        return HLSMediaPlaylist(targetDuration: Int(longest.rounded(.up)), partTarget: configuration.partSeconds,
                                mediaSequence: segments.first?.number ?? track.window.nextNumber,
                                discontinuitySequence: track.window.evictedDiscontinuities, segments: hlsSegments,
                                pendingParts: pendingParts, pendingInitURI: pendingInit, pendingDiscontinuity: pendingDiscontinuity,
                                preloadHint: hint, dateRanges: dateRanges, canBlockReload: true).text()
    }
}

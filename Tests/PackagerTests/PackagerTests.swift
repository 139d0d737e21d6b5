import CMAF
import Foundation
import MediaCore
import MediaRouter
import NIOCore
@testable import Packager
import Testing

@Suite("Packager with synthetic frames")
struct PackagerTests {
    static func packager(_ adjust: (inout PackagerConfiguration) -> Void = { _ in }) -> Packager {
        var configuration = PackagerConfiguration()
        adjust(&configuration)
        return Packager(configuration: configuration)
    }

    @Test func segmentsStartOnKeyframesWithContinuousDecodeTimes() throws {
        var source = SyntheticStream(packager: Self.packager())
        source.start()
        source.send(seconds: 10.1)
        let video = source.segments("source-video").filter(\.isComplete)
        #expect(video.count == 5)
        for (index, segment) in video.enumerated() {
            #expect(segment.duration == 180_000, "segment \(segment.number) lasts \(segment.duration)")
            let bytes = SegmentInspector.concatenated(segment)
            #expect(SegmentInspector.startsWithSyncSample(bytes))
            #expect(segment.parts.first?.independent == true)
            #expect(segment.parts.count == 4)
            #expect(segment.parts.allSatisfy { $0.duration <= 45000 })
            // Every chunk's tfdt continues the previous one.
            let times = SegmentInspector.decodeTimes(bytes)
            #expect(times.count == segment.parts.count)
            var expected = segment.startTime
            for (time, part) in zip(times, segment.parts) {
                #expect(time == expected)
                expected += part.duration
            }
            if index > 0 { #expect(segment.startTime == video[index - 1].endTime) }
        }
        let audio = source.segments("source-audio").filter(\.isComplete)
        #expect(audio.count >= 4)
        for (index, segment) in audio.enumerated() where index > 0 {
            #expect(segment.startTime == audio[index - 1].endTime)
            #expect(segment.duration % 1024 == 0)
        }
    }

    @Test func longGOPMakesLongerSegmentsAndTheManifestsSaySo() throws {
        var source = SyntheticStream(packager: Self.packager(), gopFrames: 150)
        source.start()
        source.send(seconds: 16)
        let video = source.segments("source-video").filter(\.isComplete)
        #expect(video.count == 3)
        #expect(video.allSatisfy { $0.duration == 450_000 })
        let playlist = try #require(source.packager.mediaPlaylist(stream: "cam", track: "source-video"))
        #expect(playlist.contains("#EXT-X-TARGETDURATION:5\n"))
        #expect(playlist.contains("#EXTINF:5,"))
        let mpd = try #require(source.packager.dashManifest(stream: "cam", utcTimingURL: "http://x/api/time"))
        #expect(mpd.contains(#"maxSegmentDuration="PT5S""#))
        #expect(mpd.contains(#"d="450000""#))
    }

    @Test func windowDropsOldSegmentsAndManifestsAdvertiseOnlyWhatIsHeld() throws {
        var source = SyntheticStream(packager: Self.packager { $0.windowSeconds = 20 })
        source.start()
        source.send(seconds: 60)
        let video = source.segments("source-video")
        let first = try #require(video.first)
        #expect(first.number > 15)
        let timescale = 90000.0
        let newest = Double(video.last!.endTime) / timescale
        #expect(newest - Double(first.startTime) / timescale <= 22.5)
        guard case .notFound = source.packager.segment(stream: "cam", track: "source-video", number: 1) else {
            Issue.record("segment 1 should be gone"); return
        }
        let playlist = try #require(source.packager.mediaPlaylist(stream: "cam", track: "source-video"))
        #expect(playlist.contains("#EXT-X-MEDIA-SEQUENCE:\(first.number)\n"))
        #expect(!playlist.contains("/1.m4s"))
        let mpd = try #require(source.packager.dashManifest(stream: "cam", utcTimingURL: "u"))
        #expect(mpd.contains(#"startNumber="\#(first.number)""#))
    }

    @Test func byteBudgetIsHard() {
        var source = SyntheticStream(packager: Self.packager { $0.maximumBytesPerStream = 200_000 })
        source.start()
        source.send(seconds: 40)
        let held = source.segments("source-video").reduce(0) { $0 + $1.byteCount }
            + source.segments("source-audio").reduce(0) { $0 + $1.byteCount }
        #expect(held <= 200_000 + 40_000, "held \(held) bytes")  // plus at most the segments being written
        #expect(source.segments("source-video").count >= 2)
    }

    @Test func streamsShareTheWholeBudget() {
        let packager = Self.packager { $0.maximumBytes = 400_000 }
        var first = SyntheticStream(packager: packager, stream: "one")
        first.start()
        first.send(seconds: 40)
        func held(_ source: SyntheticStream) -> Int {
            source.segments("source-video").reduce(0) { $0 + $1.byteCount } + source.segments("source-audio").reduce(0) { $0 + $1.byteCount }
        }
        #expect(held(first) <= 400_000 + 40_000 && held(first) > 200_000 + 40_000, "alone, the whole budget: \(held(first))")
        // A second stream halves the first one's share at once, before either sends more.
        var second = SyntheticStream(packager: packager, stream: "two")
        second.start()
        #expect(held(first) <= 200_000 + 40_000, "held \(held(first)) bytes")
        second.send(seconds: 40)
        #expect(held(second) <= 200_000 + 40_000 && held(second) > 100_000, "held \(held(second)) bytes")
    }

    @Test func blockingWaitReturnsWhenThePartExists() async throws {
        var source = SyntheticStream(packager: Self.packager())
        source.start()
        source.send(seconds: 2.6)
        let packager = source.packager
        let (number, _) = try #require(packager.newestSegment(stream: "cam", track: "source-video"))
        guard case .inProgress(let open) = packager.segment(stream: "cam", track: "source-video", number: number) else {
            Issue.record("expected a segment being written"); return
        }
        let nextPart = open.parts.count
        let feeder = Task { [source] in
            var source = source
            try await Task.sleep(for: .milliseconds(300))
            source.send(seconds: 0.6)
        }
        let arrived = await packager.waitFor(stream: "cam", track: "source-video", msn: number, part: nextPart, timeout: .seconds(5))
        // It returned because the part exists (not at its timeout): the part is there now.
        #expect(arrived)
        if case .inProgress(let now) = packager.segment(stream: "cam", track: "source-video", number: number) {
            #expect(now.parts.count > nextPart)
        }
        try await feeder.value
        // Nothing more comes: the wait times out.
        let timedOut = await packager.waitFor(stream: "cam", track: "source-video", msn: number + 5, part: 0, timeout: .milliseconds(200))
        #expect(!timedOut)
    }

    @Test func reconnectStartsANewPeriodAndADiscontinuity() throws {
        var source = SyntheticStream(packager: Self.packager())
        source.start(generation: 1)
        source.send(seconds: 6.1)
        source.end()
        source.start(generation: 2)
        source.send(seconds: 6.1)
        let video = source.segments("source-video").filter(\.isComplete)
        #expect(Set(video.map(\.generation)) == [1, 2])
        for index in video.indices.dropFirst() { #expect(video[index].startTime >= video[index - 1].endTime) }
        let mpd = try #require(source.packager.dashManifest(stream: "cam", utcTimingURL: "u"))
        #expect(mpd.contains(#"<Period id="p1""#) && mpd.contains(#"<Period id="p2""#))
        let playlist = try #require(source.packager.mediaPlaylist(stream: "cam", track: "source-video"))
        #expect(playlist.components(separatedBy: "#EXT-X-DISCONTINUITY\n").count == 2)
        // The same configuration keeps its init segment; the map is repeated after the discontinuity.
        #expect(playlist.components(separatedBy: "#EXT-X-MAP:").count == 3)
    }

    /// Playlists are rendered once per change and reused: the reused text must never be stale. A playlist asked for
    /// again without a change is the same; a new part, an event or a reconnect shows at the next request.
    @Test func cachedPlaylistsFollowEveryChange() throws {
        var source = SyntheticStream(packager: Self.packager())
        source.start()
        source.send(seconds: 2.1)
        let packager = source.packager
        let first = try #require(packager.mediaPlaylist(stream: "cam", track: "source-video"))
        #expect(packager.mediaPlaylist(stream: "cam", track: "source-video") == first)
        // Served as rendered: the same bytes and ETag until the stream changes; the ETag is that of the bytes.
        let rendered = try #require(packager.renderedMediaPlaylist(stream: "cam", track: "source-video"))
        #expect(rendered.text == first && rendered.bytes == ByteBuffer(string: first))
        #expect(rendered.etag == RenderedManifest.etag([ByteBuffer(string: first)]))
        #expect(packager.renderedMediaPlaylist(stream: "cam", track: "source-video")?.etag == rendered.etag)
        let signed = try #require(packager.mediaPlaylist(stream: "cam", track: "source-video", query: "?exp=1&sig=a"))
        #expect(signed != first && signed.contains(".m4s?exp=1&sig=a"))
        source.send(seconds: 0.5)
        let later = try #require(packager.mediaPlaylist(stream: "cam", track: "source-video"))
        #expect(later != first)
        #expect(packager.renderedMediaPlaylist(stream: "cam", track: "source-video")?.etag != rendered.etag)
        #expect(later.components(separatedBy: "#EXT-X-PART:").count > first.components(separatedBy: "#EXT-X-PART:").count)
        try packager.addEvent(stream: "cam", duration: 10, kind: .flash, payload: ByteBuffer(string: "Now"))
        #expect(try #require(packager.mediaPlaylist(stream: "cam", track: "source-video")).contains(#"X-MESSAGE="Now""#))
        let master = try #require(packager.multivariantPlaylist(stream: "cam"))
        #expect(packager.multivariantPlaylist(stream: "cam") == master)
        source.start(generation: 2)
        source.send(seconds: 2.1)
        #expect(try #require(packager.mediaPlaylist(stream: "cam", track: "source-video")).contains("#EXT-X-DISCONTINUITY"))
        #expect(packager.mediaPlaylist(stream: "cam", track: "no-such-track") == nil)
    }

    @Test func eventsReachTheMPDThePlaylistAndTheSegments() throws {
        var source = SyntheticStream(packager: Self.packager())
        source.start()
        source.send(seconds: 2.1)
        let packager = source.packager
        try packager.addEvent(stream: "cam", duration: 10, kind: .flash, payload: ByteBuffer(string: "Storm warning"))
        try packager.addEvent(stream: "cam", duration: 30, kind: .scte35(outOfNetwork: true))
        source.send(seconds: 2)
        let mpd = try #require(packager.dashManifest(stream: "cam", utcTimingURL: "u"))
        #expect(mpd.contains(#"<EventStream schemeIdUri="urn:scte:scte35:2014:xml+bin""#))
        #expect(mpd.contains("<scte35:Binary>/D"))
        #expect(mpd.contains(">Storm warning</Event>"))
        let playlist = try #require(packager.mediaPlaylist(stream: "cam", track: "source-video"))
        #expect(playlist.contains(#"CLASS="com.liverelay.flash""#) && playlist.contains(#"X-MESSAGE="Storm warning""#))
        #expect(playlist.contains("SCTE35-OUT=0xFC"))
        #expect(playlist.contains("DURATION=30"))
        let video = source.segments("source-video")
        let emsgCount = video.flatMap(\.parts).map { SegmentInspector.boxes($0.data).filter { $0.type == "emsg" }.count }.reduce(0, +)
        #expect(emsgCount == 2)
        #expect(throws: Packager.EventError.unknownStream("nope")) {
            try packager.addEvent(stream: "nope", kind: .flash)
        }
    }

    @Test func hostileInputIsDropped() throws {
        let packager = Self.packager { $0.maximumSampleBytes = 10_000 }
        // Frames before any session, and events for unknown streams, change nothing.
        packager.handle(.frame(EncodedFrame(codec: .h264, pts: 0, dts: 0, timescale: 1000, isKeyframe: true, data: ByteBuffer(bytes: [1]))),
                        stream: "cam")
        #expect(!packager.isPackaged("cam"))
        var source = SyntheticStream(packager: packager)
        source.start()
        // A broken avcC is refused; an oversized frame and a frame going back in time are dropped.
        packager.handle(.videoConfiguration(VideoTrackConfig(codec: .h264, width: 640, height: 360, decoderConfiguration: ByteBuffer(bytes: [9]))),
                        stream: "cam")
        packager.handle(.frame(EncodedFrame(codec: .h264, pts: 0, dts: 0, timescale: 1000, isKeyframe: true,
                                            data: ByteBuffer(repeating: 0, count: 20_000))), stream: "cam")
        source.send(seconds: 4.1)
        packager.handle(.frame(EncodedFrame(codec: .h264, pts: 10, dts: 10, timescale: 1000, isKeyframe: false, data: ByteBuffer(bytes: [1]))),
                        stream: "cam")
        packager.handle(.frame(EncodedFrame(codec: .vp8, pts: 5000, dts: 5000, timescale: 0, isKeyframe: true, data: ByteBuffer(bytes: [1]))),
                        stream: "cam")
        source.send(seconds: 2)
        let video = source.segments("source-video").filter(\.isComplete)
        #expect(video.count == 3)
        #expect(video.allSatisfy { $0.duration == 180_000 })
        // Unsafe rendition names are ignored.
        packager.ingest(.videoConfiguration(VideoTrackConfig(codec: .h264, width: 640, height: 360, decoderConfiguration: SyntheticStream.avcC)),
                        stream: "cam", rendition: "../x")
        #expect(packager.tracks(of: "cam").sorted() == ["source-audio", "source-video"])
    }

    @Test func aSecondRenditionJoinsTheManifests() throws {
        var source = SyntheticStream(packager: Self.packager())
        source.start()
        let packager = source.packager
        packager.ingest(.videoConfiguration(VideoTrackConfig(codec: .h264, width: 640, height: 360, declaredFrameRate: 30,
                                                             decoderConfiguration: SyntheticStream.avcC)), stream: "cam", rendition: "360p")
        for frame in 0..<130 {
            source.send(seconds: 1.0 / 30)
            let ms = Int64((Double(frame) / 30 * 1000).rounded(.down))
            packager.ingest(.frame(EncodedFrame(codec: .h264, pts: ms, dts: ms, timescale: 1000, isKeyframe: frame % 60 == 0,
                                                data: ByteBuffer(repeating: 1, count: 100))), stream: "cam", rendition: "360p")
        }
        let master = try #require(packager.multivariantPlaylist(stream: "cam"))
        #expect(master.contains("RESOLUTION=1280x720") && master.contains("RESOLUTION=640x360"))
        #expect(master.contains("360p-video.m3u8"))
        let mpd = try #require(packager.dashManifest(stream: "cam", utcTimingURL: "u"))
        #expect(mpd.contains(#"<Representation id="360p-video""#) && mpd.contains(#"<Representation id="source-video""#))
        let rung = source.segments("360p-video").filter(\.isComplete)
        let top = source.segments("source-video").filter(\.isComplete)
        #expect(rung.map(\.startTime) == top.map(\.startTime))
    }
}

import CMAF
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite("MPD and m3u8 writers")
struct ManifestWriterTests {
    @Test func timelineRunLengthCodes() {
        let runs = DASHManifest.TimelineEntry.runs([(0, 180000), (180000, 180000), (360000, 180000), (540000, 90000), (700000, 90000)])
        #expect(runs == [.init(time: 0, duration: 180000, repeatCount: 2), .init(time: 540000, duration: 90000),
                         .init(time: 700000, duration: 90000)])
    }

    static func manifest() -> DASHManifest {
        let video = DASHManifest.Representation(id: "source-video", bandwidth: 3_000_000, codecs: "avc1.64001f", width: 1280, height: 720,
                                                frameRate: "30", timescale: 90000, presentationTimeOffset: 900000, startNumber: 5,
                                                timeline: [.init(time: 900000, duration: 180000, repeatCount: 2)],
                                                initialization: "v/init-1.mp4", media: "$RepresentationID$/$Number$.m4s")
        let audio = DASHManifest.Representation(id: "source-audio", bandwidth: 128_000, codecs: "mp4a.40.2", audioSamplingRate: 48000,
                                                audioChannels: 2, timescale: 48000, presentationTimeOffset: 480000, startNumber: 5,
                                                timeline: [.init(time: 480000, duration: 96256)],
                                                initialization: "a/init-2.mp4", media: "$RepresentationID$/$Number$.m4s")
        let events = DASHManifest.EventStream(schemeIDURI: "urn:scte:scte35:2014:xml+bin", value: "1", timescale: 1000, events: [
            .init(id: 3, presentationTime: 1500, duration: 30000,
                  content: "<scte35:Signal><scte35:Binary>/DA=</scte35:Binary></scte35:Signal>", contentIsXML: true),
        ])
        let flashes = DASHManifest.EventStream(schemeIDURI: "urn:liverelay:flash:2025", value: "1", timescale: 1000, events: [
            .init(id: 4, presentationTime: 0, duration: nil, content: "Breaking <news> & more", contentIsXML: false),
        ])
        return DASHManifest(
            availabilityStartTime: Date(timeIntervalSince1970: 1_700_000_000), publishTime: Date(timeIntervalSince1970: 1_700_000_100.25),
            timeShiftBufferDepth: 600, minimumUpdatePeriod: 2, suggestedPresentationDelay: 2.5, minBufferTime: 2, maxSegmentDuration: 2,
            utcTimingURL: "http://h/api/time", availabilityTimeOffset: 1.5,
            periods: [.init(id: "p1", start: 10, adaptationSets: [
                .init(id: 0, contentType: "video", mimeType: "video/mp4", representations: [video], inbandEventSchemes: ["urn:x"]),
                .init(id: 1, contentType: "audio", mimeType: "audio/mp4", representations: [audio]),
            ], eventStreams: [events, flashes])])
    }

    @Test func mpdHasTheLiveProfileAttributes() {
        let xml = Self.manifest().xml()
        for fragment in [
            #"type="dynamic""#, #"profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019""#,
            #"availabilityStartTime="2023-11-14T22:13:20.000Z""#, #"publishTime="2023-11-14T22:15:00.250Z""#,
            #"timeShiftBufferDepth="PT600S""#, #"minimumUpdatePeriod="PT2S""#, #"suggestedPresentationDelay="PT2.5S""#,
            #"<Period id="p1" start="PT10S">"#, #"segmentAlignment="true" startWithSAP="1""#,
            #"codecs="avc1.64001f" width="1280" height="720" sar="1:1" frameRate="30""#,
            #"presentationTimeOffset="900000" startNumber="5""#, #"availabilityTimeOffset="1.5" availabilityTimeComplete="false""#,
            #"<S t="900000" d="180000" r="2"/>"#, #"<S t="480000" d="96256"/>"#,
            #"<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="http://h/api/time"/>"#,
            #"<EventStream schemeIdUri="urn:scte:scte35:2014:xml+bin" value="1" timescale="1000">"#,
            #"<Event id="3" presentationTime="1500" duration="30000"><scte35:Signal><scte35:Binary>/DA=</scte35:Binary></scte35:Signal></Event>"#,
            #"<Event id="4" presentationTime="0">Breaking &lt;news&gt; &amp; more</Event>"#,
            #"<InbandEventStream schemeIdUri="urn:x" value="1"/>"#,
            #"<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>"#,
        ] {
            #expect(xml.contains(fragment), "missing \(fragment)")
        }
    }

    @Test func mpdIsWellFormedXML() {
        final class Counter: NSObject, XMLParserDelegate {
            var elements: [String: Int] = [:]
            func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                elements[elementName, default: 0] += 1
            }
        }
        let parser = XMLParser(data: Data(Self.manifest().xml().utf8))
        let counter = Counter()
        parser.delegate = counter
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
        #expect(counter.elements["Representation"] == 2)
        #expect(counter.elements["AdaptationSet"] == 2)
        #expect(counter.elements["S"] == 2)
    }

    @Test func durationsAndDates() {
        #expect(DASHManifest.duration(2) == "PT2S")
        #expect(DASHManifest.duration(0.5) == "PT0.5S")
        #expect(DASHManifest.duration(1.0005) == "PT1.001S")
        #expect(DASHManifest.dateTime(Date(timeIntervalSince1970: 0.125)) == "1970-01-01T00:00:00.125Z")
        #expect(DASHManifest.dateTime(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(DASHManifest.dateTime(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(DASHManifest.dateTime(Date(timeIntervalSince1970: 4_107_542_399.9994)) == "2100-02-28T23:59:59.999Z")
        #expect(DASHManifest.dateTime(Date(timeIntervalSince1970: 4_107_542_400)) == "2100-03-01T00:00:00.000Z")
    }

    /// The arithmetic formatter against Foundation's, on whole milliseconds from 1900 to 2300 (leap years, century
    /// years, year ends) and on the days around every month boundary of a leap and a common year.
    @Test func datesMatchFoundationsFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        var instants = (0..<2000).map { _ in Double(Int64.random(in: -2_208_988_800_000...10_413_792_000_000, using: &generator)) / 1000 }
        for day in stride(from: 10_957.0, through: 11_688, by: 1) { instants.append(day * 86_400 - 0.001); instants.append(day * 86_400) }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(DASHManifest.dateTime(date) == formatter.string(from: date), "\(seconds)")
        }
    }

    @Test func mediaPlaylistExactText() {
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let playlist = HLSMediaPlaylist(
            targetDuration: 2, partTarget: 0.5, mediaSequence: 7, discontinuitySequence: 1,
            segments: [
                .init(uri: "7.m4s", duration: 2, programDateTime: date, parts: [], discontinuity: false, initURI: "init-1.mp4"),
                .init(uri: "8.m4s", duration: 1.5, programDateTime: date.addingTimeInterval(2),
                      parts: [.init(uri: "8.0.m4s", duration: 0.5, independent: true), .init(uri: "8.1.m4s", duration: 1, independent: false)],
                      discontinuity: true, initURI: "init-2.mp4"),
            ],
            pendingParts: [.init(uri: "9.0.m4s", duration: 0.5, independent: true)], preloadHint: "9.1.m4s",
            dateRanges: [.init(id: "splice-1", startDate: date, duration: 30, scte35Out: "0xFC00"),
                         .init(id: "flash-2", startDate: date, className: "com.liverelay.flash", clientAttributes: [("MESSAGE", "say \"hi\"")])])
        #expect(playlist.text() == """
            #EXTM3U
            #EXT-X-VERSION:9
            #EXT-X-TARGETDURATION:2
            #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5
            #EXT-X-PART-INF:PART-TARGET=0.5
            #EXT-X-MEDIA-SEQUENCE:7
            #EXT-X-DISCONTINUITY-SEQUENCE:1
            #EXT-X-DATERANGE:ID="splice-1",START-DATE="2023-11-14T22:13:20.000Z",DURATION=30,SCTE35-OUT=0xFC00
            #EXT-X-DATERANGE:ID="flash-2",CLASS="com.liverelay.flash",START-DATE="2023-11-14T22:13:20.000Z",X-MESSAGE="say 'hi'"
            #EXT-X-MAP:URI="init-1.mp4"
            #EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z
            #EXTINF:2,
            7.m4s
            #EXT-X-DISCONTINUITY
            #EXT-X-MAP:URI="init-2.mp4"
            #EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:22.000Z
            #EXT-X-PART:DURATION=0.5,URI="8.0.m4s",INDEPENDENT=YES
            #EXT-X-PART:DURATION=1,URI="8.1.m4s"
            #EXTINF:1.5,
            8.m4s
            #EXT-X-PART:DURATION=0.5,URI="9.0.m4s",INDEPENDENT=YES
            #EXT-X-PRELOAD-HINT:TYPE=PART,URI="9.1.m4s"

            """)
    }

    @Test func multivariantPlaylistExactText() {
        let playlist = HLSMultivariantPlaylist(
            variants: [.init(uri: "source-video.m3u8", bandwidth: 3_100_000, averageBandwidth: 2_600_000, codecs: "avc1.64001f,mp4a.40.2",
                             width: 1280, height: 720, frameRate: 30)],
            audio: [.init(uri: "source-audio.m3u8", name: "source", channels: 2)])
        #expect(playlist.text() == """
            #EXTM3U
            #EXT-X-VERSION:9
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="source",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="source-audio.m3u8"
            #EXT-X-STREAM-INF:BANDWIDTH=3100000,AVERAGE-BANDWIDTH=2600000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"
            source-video.m3u8

            """)
    }
}

import Foundation
import MediaCore

/// A dynamic MPD (ISO/IEC 23009-1) as LiveRelay publishes it: ISO live + CMAF profiles, SegmentTemplate with a
/// SegmentTimeline per representation, one AdaptationSet per media type, a Period per publisher session.
public struct DASHManifest: Sendable {
    public struct Event: Sendable, Equatable {
        public var id: UInt32
        /// Presentation time in the EventStream timescale, relative to the Period start.
        public var presentationTime: UInt64
        public var duration: UInt64?
        /// Element content, already XML (SCTE-35 `<Signal>`) or text to escape.
        public var content: String
        public var contentIsXML: Bool

        public init(id: UInt32, presentationTime: UInt64, duration: UInt64?, content: String, contentIsXML: Bool) {
            self.id = id
            self.presentationTime = presentationTime
            self.duration = duration
            self.content = content
            self.contentIsXML = contentIsXML
        }
    }

    public struct EventStream: Sendable, Equatable {
        public var schemeIDURI: String
        public var value: String
        public var timescale: UInt32
        public var events: [Event]

        public init(schemeIDURI: String, value: String, timescale: UInt32, events: [Event]) {
            self.schemeIDURI = schemeIDURI
            self.value = value
            self.timescale = timescale
            self.events = events
        }
    }

    /// One `<S>`: a run of `repeatCount + 1` segments of equal `duration` starting at `time`.
    public struct TimelineEntry: Sendable, Equatable {
        public var time: UInt64
        public var duration: UInt64
        public var repeatCount: Int

        public init(time: UInt64, duration: UInt64, repeatCount: Int = 0) {
            self.time = time
            self.duration = duration
            self.repeatCount = repeatCount
        }

        /// Run-length codes consecutive segments: `(start, duration)` pairs, in order.
        public static func runs(_ segments: [(start: UInt64, duration: UInt64)]) -> [TimelineEntry] {
            var entries: [TimelineEntry] = []
            for segment in segments {
                if var last = entries.last, last.duration == segment.duration,
                   last.time + last.duration * UInt64(last.repeatCount + 1) == segment.start {
                    last.repeatCount += 1
                    entries[entries.count - 1] = last
                } else {
                    entries.append(TimelineEntry(time: segment.start, duration: segment.duration))
                }
            }
            return entries
        }
    }

    public struct Representation: Sendable {
        public var id: String
        public var bandwidth: Int
        public var codecs: String
        public var width: Int?
        public var height: Int?
        public var frameRate: String?
        public var audioSamplingRate: Int?
        public var audioChannels: Int?
        public var timescale: UInt32
        public var presentationTimeOffset: UInt64
        public var startNumber: Int
        public var timeline: [TimelineEntry]
        /// Template paths, relative to the MPD; `$Number$` is substituted by the player.
        public var initialization: String
        public var media: String

        public init(id: String, bandwidth: Int, codecs: String, width: Int? = nil, height: Int? = nil, frameRate: String? = nil,
                    audioSamplingRate: Int? = nil, audioChannels: Int? = nil, timescale: UInt32, presentationTimeOffset: UInt64,
                    startNumber: Int, timeline: [TimelineEntry], initialization: String, media: String) {
            self.id = id
            self.bandwidth = bandwidth
            self.codecs = codecs
            self.width = width
            self.height = height
            self.frameRate = frameRate
            self.audioSamplingRate = audioSamplingRate
            self.audioChannels = audioChannels
            self.timescale = timescale
            self.presentationTimeOffset = presentationTimeOffset
            self.startNumber = startNumber
            self.timeline = timeline
            self.initialization = initialization
            self.media = media
        }
    }

    public struct AdaptationSet: Sendable {
        public var id: Int
        public var contentType: String
        public var mimeType: String
        public var representations: [Representation]
        /// Announces in-band `emsg` schemes carried in the segments.
        public var inbandEventSchemes: [String]

        public init(id: Int, contentType: String, mimeType: String, representations: [Representation], inbandEventSchemes: [String] = []) {
            self.id = id
            self.contentType = contentType
            self.mimeType = mimeType
            self.representations = representations
            self.inbandEventSchemes = inbandEventSchemes
        }
    }

    public struct Period: Sendable {
        public var id: String
        /// Seconds since availabilityStartTime.
        public var start: Double
        public var adaptationSets: [AdaptationSet]
        public var eventStreams: [EventStream]

        public init(id: String, start: Double, adaptationSets: [AdaptationSet], eventStreams: [EventStream] = []) {
            self.id = id
            self.start = start
            self.adaptationSets = adaptationSets
            self.eventStreams = eventStreams
        }
    }

    public var availabilityStartTime: Date
    public var publishTime: Date
    public var timeShiftBufferDepth: Double
    public var minimumUpdatePeriod: Double
    public var suggestedPresentationDelay: Double
    public var minBufferTime: Double
    public var maxSegmentDuration: Double
    /// `urn:mpeg:dash:utc:http-iso:2014` source.
    public var utcTimingURL: String
    /// LL-DASH: how much earlier than its end a segment may be requested (chunked delivery); nil without low latency.
    public var availabilityTimeOffset: Double?
    public var periods: [Period]

    public init(availabilityStartTime: Date, publishTime: Date, timeShiftBufferDepth: Double, minimumUpdatePeriod: Double,
                suggestedPresentationDelay: Double, minBufferTime: Double, maxSegmentDuration: Double, utcTimingURL: String,
                availabilityTimeOffset: Double?, periods: [Period]) {
        self.availabilityStartTime = availabilityStartTime
        self.publishTime = publishTime
        self.timeShiftBufferDepth = timeShiftBufferDepth
        self.minimumUpdatePeriod = minimumUpdatePeriod
        self.suggestedPresentationDelay = suggestedPresentationDelay
        self.minBufferTime = minBufferTime
        self.maxSegmentDuration = maxSegmentDuration
        self.utcTimingURL = utcTimingURL
        self.availabilityTimeOffset = availabilityTimeOffset
        self.periods = periods
    }

    public func xml() -> String {
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        out += #"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:scte35="http://www.scte.org/schemas/35/2016""#
        out += #" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic""#
        out += " availabilityStartTime=\"\(Self.dateTime(availabilityStartTime))\""
        out += " publishTime=\"\(Self.dateTime(publishTime))\""
        out += " minimumUpdatePeriod=\"\(Self.duration(minimumUpdatePeriod))\""
        out += " timeShiftBufferDepth=\"\(Self.duration(timeShiftBufferDepth))\""
        out += " suggestedPresentationDelay=\"\(Self.duration(suggestedPresentationDelay))\""
        out += " maxSegmentDuration=\"\(Self.duration(maxSegmentDuration))\""
        out += " minBufferTime=\"\(Self.duration(minBufferTime))\">\n"
        for period in periods {
            out += "  <Period id=\"\(Self.escape(period.id))\" start=\"\(Self.duration(period.start))\">\n"
            for stream in period.eventStreams where !stream.events.isEmpty {
                out += "    <EventStream schemeIdUri=\"\(Self.escape(stream.schemeIDURI))\" value=\"\(Self.escape(stream.value))\" timescale=\"\(stream.timescale)\">\n"
                for event in stream.events {
                    out += "      <Event id=\"\(event.id)\" presentationTime=\"\(event.presentationTime)\""
                    if let duration = event.duration { out += " duration=\"\(duration)\"" }
                    out += ">" + (event.contentIsXML ? event.content : Self.escape(event.content)) + "</Event>\n"
                }
                out += "    </EventStream>\n"
            }
            for set in period.adaptationSets {
                out += "    <AdaptationSet id=\"\(set.id)\" contentType=\"\(set.contentType)\" mimeType=\"\(set.mimeType)\""
                out += #" segmentAlignment="true" startWithSAP="1">"# + "\n"
                for scheme in set.inbandEventSchemes {
                    out += "      <InbandEventStream schemeIdUri=\"\(Self.escape(scheme))\" value=\"1\"/>\n"
                }
                for representation in set.representations { out += Self.representationXML(representation, availabilityTimeOffset) }
                out += "    </AdaptationSet>\n"
            }
            out += "  </Period>\n"
        }
        out += "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" value=\"\(Self.escape(utcTimingURL))\"/>\n"
        out += "</MPD>\n"
        return out
    }

    private static func representationXML(_ representation: Representation, _ availabilityTimeOffset: Double?) -> String {
        var out = "      <Representation id=\"\(escape(representation.id))\" bandwidth=\"\(representation.bandwidth)\" codecs=\"\(representation.codecs)\""
        if let width = representation.width, let height = representation.height {
            out += " width=\"\(width)\" height=\"\(height)\" sar=\"1:1\""
        }
        if let frameRate = representation.frameRate { out += " frameRate=\"\(frameRate)\"" }
        if let rate = representation.audioSamplingRate { out += " audioSamplingRate=\"\(rate)\"" }
        out += ">\n"
        if let channels = representation.audioChannels {
            out += "        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"\(channels)\"/>\n"
        }
        out += "        <SegmentTemplate timescale=\"\(representation.timescale)\" presentationTimeOffset=\"\(representation.presentationTimeOffset)\""
        out += " startNumber=\"\(representation.startNumber)\" initialization=\"\(escape(representation.initialization))\" media=\"\(escape(representation.media))\""
        if let availabilityTimeOffset {
            out += " availabilityTimeOffset=\"\(decimal(availabilityTimeOffset))\" availabilityTimeComplete=\"false\""
        }
        out += ">\n          <SegmentTimeline>\n"
        for entry in representation.timeline {
            out += "            <S t=\"\(entry.time)\" d=\"\(entry.duration)\""
            if entry.repeatCount > 0 { out += " r=\"\(entry.repeatCount)\"" }
            out += "/>\n"
        }
        out += "          </SegmentTimeline>\n        </SegmentTemplate>\n      </Representation>\n"
        return out
    }

    /// xs:dateTime in UTC with milliseconds (`2026-12-02T00:45:01.125Z`), rounded to the nearest millisecond.
    ///
    public static func dateTime(_ date: Date) -> String {
        WallClockFormat.iso8601(epochMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    /// xs:duration in seconds, e.g. `PT1.5S`.
    public static func duration(_ seconds: Double) -> String {
        "PT\(decimal(seconds))S"
    }

    static func decimal(_ value: Double) -> String {
        let milliseconds = (value * 1000).rounded()
        let whole = Int64(milliseconds) / 1000
        let fraction = abs(Int64(milliseconds) % 1000)
        if fraction == 0 { return "\(whole)" }
        var digits = String(fraction)
        while digits.count < 3 { digits = "0" + digits }
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

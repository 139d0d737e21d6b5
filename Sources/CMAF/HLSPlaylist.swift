import Foundation

/// The HLS multivariant playlist (RFC 8216 §4.4.6): one variant per video rendition, one audio group.
public struct HLSMultivariantPlaylist: Sendable {
    public struct Variant: Sendable {
        public var uri: String
        public var bandwidth: Int
        public var averageBandwidth: Int
        public var codecs: String
        public var width: Int
        public var height: Int
        public var frameRate: Double?

        public init(uri: String, bandwidth: Int, averageBandwidth: Int, codecs: String, width: Int, height: Int, frameRate: Double?) {
            self.uri = uri
            self.bandwidth = bandwidth
            self.averageBandwidth = averageBandwidth
            self.codecs = codecs
            self.width = width
            self.height = height
            self.frameRate = frameRate
        }
    }

    public struct Audio: Sendable {
        public var uri: String
        public var name: String
        public var channels: Int

        public init(uri: String, name: String, channels: Int) {
            self.uri = uri
            self.name = name
            self.channels = channels
        }
    }

    public static let audioGroupID = "audio"

    public var variants: [Variant]
    public var audio: [Audio]

    public init(variants: [Variant], audio: [Audio]) {
        self.variants = variants
        self.audio = audio
    }

    public func text() -> String {
        var out = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        for (index, track) in audio.enumerated() {
            out += "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"\(Self.audioGroupID)\",NAME=\"\(track.name)\",LANGUAGE=\"und\","
            out += "DEFAULT=\(index == 0 ? "YES" : "NO"),AUTOSELECT=YES,CHANNELS=\"\(track.channels)\",URI=\"\(track.uri)\"\n"
        }
        for variant in variants {
            out += "#EXT-X-STREAM-INF:BANDWIDTH=\(variant.bandwidth),AVERAGE-BANDWIDTH=\(variant.averageBandwidth),"
            out += "CODECS=\"\(variant.codecs)\",RESOLUTION=\(variant.width)x\(variant.height)"
            if let frameRate = variant.frameRate { out += ",FRAME-RATE=\(String(format: "%.3f", frameRate))" }
            if !audio.isEmpty { out += ",AUDIO=\"\(Self.audioGroupID)\"" }
            out += "\n\(variant.uri)\n"
        }
        return out
    }
}

/// An HLS media playlist with low-latency parts (draft-pantos-hls-rfc8216bis: `EXT-X-PART`, `EXT-X-PRELOAD-HINT`,
/// `EXT-X-SERVER-CONTROL`), discontinuities and date ranges.
public struct HLSMediaPlaylist: Sendable {
    public struct Part: Sendable, Equatable {
        public var uri: String
        public var duration: Double
        public var independent: Bool

        public init(uri: String, duration: Double, independent: Bool) {
            self.uri = uri
            self.duration = duration
            self.independent = independent
        }
    }

    public struct Segment: Sendable {
        public var uri: String
        public var duration: Double
        public var programDateTime: Date
        /// Parts to list (recent segments only); empty for older ones.
        public var parts: [Part]
        /// An `EXT-X-DISCONTINUITY` precedes this segment.
        public var discontinuity: Bool
        /// The init segment; written as `EXT-X-MAP` before the first segment and whenever it changes.
        public var initURI: String

        public init(uri: String, duration: Double, programDateTime: Date, parts: [Part], discontinuity: Bool, initURI: String) {
            self.uri = uri
            self.duration = duration
            self.programDateTime = programDateTime
            self.parts = parts
            self.discontinuity = discontinuity
            self.initURI = initURI
        }
    }

    public struct DateRange: Sendable, Equatable {
        public var id: String
        public var startDate: Date
        public var duration: Double?
        public var className: String?
        /// Hex of the SCTE-35 section, `0x…`.
        public var scte35Out: String?
        public var scte35In: String?
        /// `X-` client attributes (quoted strings).
        public var clientAttributes: [(String, String)]

        public init(id: String, startDate: Date, duration: Double? = nil, className: String? = nil, scte35Out: String? = nil,
                    scte35In: String? = nil, clientAttributes: [(String, String)] = []) {
            self.id = id
            self.startDate = startDate
            self.duration = duration
            self.className = className
            self.scte35Out = scte35Out
            self.scte35In = scte35In
            self.clientAttributes = clientAttributes
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.id == rhs.id && lhs.startDate == rhs.startDate && lhs.duration == rhs.duration && lhs.className == rhs.className
                && lhs.scte35Out == rhs.scte35Out && lhs.scte35In == rhs.scte35In
                && lhs.clientAttributes.map(\.0) == rhs.clientAttributes.map(\.0) && lhs.clientAttributes.map(\.1) == rhs.clientAttributes.map(\.1)
        }
    }

    public var targetDuration: Int
    public var partTarget: Double?
    public var mediaSequence: Int
    public var discontinuitySequence: Int
    public var segments: [Segment]
    /// Parts of the segment being written, after the last complete segment.
    public var pendingParts: [Part]
    /// The `EXT-X-MAP` of the segment being written (when it is the first after a discontinuity).
    public var pendingInitURI: String?
    public var pendingDiscontinuity: Bool
    public var preloadHint: String?
    public var dateRanges: [DateRange]
    /// The publisher ended and no new session has started: `EXT-X-ENDLIST` is *not* written (the stream may resume).
    public var canBlockReload: Bool

    public init(targetDuration: Int, partTarget: Double?, mediaSequence: Int, discontinuitySequence: Int, segments: [Segment],
                pendingParts: [Part] = [], pendingInitURI: String? = nil, pendingDiscontinuity: Bool = false,
                preloadHint: String? = nil, dateRanges: [DateRange] = [], canBlockReload: Bool = true) {
        self.targetDuration = targetDuration
        self.partTarget = partTarget
        self.mediaSequence = mediaSequence
        self.discontinuitySequence = discontinuitySequence
        self.segments = segments
        self.pendingParts = pendingParts
        self.pendingInitURI = pendingInitURI
        self.pendingDiscontinuity = pendingDiscontinuity
        self.preloadHint = preloadHint
        self.dateRanges = dateRanges
        self.canBlockReload = canBlockReload
    }

    public func text() -> String {
        var out = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:\(targetDuration)\n"
        if let partTarget {
            out += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=\(canBlockReload ? "YES" : "NO"),PART-HOLD-BACK=\(Self.decimal(partTarget * 3))\n"
            out += "#EXT-X-PART-INF:PART-TARGET=\(Self.decimal(partTarget))\n"
        }
        out += "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)\n"
        out += "#EXT-X-DISCONTINUITY-SEQUENCE:\(discontinuitySequence)\n"
        for range in dateRanges { out += Self.dateRangeLine(range) }
        var currentMap: String?
        for segment in segments {
            if segment.discontinuity {
                // Players reload the init segment after a discontinuity only when a map follows it.
                out += "#EXT-X-DISCONTINUITY\n"
                currentMap = nil
            }
            if segment.initURI != currentMap {
                out += "#EXT-X-MAP:URI=\"\(segment.initURI)\"\n"
                currentMap = segment.initURI
            }
            out += "#EXT-X-PROGRAM-DATE-TIME:\(DASHManifest.dateTime(segment.programDateTime))\n"
            for part in segment.parts { out += Self.partLine(part) }
            out += "#EXTINF:\(Self.decimal(segment.duration)),\n\(segment.uri)\n"
        }
        if pendingDiscontinuity {
            out += "#EXT-X-DISCONTINUITY\n"
            currentMap = nil
        }
        if let pendingInitURI, pendingInitURI != currentMap { out += "#EXT-X-MAP:URI=\"\(pendingInitURI)\"\n" }
        for part in pendingParts { out += Self.partLine(part) }
        if let preloadHint { out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"\(preloadHint)\"\n" }
        return out
    }

    private static func partLine(_ part: Part) -> String {
        "#EXT-X-PART:DURATION=\(decimal(part.duration)),URI=\"\(part.uri)\"\(part.independent ? ",INDEPENDENT=YES" : "")\n"
    }

    private static func dateRangeLine(_ range: DateRange) -> String {
        var out = "#EXT-X-DATERANGE:ID=\"\(quoted(range.id))\""
        if let className = range.className { out += ",CLASS=\"\(quoted(className))\"" }
        out += ",START-DATE=\"\(DASHManifest.dateTime(range.startDate))\""
        if let duration = range.duration { out += ",DURATION=\(decimal(duration))" }
        if let scte35Out = range.scte35Out { out += ",SCTE35-OUT=\(scte35Out)" }
        if let scte35In = range.scte35In { out += ",SCTE35-IN=\(scte35In)" }
        for (name, value) in range.clientAttributes { out += ",X-\(name)=\"\(quoted(value))\"" }
        return out + "\n"
    }

    /// Quoted-string attribute values may not hold `"`, CR or LF (RFC 8216 §4.2).
    static func quoted(_ text: String) -> String {
        String(text.unicodeScalars.map { $0 == "\"" || $0 == "\n" || $0 == "\r" ? "'" : Character($0) })
    }

    static func decimal(_ value: Double) -> String { DASHManifest.decimal(value) }
}

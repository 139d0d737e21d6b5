import Foundation

/// A flash or disclaimer placed on the stream timeline, for players that only see the media (DASH EventStream /
/// `emsg`, HLS `EXT-X-DATERANGE`).
public struct TimedMetadata: Sendable, Equatable {
    public var id: String
    public var stream: String
    public var kind: String
    public var severity: String
    public var text: String
    public var start: Date
    /// Nil: until further notice (a pinned disclaimer).
    public var duration: Duration?

    public init(id: String, stream: String, kind: String, severity: String, text: String, start: Date, duration: Duration?) {
        self.id = id
        self.stream = stream
        self.kind = kind
        self.severity = severity
        self.text = text
        self.start = start
        self.duration = duration
    }
}

/// Where flashes go besides the event channel. The packager implements it; the app connects the two.
public protocol TimedMetadataSink: Sendable {
    func publish(_ metadata: TimedMetadata)
}

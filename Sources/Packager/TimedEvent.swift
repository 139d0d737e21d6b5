import CMAF
import Foundation
import NIOCore

/// Timed metadata put on a stream's timeline: a news flash / disclaimer, or an SCTE-35 ad marker.
public struct TimedEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Text shown to viewers (flash, disclaimer).
        case flash
        /// An SCTE-35 splice: `outOfNetwork` true leaves the programme for a break, false returns.
        case scte35(outOfNetwork: Bool)
    }

    public var id: UInt32
    public var kind: Kind
    /// Wall-clock time on the stream timeline.
    public var start: Date
    public var duration: Double?
    /// Flash text; for SCTE-35, an optional binary splice_info_section (one is generated when empty).
    public var payload: ByteBuffer

    public init(id: UInt32, kind: Kind, start: Date, duration: Double?, payload: ByteBuffer) {
        self.id = id
        self.kind = kind
        self.start = start
        self.duration = duration
        self.payload = payload
    }

    public static let flashScheme = "urn:liverelay:flash:2025"
    public static let scte35Scheme = "urn:scte:scte35:2014:xml+bin"

    var schemeIDURI: String {
        switch kind {
        case .flash: return Self.flashScheme
        case .scte35: return Self.scte35Scheme
        }
    }

    /// The bytes DASH `emsg` and SCTE-35 signalling carry.
    var messageData: ByteBuffer {
        switch kind {
        case .flash: return payload
        case .scte35(let outOfNetwork):
            if payload.readableBytes > 0 { return payload }
            return SpliceInsert(eventID: id, outOfNetwork: outOfNetwork,
                               duration90k: duration.map { UInt64(max(0, $0) * 90000) }).section()
        }
    }
}

import Foundation
import NIOCore

/// One LL part (= one CMAF chunk): immutable bytes shared by every request.
public struct MediaPart: Sendable {
    public var index: Int
    /// Duration in the track timescale.
    public var duration: UInt64
    /// The part starts with a sync sample.
    public var independent: Bool
    public var data: ByteBuffer
}

/// One CMAF segment of a track, complete or still being written. Its bytes are its parts' bytes, in order.
public struct MediaSegment: Sendable {
    public var number: Int
    /// The publisher session (DASH Period, HLS discontinuity) it belongs to.
    public var generation: Int
    /// `tfdt` of its first sample, in the track timescale.
    public var startTime: UInt64
    public var duration: UInt64
    public var parts: [MediaPart]
    public var isComplete: Bool
    public var sampleCount: Int
    /// Which init segment decodes it (a new one per publisher session or codec configuration change).
    public var initID: Int

    public var byteCount: Int { parts.reduce(0) { $0 + $1.data.readableBytes } }
    public var endTime: UInt64 { startTime + duration }
}

import NIOCore

/// One coded access unit as an encoder emits it.
///
/// Timestamps are in the encoder's `timescale` (ticks per second). For H.264 `data` holds 4-byte length-prefixed
/// (AVCC) NAL units, the framing FLV, RTMP and MP4 carry; for AAC one raw frame without ADTS header.
public struct EncodedPacket: Sendable, Equatable {
    public var data: ByteBuffer
    public var pts: Int64
    public var dts: Int64
    /// Length of the packet in timescale ticks, when the encoder knows it (audio frames always have one).
    public var duration: Int64
    public var timescale: Int32
    public var isKeyframe: Bool

    public init(data: ByteBuffer, pts: Int64, dts: Int64, duration: Int64, timescale: Int32, isKeyframe: Bool) {
        self.data = data
        self.pts = pts
        self.dts = dts
        self.duration = duration
        self.timescale = timescale
        self.isKeyframe = isKeyframe
    }
}

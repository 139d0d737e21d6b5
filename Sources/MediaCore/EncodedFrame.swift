import NIOCore

/// The codecs that flow through LiveRelay.
public enum MediaCodec: String, Sendable, Hashable, Codable {
    case h264
    case aac
    case vp8
    case opus

    public var kind: MediaKind {
        switch self {
        case .h264, .vp8: return .video
        case .aac, .opus: return .audio
        }
    }
}

public enum MediaKind: String, Sendable, Hashable, Codable {
    case video
    case audio
}

/// One access unit (a video frame or an audio frame) in its coded form.
///
/// Timestamps are on the source timeline in units of `timescale` ticks per second (RTMP ingest uses
/// milliseconds, so 1000). For H.264 `data` holds length-prefixed (AVCC) NAL units; for AAC a raw frame
/// without ADTS header.
public struct EncodedFrame: Sendable {
    public var codec: MediaCodec
    public var pts: Int64
    public var dts: Int64
    public var timescale: Int32
    public var isKeyframe: Bool
    public var data: ByteBuffer

    public var kind: MediaKind { codec.kind }

    public init(codec: MediaCodec, pts: Int64, dts: Int64, timescale: Int32, isKeyframe: Bool, data: ByteBuffer) {
        self.codec = codec
        self.pts = pts
        self.dts = dts
        self.timescale = timescale
        self.isKeyframe = isKeyframe
        self.data = data
    }
}

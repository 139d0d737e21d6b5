internal import CFFmpeg

/// A picture as a decoder produced it, still in libav's memory (no copy).
///
/// Hand it to a `Scaler` to get Swift-owned `PlanarYUVFrame`s at the sizes the encoders need. Holds its own reference
/// to the decoder's buffers, so it stays valid after the decoder moves on.
///
/// Not Sendable: it lives on the decoding thread, which scales it and lets it go; only the scaled copies travel.
public final class DecodedVideoFrame {
    let frame: UnsafeMutablePointer<AVFrame>
    /// Presentation time, in the timescale of the timestamps given to the decoder.
    public let pts: Int64
    /// True for IDR pictures: CMAF rungs force their keyframes here so segments line up with the source.
    public let isKeyframe: Bool

    /// Takes ownership of `frame` (moved out of the decoder's reusable frame).
    init(taking frame: UnsafeMutablePointer<AVFrame>, pts: Int64) {
        self.frame = frame
        self.pts = pts
        self.isKeyframe = frame.pointee.key_frame != 0
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&frame)
    }

    public var width: Int { Int(frame.pointee.width) }
    public var height: Int { Int(frame.pointee.height) }
}

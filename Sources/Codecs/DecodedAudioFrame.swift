internal import CFFmpeg

/// Audio samples as a decoder produced them (any layout, rate and sample format), still in libav's memory.
/// A `Resampler` turns them into the 48 kHz stereo samples Opus takes.
///
/// Not Sendable: it lives on the stream's audio thread.
public final class DecodedAudioFrame {
    let frame: UnsafeMutablePointer<AVFrame>
    /// Presentation time of the first sample, in the timescale of the timestamps given to the decoder.
    public let pts: Int64

    init(taking frame: UnsafeMutablePointer<AVFrame>, pts: Int64) {
        self.frame = frame
        self.pts = pts
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&frame)
    }

    public var sampleCount: Int { Int(frame.pointee.nb_samples) }
    public var sampleRate: Int { Int(frame.pointee.sample_rate) }
    public var channels: Int { Int(frame.pointee.ch_layout.nb_channels) }
}

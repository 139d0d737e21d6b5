internal import CFFmpeg

/// Converts decoded audio of any rate and layout to interleaved 48 kHz stereo float with libswresample — the
/// format Opus codes for WebRTC.
///
/// The libswresample context is rebuilt when the input format changes (an AAC configuration change mid-stream);
/// samples still buffered in the old context are dropped then, a few milliseconds at most.
///
/// Not Sendable: used from the stream's audio thread.
public final class Resampler {
    public static let outputSampleRate = 48_000
    public static let outputChannels = 2

    private var context: OpaquePointer?
    private var inputRate: Int32 = 0
    private var inputFormat: Int32 = -1
    private var inputLayout = AVChannelLayout()
    private var output: [Float] = []

    public init() {}

    deinit {
        swr_free(&context)
        av_channel_layout_uninit(&inputLayout)
    }

    /// The frame's samples at 48 kHz stereo, interleaved (L R L R ...). Because of the filter delay the count is
    /// not exactly in × 48000 / rate for one call, but it is over a stream.
    public func resample(_ audio: DecodedAudioFrame) throws(TranscodeError) -> [Float] {
        let frame = audio.frame
        if context == nil || frame.pointee.sample_rate != inputRate || frame.pointee.format != inputFormat
            || av_channel_layout_compare(&inputLayout, &frame.pointee.ch_layout) != 0 {
            try reconfigure(for: frame)
        }
        let inputSamples = Int(frame.pointee.nb_samples)
        let capacity = Int(swr_get_out_samples(context, Int32(inputSamples))) + 32
        if output.count < capacity * Self.outputChannels {
            output = [Float](repeating: 0, count: capacity * Self.outputChannels)
        }
        let converted: Int32 = output.withUnsafeMutableBufferPointer { destination in
            var planes: [UnsafeMutablePointer<UInt8>?] = [
                UnsafeMutableRawPointer(destination.baseAddress!).assumingMemoryBound(to: UInt8.self),
            ]
            // extended_data lists every plane (data[] holds only the first eight).
            guard let extended = frame.pointee.extended_data else { return 0 }
            return extended.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 1) { source in
                swr_convert(context, &planes, Int32(capacity), source, Int32(inputSamples))
            }
        }
        guard converted >= 0 else { throw .libav(converted, operation: "swr_convert") }
        return Array(output[0..<(Int(converted) * Self.outputChannels)])
    }

    private func reconfigure(for frame: UnsafeMutablePointer<AVFrame>) throws(TranscodeError) {
        swr_free(&context)
        av_channel_layout_uninit(&inputLayout)
        var outputLayout = AVChannelLayout()
        av_channel_layout_default(&outputLayout, Int32(Self.outputChannels))
        defer { av_channel_layout_uninit(&outputLayout) }
        var inputLayoutCopy = frame.pointee.ch_layout
        if inputLayoutCopy.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&inputLayoutCopy, inputLayoutCopy.nb_channels)
        }
        var result = swr_alloc_set_opts2(&context, &outputLayout, AV_SAMPLE_FMT_FLT, Int32(Self.outputSampleRate),
                                         &inputLayoutCopy, AVSampleFormat(rawValue: frame.pointee.format),
                                         frame.pointee.sample_rate, 0, nil)
        guard result >= 0, context != nil else { throw .libav(result, operation: "swr_alloc_set_opts2") }
        result = swr_init(context)
        guard result >= 0 else {
            swr_free(&context)
            throw .libav(result, operation: "swr_init")
        }
        av_channel_layout_copy(&inputLayout, &frame.pointee.ch_layout)
        inputRate = frame.pointee.sample_rate
        inputFormat = frame.pointee.format
    }
}

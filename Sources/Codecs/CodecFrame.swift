internal import CFFmpeg

/// Owns one AVFrame with its own buffers, refilled from Swift-owned samples before each `avcodec_send_frame`.
///
/// The encoders copy their input (x264 and the AAC encoder keep no reference to the frame's buffers after
/// `avcodec_send_frame` returns unless it is refcounted and they need lookahead); `av_frame_make_writable` covers the
/// case where one still holds a reference, so overwriting the frame never corrupts a queued picture.
final class CodecFrame {
    let frame: UnsafeMutablePointer<AVFrame>

    /// A YUV 4:2:0 picture buffer.
    init(width: Int, height: Int) throws(TranscodeError) {
        guard let frame = av_frame_alloc() else { throw .outOfMemory(operation: "av_frame_alloc") }
        self.frame = frame
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        try allocateBuffers()
    }

    /// A planar float audio buffer of `samples` samples per channel.
    init(samples: Int, channels: Int, sampleRate: Int) throws(TranscodeError) {
        guard let frame = av_frame_alloc() else { throw .outOfMemory(operation: "av_frame_alloc") }
        self.frame = frame
        frame.pointee.nb_samples = Int32(samples)
        frame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        frame.pointee.sample_rate = Int32(sampleRate)
        av_channel_layout_default(&frame.pointee.ch_layout, Int32(channels))
        try allocateBuffers()
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&frame)
    }

    private func allocateBuffers() throws(TranscodeError) {
        let result = av_frame_get_buffer(frame, 0)
        guard result >= 0 else { throw .libav(result, operation: "av_frame_get_buffer") }
    }

    private func makeWritable() throws(TranscodeError) {
        let result = av_frame_make_writable(frame)
        guard result >= 0 else { throw .libav(result, operation: "av_frame_make_writable") }
    }

    /// Copies a picture of this frame's size in, row by row (libav pads its rows to `linesize`).
    func fill(from picture: PlanarYUVFrame, pts: Int64, forceKeyframe: Bool) throws(TranscodeError) {
        try makeWritable()
        let planes: [(source: [UInt8], width: Int, height: Int)] = [
            (picture.y, picture.width, picture.height),
            (picture.u, picture.chromaWidth, picture.chromaHeight),
            (picture.v, picture.chromaWidth, picture.chromaHeight),
        ]
        let destinations = [frame.pointee.data.0, frame.pointee.data.1, frame.pointee.data.2]
        let strides = [Int(frame.pointee.linesize.0), Int(frame.pointee.linesize.1), Int(frame.pointee.linesize.2)]
        for (index, plane) in planes.enumerated() {
            guard let destination = destinations[index] else { continue }
            plane.source.withUnsafeBytes { source in
                for row in 0..<plane.height {
                    (destination + row * strides[index]).update(
                        from: source.baseAddress!.assumingMemoryBound(to: UInt8.self) + row * plane.width,
                        count: plane.width)
                }
            }
        }
        frame.pointee.pts = pts
        frame.pointee.pict_type = forceKeyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
    }

    /// Copies `samples` frames of interleaved float audio, starting at frame `offset`, into the planar buffer.
    func fill(interleaved samples: ArraySlice<Float>, channels: Int, pts: Int64) throws(TranscodeError) {
        try makeWritable()
        let count = samples.count / channels
        frame.pointee.nb_samples = Int32(count)
        frame.pointee.pts = pts
        guard let planes = frame.pointee.extended_data else { return }
        samples.withUnsafeBufferPointer { source in
            for channel in 0..<channels {
                guard let plane = planes[channel] else { continue }
                let destination = UnsafeMutableRawPointer(plane).assumingMemoryBound(to: Float.self)
                for index in 0..<count {
                    destination[index] = source[index * channels + channel]
                }
            }
        }
    }
}

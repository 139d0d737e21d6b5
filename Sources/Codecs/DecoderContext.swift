internal import CFFmpeg
import NIOCore

/// What every libavcodec decoder here owns and does the same way: the codec context opened with extradata, a
/// reusable packet over a padded buffer, and the frame `avcodec_receive_frame` fills. The decoders on top keep only
/// their codec's rules (keyframe resync for H.264, independent frames for AAC).
///
/// Not Sendable: owned by one decoder, used from one thread.
final class DecoderContext {
    enum Received {
        /// A decoded frame, now owned by the caller (free it, or wrap it in a type that does).
        case frame(UnsafeMutablePointer<AVFrame>)
        /// Nothing more until more input arrives (or the end was drained).
        case needsInput
        case failed(Int32)
    }

    let context: UnsafeMutablePointer<AVCodecContext>
    private let packet: CodecPacket
    private let received: UnsafeMutablePointer<AVFrame>
    /// Reused across packets: libavcodec copies non-refcounted packet data it keeps.
    private var packetBytes: [UInt8] = []

    /// - Parameters:
    ///   - extradata: codec configuration (avcC, AudioSpecificConfig), copied into av_malloc'd, zero-padded memory
    ///     because libavcodec frees it with the context.
    ///   - configure: settings to apply before the codec opens.
    init(codec id: AVCodecID, name: String, extradata: ByteBuffer,
         configure: (UnsafeMutablePointer<AVCodecContext>) -> Void = { _ in }) throws(TranscodeError) {
        guard let codec = avcodec_find_decoder(id) else { throw .encoderUnavailable(name: "\(name) decoder") }
        packet = try CodecPacket()
        guard let received = av_frame_alloc() else { throw .outOfMemory(operation: "av_frame_alloc") }
        guard let context = avcodec_alloc_context3(codec) else {
            var frame: UnsafeMutablePointer<AVFrame>? = received
            av_frame_free(&frame)
            throw .outOfMemory(operation: "avcodec_alloc_context3")
        }
        // From here on deinit frees both, whatever fails below.
        self.received = received
        self.context = context
        let bytes = Array(extradata.readableBytesView)
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        guard let memory = av_mallocz(bytes.count + padding)?.assumingMemoryBound(to: UInt8.self) else {
            throw .outOfMemory(operation: "av_mallocz(extradata)")
        }
        bytes.withUnsafeBufferPointer { memory.update(from: $0.baseAddress!, count: bytes.count) }
        context.pointee.extradata = memory
        context.pointee.extradata_size = Int32(bytes.count)
        context.pointee.pkt_timebase = AVRational(num: 1, den: 1000)
        configure(context)
        let result = avcodec_open2(context, codec, nil)
        guard result >= 0 else { throw .libav(result, operation: "avcodec_open2(\(name))") }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&context)
        var frame: UnsafeMutablePointer<AVFrame>? = received
        av_frame_free(&frame)
    }

    /// Sends one packet; the libav return code (`EAGAIN` means receive first).
    func send(_ data: ByteBuffer, pts: Int64, dts: Int64, isKeyframe: Bool) -> Int32 {
        let size = data.readableBytes
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        if packetBytes.count < size + padding { packetBytes = [UInt8](repeating: 0, count: size + padding) }
        let packet = packet.packet
        let context = context
        return packetBytes.withUnsafeMutableBufferPointer { storage in
            data.withUnsafeReadableBytes { source in
                storage.baseAddress!.update(from: source.baseAddress!.assumingMemoryBound(to: UInt8.self), count: size)
            }
            storage.baseAddress!.advanced(by: size).update(repeating: 0, count: padding)
            packet.pointee.data = storage.baseAddress
            packet.pointee.size = Int32(size)
            packet.pointee.pts = pts
            packet.pointee.dts = dts
            packet.pointee.flags = isKeyframe ? AV_PKT_FLAG_KEY : 0
            defer {
                packet.pointee.data = nil
                packet.pointee.size = 0
            }
            return avcodec_send_packet(context, packet)
        }
    }

    /// Signals the end of input so the frames held for reordering or by threads come out; true if accepted.
    func sendEnd() -> Bool {
        avcodec_send_packet(context, nil) >= 0
    }

    func receive() -> Received {
        let result = avcodec_receive_frame(context, received)
        if result == lr_averror_eagain() || result == lr_averror_eof() { return .needsInput }
        guard result >= 0 else { return .failed(result) }
        guard let owned = av_frame_alloc() else { return .failed(lr_averror_enomem()) }
        av_frame_move_ref(owned, received)
        return .frame(owned)
    }

    /// Forgets all state (held frames, references) so decoding can restart at a keyframe.
    func reset() {
        avcodec_flush_buffers(context)
    }
}

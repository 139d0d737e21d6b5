internal import CFFmpeg
import MediaCore
import NIOCore

/// H.264 decoder on libavcodec for AVCC input (FLV, RTMP, MP4), configured from the AVCDecoderConfigurationRecord.
///
/// Frame threading (`threads` > 1) decodes several pictures at once at the price of `threads − 1` frames of delay;
/// B-frames come out in presentation order with the pts given to `decode`. Errors never throw out of `decode`: a
/// packet whose NAL lengths run past its end, or that libavcodec rejects, is counted in `errorCount`, the decoder
/// is flushed and everything up to the next keyframe is skipped, so a damaged GOP costs one GOP, not the stream.
///
/// Not Sendable: one decoder per stream, used from that stream's decoding thread.
public final class H264Decoder {
    /// Packets rejected or found damaged so far (each starts a resync).
    public private(set) var errorCount = 0
    /// Packets skipped while waiting for a keyframe (after an error, or at a start without one).
    public private(set) var skippedCount = 0
    public let nalUnitLengthSize: Int

    private let context: UnsafeMutablePointer<AVCodecContext>
    private let packet: CodecPacket
    private let received: UnsafeMutablePointer<AVFrame>
    private var awaitingKeyframe = true
    private var packetBytes: [UInt8] = []

    /// - Parameters:
    ///   - decoderConfiguration: the AVCDecoderConfigurationRecord (ISO/IEC 14496-15), given to libavcodec as extradata.
    ///   - threads: frame threads; 1 gives the lowest latency, more use more cores for big pictures.
    public init(decoderConfiguration: ByteBuffer, threads: Int = 1) throws(TranscodeError) {
        LibAVLogging.errorsOnly
        let record: AVCDecoderConfigurationRecord
        do {
            record = try AVCDecoderConfigurationRecord.parse(decoderConfiguration)
        } catch {
            throw .invalidParameter("AVCDecoderConfigurationRecord: \(error)")
        }
        guard !record.pictureParameterSets.isEmpty else {
            throw .invalidParameter("AVCDecoderConfigurationRecord without picture parameter set")
        }
        nalUnitLengthSize = record.nalUnitLengthSize
        guard let codec = avcodec_find_decoder(AV_CODEC_ID_H264) else { throw .encoderUnavailable(name: "h264 decoder") }
        let packet = try CodecPacket()
        guard let received = av_frame_alloc() else { throw .outOfMemory(operation: "av_frame_alloc") }
        guard let context = avcodec_alloc_context3(codec) else {
            var frame: UnsafeMutablePointer<AVFrame>? = received
            av_frame_free(&frame)
            throw .outOfMemory(operation: "avcodec_alloc_context3")
        }
        self.context = context
        self.packet = packet
        self.received = received
        // libavcodec frees extradata with the context, so it must come from av_malloc, padded with zeros.
        let bytes = Array(decoderConfiguration.readableBytesView)
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        guard let extradata = av_mallocz(bytes.count + padding)?.assumingMemoryBound(to: UInt8.self) else {
            throw .outOfMemory(operation: "av_mallocz(extradata)")
        }
        bytes.withUnsafeBufferPointer { extradata.update(from: $0.baseAddress!, count: bytes.count) }
        context.pointee.extradata = extradata
        context.pointee.extradata_size = Int32(bytes.count)
        context.pointee.thread_count = Int32(max(1, threads))
        context.pointee.thread_type = FF_THREAD_FRAME
        context.pointee.pkt_timebase = AVRational(num: 1, den: 1000)
        let result = avcodec_open2(context, codec, nil)
        guard result >= 0 else { throw .libav(result, operation: "avcodec_open2(h264)") }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&context)
        var frame: UnsafeMutablePointer<AVFrame>? = received
        av_frame_free(&frame)
    }

    /// Decodes one access unit (AVCC NAL units) and returns the pictures that became ready, in presentation order.
    public func decode(_ data: ByteBuffer, pts: Int64, dts: Int64, isKeyframe: Bool) -> [DecodedVideoFrame] {
        if awaitingKeyframe {
            guard isKeyframe else {
                skippedCount += 1
                return []
            }
            awaitingKeyframe = false
        }
        var frames: [DecodedVideoFrame] = []
        guard Self.lengthsAreConsistent(data, lengthSize: nalUnitLengthSize) else {
            resync(keeping: &frames)
            return frames
        }
        let size = data.readableBytes
        guard size > 0 else { return [] }
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        // The packet buffer is reused across calls; libavcodec copies non-refcounted packet data it keeps.
        if packetBytes.count < size + padding { packetBytes = [UInt8](repeating: 0, count: size + padding) }
        let sent: Int32 = packetBytes.withUnsafeMutableBufferPointer { storage in
            data.withUnsafeReadableBytes { source in
                storage.baseAddress!.update(from: source.baseAddress!.assumingMemoryBound(to: UInt8.self), count: size)
            }
            storage.baseAddress!.advanced(by: size).update(repeating: 0, count: padding)
            packet.packet.pointee.data = storage.baseAddress
            packet.packet.pointee.size = Int32(size)
            packet.packet.pointee.pts = pts
            packet.packet.pointee.dts = dts
            packet.packet.pointee.flags = isKeyframe ? AV_PKT_FLAG_KEY : 0
            defer {
                packet.packet.pointee.data = nil
                packet.packet.pointee.size = 0
            }
            return avcodec_send_packet(context, packet.packet)
        }
        if sent < 0, sent != lr_averror_eagain() {
            resync(keeping: &frames)
            return frames
        }
        drain(into: &frames)
        return frames
    }

    /// Skips everything up to the next keyframe: the caller dropped compressed frames the following ones refer to.
    public func skipUntilKeyframe() {
        awaitingKeyframe = true
        avcodec_flush_buffers(context)
    }

    /// Returns the pictures still held for reordering or by frame threads; the decoder can continue afterwards.
    public func flush() -> [DecodedVideoFrame] {
        var frames: [DecodedVideoFrame] = []
        if avcodec_send_packet(context, nil) >= 0 { drain(into: &frames) }
        avcodec_flush_buffers(context)
        return frames
    }

    private func drain(into frames: inout [DecodedVideoFrame]) {
        while true {
            let result = avcodec_receive_frame(context, received)
            if result == lr_averror_eagain() || result == lr_averror_eof() { return }
            guard result >= 0 else {
                errorCount += 1
                awaitingKeyframe = true
                avcodec_flush_buffers(context)
                return
            }
            if received.pointee.decode_error_flags != 0 || received.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 {
                // Concealed damage: show it (better than a freeze) but count it; the next keyframe cleans it up.
                errorCount += 1
            }
            guard let owned = av_frame_alloc() else { return }
            av_frame_move_ref(owned, received)
            let timestamp = owned.pointee.best_effort_timestamp != lr_av_nopts_value()
                ? owned.pointee.best_effort_timestamp : owned.pointee.pts
            frames.append(DecodedVideoFrame(taking: owned, pts: timestamp))
        }
    }

    /// Counts the error and waits for the next keyframe; the good pictures still held for reordering or by frame
    /// threads are drained first, so the damage costs only the pictures that depend on the broken one.
    private func resync(keeping frames: inout [DecodedVideoFrame]) {
        errorCount += 1
        awaitingKeyframe = true
        if avcodec_send_packet(context, nil) >= 0 { drain(into: &frames) }
        avcodec_flush_buffers(context)
    }

    /// True when the length prefixes tile the packet exactly; a truncated NAL unit would make libavcodec read a
    /// partial slice and conceal garbage.
    static func lengthsAreConsistent(_ data: ByteBuffer, lengthSize: Int) -> Bool {
        data.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                guard index + lengthSize <= bytes.count else { return false }
                var length = 0
                for offset in 0..<lengthSize { length = length << 8 | Int(bytes[index + offset]) }
                index += lengthSize
                guard length > 0, index + length <= bytes.count else { return false }
                index += length
            }
            return true
        }
    }
}

internal import CFFmpeg
import NIOCore

/// Owns one libavcodec encoder context (and the packet it drains into) from allocation to `avcodec_free_context`.
///
/// Not Sendable: an encoder context is used by one thread at a time, and its owner (`H264Encoder`, `AACEncoder`) is
/// not Sendable either, so the confinement is the owner's.
final class EncoderContext {
    let context: UnsafeMutablePointer<AVCodecContext>
    private let packet: CodecPacket
    let encoderName: String

    /// One packet as libavcodec hands it over; `bytes` is valid only inside the conversion closure.
    struct RawPacket {
        let bytes: UnsafeRawBufferPointer
        let pts: Int64
        let dts: Int64
        let duration: Int64
        let isKeyframe: Bool
    }

    /// Allocates the encoder's context, lets `configure` fill in fields and options, then opens it.
    init(encoderName: String,
         configure: (EncoderContext) throws(TranscodeError) -> Void) throws(TranscodeError) {
        LibAVLogging.errorsOnly
        guard let codec = avcodec_find_encoder_by_name(encoderName) else {
            throw .encoderUnavailable(name: encoderName)
        }
        let packet = try CodecPacket()
        guard let context = avcodec_alloc_context3(codec) else { throw .outOfMemory(operation: "avcodec_alloc_context3") }
        self.context = context
        self.packet = packet
        self.encoderName = encoderName
        // From here on deinit frees the context if configuring or opening fails.
        try configure(self)
        let result = avcodec_open2(context, codec, nil)
        guard result >= 0 else { throw .libav(result, operation: "avcodec_open2(\(encoderName))") }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&context)
    }

    /// Sets an option on the context or, failing that, on the encoder's private options (x264 preset, tune...).
    func setOption(_ name: String, _ value: String) throws(TranscodeError) {
        let result = av_opt_set(UnsafeMutableRawPointer(context), name, value, AV_OPT_SEARCH_CHILDREN)
        guard result >= 0 else { throw .libav(result, operation: "av_opt_set(\(encoderName), \(name)=\(value))") }
    }

    /// The codec configuration the encoder wrote at open time (global header), empty if none.
    var extradata: [UInt8] {
        guard let data = context.pointee.extradata, context.pointee.extradata_size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(context.pointee.extradata_size)))
    }

    /// Sends one frame (nil drains the encoder) and returns every packet that became ready.
    func encode<Output>(_ frame: CodecFrame?,
                        convert: (RawPacket) -> Output) throws(TranscodeError) -> [Output] {
        let sent = avcodec_send_frame(context, frame?.frame)
        // EOF here means the encoder was already drained; the caller's flush bookkeeping prevents that, so report it.
        guard sent >= 0 else { throw .libav(sent, operation: "avcodec_send_frame(\(encoderName))") }
        var outputs: [Output] = []
        while true {
            let received = avcodec_receive_packet(context, packet.packet)
            if received == lr_averror_eagain() || received == lr_averror_eof() { break }
            guard received >= 0 else { throw .libav(received, operation: "avcodec_receive_packet(\(encoderName))") }
            let raw = packet.packet.pointee
            let bytes = UnsafeRawBufferPointer(start: raw.data, count: Int(raw.size))
            outputs.append(convert(RawPacket(bytes: bytes, pts: raw.pts, dts: raw.dts, duration: raw.duration,
                                             isKeyframe: raw.flags & AV_PKT_FLAG_KEY != 0)))
            av_packet_unref(packet.packet)
        }
        return outputs
    }
}

/// Owns one AVPacket, reused for every packet an encoder emits.
final class CodecPacket {
    let packet: UnsafeMutablePointer<AVPacket>

    init() throws(TranscodeError) {
        guard let packet = av_packet_alloc() else { throw .outOfMemory(operation: "av_packet_alloc") }
        self.packet = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&packet)
    }
}

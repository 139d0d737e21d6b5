internal import CFFmpeg
import MediaCore
import NIOCore

/// AAC decoder on libavcodec, configured from the AudioSpecificConfig (FLV sequence header, MP4 `esds`).
///
/// A frame libavcodec rejects is counted in `errorCount` and skipped; AAC frames are independent, so decoding simply
/// continues with the next one.
///
/// Not Sendable: one decoder per stream, used from that stream's audio thread.
public final class AACDecoder {
    public private(set) var errorCount = 0
    public let audioSpecificConfig: AudioSpecificConfig

    private let context: UnsafeMutablePointer<AVCodecContext>
    private let packet: CodecPacket
    private let received: UnsafeMutablePointer<AVFrame>
    private var packetBytes: [UInt8] = []

    public init(audioSpecificConfig config: ByteBuffer) throws(TranscodeError) {
        LibAVLogging.errorsOnly
        do {
            audioSpecificConfig = try AudioSpecificConfig.parse(config)
        } catch {
            throw .invalidParameter("AudioSpecificConfig: \(error)")
        }
        guard let codec = avcodec_find_decoder(AV_CODEC_ID_AAC) else { throw .encoderUnavailable(name: "aac decoder") }
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
        let bytes = Array(config.readableBytesView)
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        guard let extradata = av_mallocz(bytes.count + padding)?.assumingMemoryBound(to: UInt8.self) else {
            throw .outOfMemory(operation: "av_mallocz(extradata)")
        }
        bytes.withUnsafeBufferPointer { extradata.update(from: $0.baseAddress!, count: bytes.count) }
        context.pointee.extradata = extradata
        context.pointee.extradata_size = Int32(bytes.count)
        context.pointee.pkt_timebase = AVRational(num: 1, den: 1000)
        let result = avcodec_open2(context, codec, nil)
        guard result >= 0 else { throw .libav(result, operation: "avcodec_open2(aac)") }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&context)
        var frame: UnsafeMutablePointer<AVFrame>? = received
        av_frame_free(&frame)
    }

    /// Decodes one raw AAC frame (no ADTS header) presented at `pts`.
    public func decode(_ data: ByteBuffer, pts: Int64) -> [DecodedAudioFrame] {
        let size = data.readableBytes
        guard size > 0 else { return [] }
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        if packetBytes.count < size + padding { packetBytes = [UInt8](repeating: 0, count: size + padding) }
        let sent: Int32 = packetBytes.withUnsafeMutableBufferPointer { storage in
            data.withUnsafeReadableBytes { source in
                storage.baseAddress!.update(from: source.baseAddress!.assumingMemoryBound(to: UInt8.self), count: size)
            }
            storage.baseAddress!.advanced(by: size).update(repeating: 0, count: padding)
            packet.packet.pointee.data = storage.baseAddress
            packet.packet.pointee.size = Int32(size)
            packet.packet.pointee.pts = pts
            packet.packet.pointee.dts = pts
            defer {
                packet.packet.pointee.data = nil
                packet.packet.pointee.size = 0
            }
            return avcodec_send_packet(context, packet.packet)
        }
        guard sent >= 0 else {
            errorCount += 1
            return []
        }
        var frames: [DecodedAudioFrame] = []
        while true {
            let result = avcodec_receive_frame(context, received)
            if result == lr_averror_eagain() || result == lr_averror_eof() { break }
            guard result >= 0 else {
                errorCount += 1
                break
            }
            guard let owned = av_frame_alloc() else { break }
            av_frame_move_ref(owned, received)
            let timestamp = owned.pointee.pts != lr_av_nopts_value() ? owned.pointee.pts : pts
            frames.append(DecodedAudioFrame(taking: owned, pts: timestamp))
        }
        return frames
    }
}

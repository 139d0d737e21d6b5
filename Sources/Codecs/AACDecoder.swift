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

    private let decoder: DecoderContext

    public init(audioSpecificConfig config: ByteBuffer) throws(TranscodeError) {
        LibAVLogging.errorsOnly
        do {
            audioSpecificConfig = try AudioSpecificConfig.parse(config)
        } catch {
            throw .invalidParameter("AudioSpecificConfig: \(error)")
        }
        decoder = try DecoderContext(codec: AV_CODEC_ID_AAC, name: "aac", extradata: config)
    }

    /// Decodes one raw AAC frame (no ADTS header) presented at `pts`.
    public func decode(_ data: ByteBuffer, pts: Int64) -> [DecodedAudioFrame] {
        guard data.readableBytes > 0 else { return [] }
        guard decoder.send(data, pts: pts, dts: pts, isKeyframe: true) >= 0 else {
            errorCount += 1
            return []
        }
        var frames: [DecodedAudioFrame] = []
        while true {
            switch decoder.receive() {
            case .needsInput:
                return frames
            case .failed:
                errorCount += 1
                return frames
            case .frame(let owned):
                let timestamp = owned.pointee.pts != lr_av_nopts_value() ? owned.pointee.pts : pts
                frames.append(DecodedAudioFrame(taking: owned, pts: timestamp))
            }
        }
    }
}

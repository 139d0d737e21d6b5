import MediaCore
import NIOCore

/// FLV tag types, which RTMP reuses as message type ids for audio, video and data messages.
public enum FLVTagType: UInt8, Sendable {
    case audio = 8
    case video = 9
    case scriptData = 18
}

public enum FLVMediaOutput: Sendable {
    case videoConfiguration(VideoTrackConfig)
    case audioConfiguration(AudioTrackConfig)
    case frame(EncodedFrame)
}

public enum FLVDemuxError: Error, Equatable, Sendable {
    case unsupportedVideoCodec(String)
    case unsupportedAudioCodec(String)
    case malformed(String)
}

/// Turns FLV audio/video tag bodies (as carried in RTMP messages 8/9) into track configurations and frames.
///
/// ```
/// video: frameType(4) codecID(4) | AVCPacketType(8) compositionTime(s24) payload     (FLV 10.1 §E.4.3.1)
///        [bit 0x80 set: Enhanced RTMP — frameType(3) packetType(4) FourCC(32) ...]
/// audio: soundFormat(4) rate(2) size(1) type(1) | AACPacketType(8) payload          (FLV 10.1 §E.4.2.1)
/// ```
/// Frames reference the tag body's storage (no copy).
public struct FLVMediaDemuxer: Sendable {
    private var avcConfiguration: AVCDecoderConfigurationRecord?
    private var hasAudioConfiguration = false
    /// Frames that arrived before their track's sequence header and could not be decoded.
    public private(set) var framesDroppedBeforeConfiguration = 0

    public init() {}

    public mutating func demux(_ type: FLVTagType, timestamp: UInt32, body: ByteBuffer) throws(FLVDemuxError) -> [FLVMediaOutput] {
        switch type {
        case .video: return try demuxVideo(timestamp: timestamp, body: body)
        case .audio: return try demuxAudio(timestamp: timestamp, body: body)
        case .scriptData: return []
        }
    }

    private mutating func demuxVideo(timestamp: UInt32, body: ByteBuffer) throws(FLVDemuxError) -> [FLVMediaOutput] {
        var buffer = body
        // Some encoders send empty video messages as keep-alives; they carry nothing to decode.
        guard let first = buffer.readInteger(as: UInt8.self) else { return [] }
        if first & 0x80 != 0 {
            guard let fourCC = buffer.readBytes(length: 4) else { throw .malformed("enhanced video tag without FourCC") }
            throw .unsupportedVideoCodec(Self.describe(fourCC: fourCC))
        }
        let frameType = first >> 4
        let codecID = first & 0x0F
        guard codecID == 7 else { throw .unsupportedVideoCodec(Self.videoCodecName(codecID)) }
        // Frame type 5 is a "video info / command frame" (seek markers), not a picture.
        if frameType == 5 { return [] }
        guard let packetType = buffer.readInteger(as: UInt8.self),
              let ctsBytes = buffer.readBytes(length: 3) else { throw .malformed("AVC video tag shorter than 5 bytes") }
        switch packetType {
        case 0:
            let record: AVCDecoderConfigurationRecord
            let sps: H264SequenceParameterSet
            do {
                record = try AVCDecoderConfigurationRecord.parse(buffer)
                sps = try H264SequenceParameterSet.parse(nalUnit: record.sequenceParameterSets[0])
            } catch {
                throw .malformed("AVC sequence header: \(error)")
            }
            avcConfiguration = record
            let config = VideoTrackConfig(codec: .h264, width: sps.width, height: sps.height,
                                          declaredFrameRate: sps.frameRate, decoderConfiguration: buffer)
            return [.videoConfiguration(config)]
        case 1:
            guard avcConfiguration != nil else {
                framesDroppedBeforeConfiguration &+= 1
                return []
            }
            guard buffer.readableBytes > 0 else { return [] }
            // Composition time is a signed 24-bit big-endian number: sign-extend through the top byte.
            let raw = Int32(ctsBytes[0]) << 16 | Int32(ctsBytes[1]) << 8 | Int32(ctsBytes[2])
            let compositionTime = Int64((raw << 8) >> 8)
            let dts = Int64(timestamp)
            let frame = EncodedFrame(codec: .h264, pts: dts + compositionTime, dts: dts, timescale: 1000,
                                     isKeyframe: frameType == 1, data: buffer)
            return [.frame(frame)]
        case 2:
            return []
        default:
            throw .malformed("AVCPacketType \(packetType)")
        }
    }

    private mutating func demuxAudio(timestamp: UInt32, body: ByteBuffer) throws(FLVDemuxError) -> [FLVMediaOutput] {
        var buffer = body
        guard let first = buffer.readInteger(as: UInt8.self) else { return [] }
        let soundFormat = first >> 4
        if soundFormat == 9 {
            // Enhanced RTMP v2 audio: the FourCC after the header byte names the codec.
            guard let fourCC = buffer.readBytes(length: 4) else { throw .malformed("enhanced audio tag without FourCC") }
            throw .unsupportedAudioCodec(Self.describe(fourCC: fourCC))
        }
        guard soundFormat == 10 else { throw .unsupportedAudioCodec(Self.audioCodecName(soundFormat)) }
        guard let packetType = buffer.readInteger(as: UInt8.self) else { throw .malformed("AAC audio tag shorter than 2 bytes") }
        switch packetType {
        case 0:
            let asc: AudioSpecificConfig
            do {
                asc = try AudioSpecificConfig.parse(buffer)
            } catch {
                throw .malformed("AAC sequence header: \(error)")
            }
            guard let channels = asc.channelCount else {
                throw .unsupportedAudioCodec("aac with channel configuration \(asc.channelConfiguration)")
            }
            hasAudioConfiguration = true
            return [.audioConfiguration(AudioTrackConfig(codec: .aac, sampleRate: asc.sampleRate, channels: channels,
                                                         decoderConfiguration: buffer))]
        case 1:
            guard hasAudioConfiguration else {
                framesDroppedBeforeConfiguration &+= 1
                return []
            }
            guard buffer.readableBytes > 0 else { return [] }
            let ts = Int64(timestamp)
            return [.frame(EncodedFrame(codec: .aac, pts: ts, dts: ts, timescale: 1000, isKeyframe: true, data: buffer))]
        default:
            throw .malformed("AACPacketType \(packetType)")
        }
    }

    private static func describe(fourCC: [UInt8]) -> String {
        let printable = fourCC.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        return printable ? String(decoding: fourCC, as: UTF8.self) : fourCC.map { String($0, radix: 16) }.joined(separator: " ")
    }

    private static func videoCodecName(_ id: UInt8) -> String {
        // Legacy FLV ids 2–6 (H.263, screen video, VP6) and the unofficial 12 (HEVC) are all named by number.
        "flv codec id \(id)"
    }

    private static func audioCodecName(_ format: UInt8) -> String {
        switch format {
        case 0, 3: return "linear pcm"
        case 1: return "adpcm"
        case 2: return "mp3"
        case 4, 5, 6: return "nellymoser"
        case 7: return "g711 a-law"
        case 8: return "g711 mu-law"
        case 11: return "speex"
        case 14: return "mp3 8khz"
        case 15: return "device-specific sound"
        default: return "flv sound format \(format)"
        }
    }
}

import MediaCore
import NIOCore
import RTMP

/// FLV audio/video tag bodies and the codec configurations inside them. The first byte picks what the rest is:
///
/// ```
/// 0: { kind(8): even audio, odd video  length(16)  tag body }*   — one demuxer, so sequence headers precede frames
/// 1: AVCDecoderConfigurationRecord     2: AudioSpecificConfig     3: H.264 SPS NAL unit
/// ```
/// Modes 1–3 reach the parsers directly, with inputs the demuxer would reject before the nested parse.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFLVCodecConfig(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    guard let mode = input.readInteger(as: UInt8.self) else { return 0 }
    switch mode % 4 {
    case 0:
        var demuxer = FLVMediaDemuxer()
        var timestamp: UInt32 = 0
        while let kind = input.readInteger(as: UInt8.self), let length = input.readInteger(as: UInt16.self),
              let body = input.readSlice(length: min(Int(length), input.readableBytes)) {
            timestamp &+= 33
            _ = try? demuxer.demux(kind & 1 == 0 ? .audio : .video, timestamp: timestamp, body: body)
        }
    case 1:
        if let record = try? AVCDecoderConfigurationRecord.parse(input) {
            var written = ByteBuffer()
            record.write(to: &written)
            for sps in record.sequenceParameterSets { _ = try? H264SequenceParameterSet.parse(nalUnit: sps) }
        }
    case 2:
        if let config = try? AudioSpecificConfig.parse(input) {
            var written = ByteBuffer()
            config.write(to: &written)
        }
    default:
        _ = try? H264SequenceParameterSet.parse(nalUnit: input)
    }
    return 0
}

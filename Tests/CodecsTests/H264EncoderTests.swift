import Foundation
import MediaCore
import NIOCore
import Testing
@testable import Codecs

@Suite struct H264EncoderTests {
    static let width = 320
    static let height = 240

    /// Encodes `count` frames of the moving test pattern.
    static func encodePattern(count: Int, keyframeInterval: Int = 30,
                              preset: H264EncoderConfiguration.Preset = .veryfast) throws -> (H264Encoder, [EncodedPacket]) {
        let encoder = try H264Encoder(configuration: H264EncoderConfiguration(
            width: width, height: height, framesPerSecond: 30, bitrate: 800_000, keyframeInterval: keyframeInterval,
            preset: preset))
        let renderer = TestPatternRenderer(width: width, height: height)
        var frame = PlanarYUVFrame(width: width, height: height)
        var packets: [EncodedPacket] = []
        for number in 0..<count {
            renderer.render(frameNumber: number, time: TimeOfDay(secondsSinceMidnight: Int64(number / 30)),
                            highlight: number % 30 < 3, into: &frame)
            packets += try encoder.encode(frame: frame, pts: Int64(number))
        }
        packets += try encoder.flush()
        return (encoder, packets)
    }

    /// A raw H.264 elementary stream: SPS and PPS from the record, then every access unit, all in Annex B.
    static func annexBStream(record: ByteBuffer, packets: [EncodedPacket]) throws -> [UInt8] {
        let parsed = try AVCDecoderConfigurationRecord.parse(record)
        var stream: [UInt8] = []
        for set in parsed.sequenceParameterSets + parsed.pictureParameterSets {
            stream += [0, 0, 0, 1] + Array(buffer: set)
        }
        for packet in packets {
            stream += try #require(H264AnnexB.annexB(lengthPrefixed: Array(buffer: packet.data)))
        }
        return stream
    }

    @Test func decoderConfigurationIsAnAVCRecordForTheEncodedSize() throws {
        let encoder = try H264Encoder(configuration: H264EncoderConfiguration(width: 640, height: 360))
        let record = try AVCDecoderConfigurationRecord.parse(encoder.decoderConfiguration)
        #expect(record.nalUnitLengthSize == 4)
        #expect(record.sequenceParameterSets.count == 1)
        #expect(record.pictureParameterSets.count == 1)
        let sps = try H264SequenceParameterSet.parse(nalUnit: record.sequenceParameterSets[0])
        #expect(sps.width == 640)
        #expect(sps.height == 360)
        #expect(sps.frameRate == 30)
        #expect(record.profileIndication == sps.profileIDC)
    }

    @Test func encodesOnePacketPerFrameWithIDRsAtTheGOPInterval() throws {
        let (_, packets) = try Self.encodePattern(count: 75, keyframeInterval: 30)
        #expect(packets.count == 75)
        #expect(packets.map(\.pts) == (0..<75).map { Int64($0) })
        // No B-frames: decode order is presentation order.
        #expect(packets.allSatisfy { $0.dts == $0.pts })
        let keyframes = packets.indices.filter { packets[$0].isKeyframe }
        #expect(keyframes == [0, 30, 60])
        for packet in packets {
            let units = try #require(H264AnnexB.nalUnits(lengthPrefixed: Array(buffer: packet.data)))
            #expect(!units.isEmpty)
            // Parameter sets travel in the decoder configuration, never in the frames (global header).
            #expect(!units.contains { H264AnnexB.type(of: $0) == H264AnnexB.sequenceParameterSetType })
            let hasIDRSlice = units.contains { H264AnnexB.type(of: $0) == 5 }
            #expect(hasIDRSlice == packet.isKeyframe)
        }
    }

    @Test func ffprobeDecodesTheStreamWithTheRightSizeFrameCountAndKeyframes() throws {
        let (encoder, packets) = try Self.encodePattern(count: 60, keyframeInterval: 30)
        let file = FFmpegTools.temporaryFile("pattern.h264")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(Self.annexBStream(record: encoder.decoderConfiguration, packets: packets)).write(to: file)

        let probe = try FFmpegTools.probe(file, format: "h264")
        let stream = try #require(probe.streams.first)
        #expect(stream.codec_name == "h264")
        #expect(stream.width == Self.width)
        #expect(stream.height == Self.height)
        #expect(stream.nb_read_frames == "60")
        let keyPackets = (probe.packets ?? []).indices.filter { probe.packets![$0].flags?.hasPrefix("K") == true }
        #expect(keyPackets == [0, 30])
    }

    @Test func decodedPictureMatchesTheRenderedOne() throws {
        let (encoder, packets) = try Self.encodePattern(count: 1)
        let file = FFmpegTools.temporaryFile("one.h264")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(Self.annexBStream(record: encoder.decoderConfiguration, packets: packets)).write(to: file)
        let decoded = [UInt8](try FFmpegTools.decode(file, inputFormat: "h264",
                                                     outputArguments: ["-f", "rawvideo", "-pix_fmt", "yuv420p"]))
        let original = TestPatternRenderer(width: Self.width, height: Self.height)
            .render(frameNumber: 0, time: TimeOfDay(secondsSinceMidnight: 0), highlight: true)
        let planes = original.y + original.u + original.v
        try #require(decoded.count == planes.count)
        // Lossy, but close: a swapped plane or a stride error would be off by tens on average.
        let lumaError = zip(decoded.prefix(original.y.count), original.y).map { abs(Int($0) - Int($1)) }
        let chromaError = zip(decoded.dropFirst(original.y.count), original.u + original.v).map { abs(Int($0) - Int($1)) }
        #expect(Double(lumaError.reduce(0, +)) / Double(lumaError.count) < 3)
        #expect(Double(chromaError.reduce(0, +)) / Double(chromaError.count) < 3)
    }

    @Test func requestedKeyframeComesOnTheNextFrame() throws {
        let encoder = try H264Encoder(configuration: H264EncoderConfiguration(width: 160, height: 120,
                                                                              keyframeInterval: 300))
        let frame = TestPatternRenderer(width: 160, height: 120)
            .render(frameNumber: 0, time: TimeOfDay(hours: 1, minutes: 2, seconds: 3))
        var keyframes: [Int64] = []
        for pts in Int64(0)..<20 {
            if pts == 7 { encoder.requestKeyframe() }
            keyframes += try encoder.encode(frame: frame, pts: pts).filter(\.isKeyframe).map(\.pts)
        }
        #expect(keyframes == [0, 7])
    }

    @Test(arguments: [(0, 240), (320, 0), (-2, 240), (321, 240), (320, 239)])
    func rejectsUnusablePictureSizes(width: Int, height: Int) {
        #expect(throws: TranscodeError.invalidDimensions(width: width, height: height)) {
            try H264Encoder(configuration: H264EncoderConfiguration(width: width, height: height))
        }
    }

    @Test func rejectsBadParametersAndMisuse() throws {
        #expect(throws: TranscodeError.invalidParameter("frames per second 0")) {
            try H264Encoder(configuration: H264EncoderConfiguration(width: 160, height: 120, framesPerSecond: 0,
                                                                    timescale: 1000))
        }
        let encoder = try H264Encoder(configuration: H264EncoderConfiguration(width: 160, height: 120))
        #expect(throws: TranscodeError.frameSizeMismatch(expectedWidth: 160, expectedHeight: 120, width: 320, height: 240)) {
            try encoder.encode(frame: PlanarYUVFrame(width: 320, height: 240), pts: 0)
        }
        _ = try encoder.encode(frame: PlanarYUVFrame(width: 160, height: 120), pts: 5)
        #expect(throws: TranscodeError.nonIncreasingTimestamp(previous: 5, current: 5)) {
            try encoder.encode(frame: PlanarYUVFrame(width: 160, height: 120), pts: 5)
        }
        _ = try encoder.flush()
        #expect(throws: TranscodeError.alreadyFlushed) {
            try encoder.encode(frame: PlanarYUVFrame(width: 160, height: 120), pts: 6)
        }
        #expect(TranscodeError.invalidDimensions(width: 0, height: 0).description.contains("0x0"))
    }

    @Test func libavFailuresCarryTheCallAndLibavText() {
        // AVERROR(EINVAL) = -22 on Linux.
        let error = TranscodeError.libav(-22, operation: "avcodec_open2(libx264)")
        #expect(error == .library(operation: "avcodec_open2(libx264)", code: -22, message: "Invalid argument"))
        #expect(TranscodeError.libav(-12, operation: "av_frame_get_buffer") == .outOfMemory(operation: "av_frame_get_buffer"))
    }
}

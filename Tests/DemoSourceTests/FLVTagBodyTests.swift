import Foundation
import MediaCore
import NIOCore
import RTMP
import Testing
import Codecs
@testable import DemoSource

@Suite struct FLVTagBodyTests {
    @Test func headersMatchWhatRTMPPublishersSend() {
        let record = ByteBuffer(bytes: [1, 0x64, 0, 0x1F])
        #expect(Array(buffer: FLVTagBody.avcSequenceHeader(record)) == [0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1F])
        let nalus = ByteBuffer(bytes: [0, 0, 0, 1, 0x41])
        #expect(Array(buffer: FLVTagBody.avcAccessUnit(nalus, isKeyframe: false, compositionTime: 66))
                == [0x27, 1, 0, 0, 66, 0, 0, 0, 1, 0x41])
        #expect(Array(buffer: FLVTagBody.avcAccessUnit(nalus, isKeyframe: true, compositionTime: -1)).prefix(5)
                == [0x17, 1, 0xFF, 0xFF, 0xFF])
        #expect(Array(buffer: FLVTagBody.aacSequenceHeader(ByteBuffer(bytes: [0x11, 0x90]))) == [0xAF, 0, 0x11, 0x90])
        #expect(Array(buffer: FLVTagBody.aacFrame(ByteBuffer(bytes: [0x21, 0x10]))) == [0xAF, 1, 0x21, 0x10])
    }

    /// Writes an FLV file (FLV 10.1 §E.2–E.3): header, then tags each followed by the previous tag size.
    static func flvFile(tags: [(type: FLVTagType, timestamp: UInt32, body: ByteBuffer)]) -> [UInt8] {
        var file: [UInt8] = [0x46, 0x4C, 0x56, 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0]
        for tag in tags {
            let size = tag.body.readableBytes
            let ts = tag.timestamp
            file += [tag.type.rawValue, UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF),
                     UInt8(ts >> 16 & 0xFF), UInt8(ts >> 8 & 0xFF), UInt8(ts & 0xFF), UInt8(ts >> 24), 0, 0, 0]
            file += Array(buffer: tag.body)
            let total = UInt32(size + 11)
            file += [UInt8(total >> 24), UInt8(total >> 16 & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF)]
        }
        return file
    }

    struct Probe: Decodable {
        struct Stream: Decodable {
            let codec_name: String?
            let width: Int?
            let height: Int?
            let sample_rate: String?
            let channels: Int?
            let nb_read_frames: String?
        }
        let streams: [Stream]
    }

    @Test func ffprobeReadsAnFLVFileMadeOfTheDemoTags() throws {
        let video = try H264Encoder(configuration: H264EncoderConfiguration(width: 320, height: 180, keyframeInterval: 30))
        let audio = try AACEncoder(configuration: AACEncoderConfiguration())
        let renderer = TestPatternRenderer(width: 320, height: 180)
        var tone = TestToneGenerator()
        var tags: [(type: FLVTagType, timestamp: UInt32, body: ByteBuffer)] = [
            (.video, 0, FLVTagBody.avcSequenceHeader(video.decoderConfiguration)),
            (.audio, 0, FLVTagBody.aacSequenceHeader(audio.audioSpecificConfig)),
        ]
        // The demuxer LiveRelay ingests with must accept the same tags.
        var demuxer = FLVMediaDemuxer()
        for number in 0..<45 {
            let picture = renderer.render(frameNumber: number, time: TimeOfDay(secondsSinceMidnight: 0))
            for packet in try video.encode(frame: picture, pts: Int64(number)) {
                tags.append((.video, UInt32(22 + packet.dts * 1000 / 30),
                             FLVTagBody.avcAccessUnit(packet.data, isKeyframe: packet.isKeyframe, compositionTime: 0)))
            }
            for packet in try audio.encode(interleavedSamples: tone.nextSamples(count: 1600)) {
                tags.append((.audio, UInt32(22 + packet.pts * 1000 / 48_000), FLVTagBody.aacFrame(packet.data)))
            }
        }
        var outputs: [FLVMediaOutput] = []
        for tag in tags { outputs += try demuxer.demux(tag.type, timestamp: tag.timestamp, body: tag.body) }
        #expect(outputs.count == tags.count)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-\(UUID().uuidString).flv")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(Self.flvFile(tags: tags)).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let probe = try JSONDecoder().decode(Probe.self, from: output)
        let videoStream = try #require(probe.streams.first { $0.codec_name == "h264" })
        #expect(videoStream.width == 320 && videoStream.height == 180)
        #expect(videoStream.nb_read_frames == "45")
        let audioStream = try #require(probe.streams.first { $0.codec_name == "aac" })
        #expect(audioStream.sample_rate == "48000" && audioStream.channels == 2)
    }
}

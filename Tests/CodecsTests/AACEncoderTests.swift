import Foundation
import MediaCore
import NIOCore
import Testing
@testable import Codecs

@Suite struct AACEncoderTests {
    /// A raw AAC frame wrapped in the 7-byte ADTS header (ISO/IEC 13818-7 §6.2), so ffmpeg can read the stream.
    static func adtsFrame(_ payload: [UInt8], config: AudioSpecificConfig) -> [UInt8] {
        let length = payload.count + 7
        let rateIndex = AudioSpecificConfig.sampleRates.firstIndex(of: config.sampleRate)!
        let profile = config.audioObjectType - 1
        let channels = config.channelConfiguration
        return [0xFF, 0xF1,
                UInt8(profile << 6 | rateIndex << 2 | channels >> 2),
                UInt8((channels & 3) << 6 | length >> 11),
                UInt8((length >> 3) & 0xFF),
                UInt8((length & 7) << 5 | 0x1F),
                0xFC] + payload
    }

    static func encodeTone(seconds: Int, channels: Int = 2, chunk: Int = 480) throws -> (AACEncoder, [EncodedPacket]) {
        let encoder = try AACEncoder(configuration: AACEncoderConfiguration(sampleRate: 48_000, channels: channels))
        var tone = TestToneGenerator(sampleRate: 48_000, channels: channels)
        var packets: [EncodedPacket] = []
        // Odd-sized chunks (10 ms) exercise the FIFO: frames are 1024 samples.
        for _ in 0..<(seconds * 48_000 / chunk) {
            packets += try encoder.encode(interleavedSamples: tone.nextSamples(count: chunk))
        }
        packets += try encoder.flush()
        return (encoder, packets)
    }

    @Test func audioSpecificConfigDescribesAACLowComplexity() throws {
        let stereo = try AACEncoder(configuration: AACEncoderConfiguration())
        // Object type 2 (LC), 48 kHz, 2 channels; libavcodec appends the explicit "no SBR" sync extension (0x2B7).
        #expect(Array(buffer: stereo.audioSpecificConfig).prefix(2) == [0x11, 0x90])
        #expect(try AudioSpecificConfig.parse(stereo.audioSpecificConfig)
                == AudioSpecificConfig(audioObjectType: 2, sampleRate: 48_000, channelConfiguration: 2))
        let mono = try AudioSpecificConfig.parse(
            try AACEncoder(configuration: AACEncoderConfiguration(sampleRate: 44_100, channels: 1)).audioSpecificConfig)
        #expect(mono == AudioSpecificConfig(audioObjectType: 2, sampleRate: 44_100, channelConfiguration: 1))
        #expect(stereo.samplesPerFrame == 1024)
        #expect(stereo.primingSamples == 1024)
    }

    @Test func packetsAreConsecutiveFramesStartingAtThePriming() throws {
        let (encoder, packets) = try Self.encodeTone(seconds: 1)
        // 48000 input samples + 1024 priming, in whole frames.
        #expect(packets.count == (48_000 + 1024 + 1023) / 1024)
        #expect(packets.first?.pts == -Int64(encoder.primingSamples))
        for (previous, next) in zip(packets, packets.dropFirst()) {
            #expect(next.pts - previous.pts == 1024)
        }
        #expect(packets.allSatisfy { $0.timescale == 48_000 && $0.data.readableBytes > 0 })
    }

    @Test func ffmpegDecodesOneSecondOfTheTone() throws {
        let (encoder, packets) = try Self.encodeTone(seconds: 1, channels: 1)
        let config = try AudioSpecificConfig.parse(encoder.audioSpecificConfig)
        let file = FFmpegTools.temporaryFile("tone.aac")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(packets.flatMap { Self.adtsFrame(Array(buffer: $0.data), config: config) }).write(to: file)

        let probe = try FFmpegTools.probe(file, format: "aac")
        let stream = try #require(probe.streams.first)
        #expect(stream.codec_name == "aac")
        #expect(stream.sample_rate == "48000")
        #expect(stream.channels == 1)
        let frames = try #require(stream.nb_read_frames.flatMap { Int($0) })
        let duration = Double(frames * 1024) / 48_000
        #expect(duration >= 1.0 && duration <= 1.05)

        // The decoded signal is the tone: ADTS keeps the priming, so input sample n is decoded sample n + 1024.
        let pcm = try FFmpegTools.decode(file, inputFormat: "aac", outputArguments: ["-f", "f32le", "-ac", "1"])
        let samples = pcm.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        try #require(samples.count >= 48_000)
        let window = samples[(1024 + 12_000)..<(1024 + 36_000)]  // 0.25 s … 0.75 s: between beeps
        let crossings = zip(window, window.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 440) <= 8, "440 Hz for 0.5 s crosses zero 440 times, saw \(crossings)")
        let peak = window.map(abs).max() ?? 0
        #expect(peak > 0.2 && peak < 0.3)
    }

    @Test func rejectsUnusableConfigurations() {
        #expect(throws: TranscodeError.self) {
            try AACEncoder(configuration: AACEncoderConfiguration(sampleRate: 12_345))
        }
        #expect(throws: TranscodeError.invalidParameter("0 channels")) {
            try AACEncoder(configuration: AACEncoderConfiguration(channels: 0))
        }
    }

    @Test func rejectsSamplesThatDoNotFillEveryChannelAndUseAfterFlush() throws {
        let encoder = try AACEncoder(configuration: AACEncoderConfiguration(channels: 2))
        #expect(throws: TranscodeError.self) { try encoder.encode(interleavedSamples: [0, 0, 0]) }
        _ = try encoder.flush()
        #expect(throws: TranscodeError.alreadyFlushed) { try encoder.encode(interleavedSamples: [0, 0]) }
    }
}

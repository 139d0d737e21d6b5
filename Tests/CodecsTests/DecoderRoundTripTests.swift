import Foundation
import MediaCore
import NIOCore
import Testing
@testable import Codecs

/// The decode side of the wrappers, fed by the encoders LiveRelay already trusts (and ffmpeg checks elsewhere).
@Suite("Decoders, scaler, resampler, VP8 and Opus")
struct DecoderRoundTripTests {
    static func h264(width: Int, height: Int, count: Int, keyframeInterval: Int) throws -> (ByteBuffer, [EncodedPacket]) {
        let encoder = try H264Encoder(configuration: H264EncoderConfiguration(
            width: width, height: height, bitrate: 500_000, keyframeInterval: keyframeInterval, preset: .ultrafast))
        let renderer = TestPatternRenderer(width: width, height: height)
        var packets: [EncodedPacket] = []
        for index in 0..<count {
            packets += try encoder.encode(frame: renderer.render(frameNumber: index, time: TimeOfDay(secondsSinceMidnight: 0)),
                                          pts: Int64(index))
        }
        return (encoder.decoderConfiguration, packets + (try encoder.flush()))
    }

    @Test("H.264 decodes every picture in order; a truncated NAL unit is counted and skipped to the next keyframe")
    func h264RoundTrip() throws {
        let (configuration, packets) = try Self.h264(width: 320, height: 240, count: 20, keyframeInterval: 10)
        let decoder = try H264Decoder(decoderConfiguration: configuration, threads: 2)
        var pts: [Int64] = []
        for (index, packet) in packets.enumerated() {
            var data = packet.data
            if index == 3 { data = data.getSlice(at: data.readerIndex, length: data.readableBytes - 5)! }
            pts += decoder.decode(data, pts: packet.pts, dts: packet.dts, isKeyframe: packet.isKeyframe).map(\.pts)
        }
        pts += decoder.flush().map(\.pts)
        #expect(decoder.errorCount == 1)
        #expect(decoder.skippedCount == 6)  // 4…9, up to the keyframe at 10
        #expect(pts == [0, 1, 2] + Array(10..<20))
    }

    @Test("an AVCDecoderConfigurationRecord without PPS is refused")
    func configurationWithoutPPS() throws {
        let (configuration, _) = try Self.h264(width: 64, height: 64, count: 1, keyframeInterval: 10)
        var record = try AVCDecoderConfigurationRecord.parse(configuration)
        record.pictureParameterSets = []
        var broken = ByteBuffer()
        record.write(to: &broken)
        #expect(throws: TranscodeError.self) { try H264Decoder(decoderConfiguration: broken) }
    }

    @Test("the scaler halves a picture and keeps its brightness")
    func scaler() throws {
        let (configuration, packets) = try Self.h264(width: 320, height: 240, count: 1, keyframeInterval: 10)
        let decoder = try H264Decoder(decoderConfiguration: configuration)
        var pictures = decoder.decode(packets[0].data, pts: 0, dts: 0, isKeyframe: true)
        pictures += decoder.flush()
        let picture = try #require(pictures.first)
        let full = try Scaler(width: 320, height: 240).scale(picture)
        let half = try Scaler(width: 160, height: 120).scale(picture)
        #expect(half.width == 160 && half.height == 120 && half.y.count == 160 * 120 && half.u.count == 80 * 60)
        func mean(_ plane: [UInt8]) -> Double { Double(plane.reduce(0) { $0 + Int($1) }) / Double(plane.count) }
        #expect(abs(mean(full.y) - mean(half.y)) < 2)
        #expect(abs(mean(full.u) - mean(half.u)) < 2)
        #expect(throws: TranscodeError.self) { try Scaler(width: 161, height: 120) }
        // A rung made from the rung above (an I420 picture) is the picture made from the source, within a few levels.
        let quarterFromSource = try Scaler(width: 80, height: 60).scale(picture)
        let quarterFromHalf = try Scaler(width: 80, height: 60).scale(half)
        #expect(quarterFromHalf.width == 80 && quarterFromHalf.height == 60 && quarterFromHalf.v.count == 40 * 30)
        func meanDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
            Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
        }
        #expect(meanDifference(quarterFromSource.y, quarterFromHalf.y) < 4)
        #expect(meanDifference(quarterFromSource.u, quarterFromHalf.u) < 4)
        #expect(meanDifference(quarterFromSource.y, quarterFromHalf.y.reversed()) > 4, "a real picture, not a flat one")
    }

    @Test("VP8: the first frame and a requested one are keyframes, the others are not")
    func vp8Keyframes() throws {
        let encoder = try VP8Encoder(configuration: VP8EncoderConfiguration(width: 320, height: 180, bitrate: 200_000))
        let renderer = TestPatternRenderer(width: 320, height: 180)
        var keyframes: [Bool] = []
        for index in 0..<10 {
            if index == 6 { encoder.requestKeyframe() }
            let packets = try encoder.encode(frame: renderer.render(frameNumber: index, time: TimeOfDay(secondsSinceMidnight: 0)),
                                             pts: Int64(index) * 3000, duration: 3000)
            #expect(packets.count == 1)
            #expect(packets.first?.pts == Int64(index) * 3000)
            keyframes += packets.map(\.isKeyframe)
        }
        #expect(keyframes == [true, false, false, false, false, false, true, false, false, false])
        #expect(throws: TranscodeError.self) {
            try encoder.encode(frame: PlanarYUVFrame(width: 64, height: 64), pts: 100_000, duration: 3000)
        }
    }

    @Test("AAC 44.1 kHz mono → 48 kHz stereo → Opus 20 ms packets that decode back")
    func audioPath() throws {
        let aac = try AACEncoder(configuration: AACEncoderConfiguration(sampleRate: 44100, channels: 1, bitrate: 64_000))
        let tone = (0..<44100).map { Float(0.3 * sin(2 * Double.pi * 440 * Double($0) / 44100)) }
        let packets = try aac.encode(interleavedSamples: tone) + aac.flush()
        let decoder = try AACDecoder(audioSpecificConfig: aac.audioSpecificConfig)
        let resampler = Resampler()
        let opus = try OpusEncoder()
        var resampled = 0
        var opusPackets: [EncodedPacket] = []
        for packet in packets {
            for frame in decoder.decode(packet.data, pts: packet.pts) {
                let samples = try resampler.resample(frame)
                resampled += samples.count / 2
                opusPackets += try opus.encode(interleavedSamples: samples)
            }
        }
        #expect(decoder.errorCount == 0)
        // 1 s plus priming and the last partial frame, less the resampler's filter delay.
        #expect(abs(resampled - 48000 - 2048 * 48000 / 44100) < 1200, "\(resampled) samples at 48 kHz")
        #expect(opusPackets.count == resampled / 960)
        #expect(opusPackets.map(\.pts) == opusPackets.indices.map { Int64($0) * 960 })
        let opusDecoder = try OpusDecoder()
        var decoded: [Float] = []
        for packet in opusPackets { decoded += try opusDecoder.decode(packet.data) }
        #expect(decoded.count == opusPackets.count * 960 * 2)
        // The tone survives: a 0.3 sine has RMS 0.3/√2, and libswresample puts mono into both channels at −3 dB
        // (centre-channel mix, power preserving), so each channel has half of that power.
        let middle = decoded[(decoded.count / 3)..<(decoded.count * 2 / 3)]
        let rms = (middle.reduce(0) { $0 + Double($1) * Double($1) } / Double(middle.count)).squareRoot()
        #expect(abs(rms - 0.3 / 2) < 0.02, "rms \(rms)")
        // A damaged AAC frame is counted, not thrown.
        _ = decoder.decode(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]), pts: 0)
        #expect(decoder.errorCount == 1)
    }
}

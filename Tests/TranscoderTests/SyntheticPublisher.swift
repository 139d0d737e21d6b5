import Foundation
import MediaCore
import MediaRouter
import NIOCore
import Codecs

/// Makes real H.264 and AAC with the Codecs encoders and pushes it straight into a publication, so tests can
/// damage exactly the bytes they mean to.
struct SyntheticVideo {
    let configuration: VideoTrackConfig
    /// AVCC access units with their frame numbers; keyframes every `keyframeInterval` frames.
    let frames: [EncodedFrame]

    static func make(width: Int, height: Int, count: Int, fps: Int = 30, keyframeInterval: Int = 30,
                     firstPTS: Int64 = 0) throws -> SyntheticVideo {
        let encoder = try H264Encoder(configuration: H264EncoderConfiguration(
            width: width, height: height, framesPerSecond: fps, bitrate: 1_000_000, keyframeInterval: keyframeInterval,
            preset: .ultrafast))
        let renderer = TestPatternRenderer(width: width, height: height)
        var frames: [EncodedFrame] = []
        var packets: [EncodedPacket] = []
        for index in 0..<count {
            let picture = renderer.render(frameNumber: index, time: TimeOfDay(secondsSinceMidnight: Int64(index / fps)))
            packets += try encoder.encode(frame: picture, pts: Int64(index))
        }
        packets += try encoder.flush()
        for packet in packets {
            let pts = firstPTS + packet.pts * 1000 / Int64(fps)
            let dts = firstPTS + packet.dts * 1000 / Int64(fps)
            frames.append(EncodedFrame(codec: .h264, pts: pts, dts: dts, timescale: 1000, isKeyframe: packet.isKeyframe,
                                       data: packet.data))
        }
        let configuration = VideoTrackConfig(codec: .h264, width: width, height: height, declaredFrameRate: Double(fps),
                                             decoderConfiguration: encoder.decoderConfiguration)
        return SyntheticVideo(configuration: configuration, frames: frames)
    }
}

struct SyntheticAudio {
    let configuration: AudioTrackConfig
    let frames: [EncodedFrame]

    /// `seconds` of a tone as AAC frames timed in milliseconds from `firstPTS`.
    static func make(sampleRate: Int, channels: Int, seconds: Double, firstPTS: Int64 = 0) throws -> SyntheticAudio {
        let encoder = try AACEncoder(configuration: AACEncoderConfiguration(sampleRate: sampleRate, channels: channels))
        let count = Int(Double(sampleRate) * seconds)
        var samples: [Float] = []
        samples.reserveCapacity(count * channels)
        for index in 0..<count {
            let phase: Double = 2 * Double.pi * 440 * Double(index) / Double(sampleRate)
            let value = Float(0.3 * sin(phase))
            for _ in 0..<channels { samples.append(value) }
        }
        let packets = try encoder.encode(interleavedSamples: samples) + encoder.flush()
        let frames = packets.map { packet in
            let pts = firstPTS + max(0, packet.pts) * 1000 / Int64(sampleRate)
            return EncodedFrame(codec: .aac, pts: pts, dts: pts, timescale: 1000, isKeyframe: true, data: packet.data)
        }
        let configuration = AudioTrackConfig(codec: .aac, sampleRate: sampleRate, channels: channels,
                                             decoderConfiguration: encoder.audioSpecificConfig)
        return SyntheticAudio(configuration: configuration, frames: frames)
    }
}

import Testing
@testable import Codecs

/// libvpx's multi-resolution encoder behind `VP8SimulcastEncoder`: which ladders it takes, and what each layer's
/// bitstream says about itself (size and frame type from the VP8 frame header, RFC 6386 §9.1).
@Suite("VP8 simulcast encoder")
struct VP8SimulcastEncoderTests {
    static func configuration(_ width: Int, _ height: Int, _ kbps: Int, fps: Int = 30) -> VP8EncoderConfiguration {
        VP8EncoderConfiguration(width: width, height: height, framesPerSecond: fps, bitrate: kbps * 1000)
    }

    /// Width and height a VP8 keyframe declares (nil for an interframe or a malformed header).
    static func keyframeSize(_ packet: EncodedPacket) -> (Int, Int)? {
        let bytes = Array(packet.data.readableBytesView)
        guard bytes.count >= 10, bytes[0] & 1 == 0, bytes[3] == 0x9d, bytes[4] == 0x01, bytes[5] == 0x2a else { return nil }
        return ((Int(bytes[7]) << 8 | Int(bytes[6])) & 0x3fff, (Int(bytes[9]) << 8 | Int(bytes[8])) & 0x3fff)
    }

    @Test("layers are taken together only when each is the one above scaled by one exact ratio, at one frame rate")
    func eligibility() {
        let ladder = [Self.configuration(1280, 720, 2500), Self.configuration(640, 360, 800), Self.configuration(320, 180, 200)]
        #expect(VP8SimulcastEncoder.canEncodeTogether(ladder))
        #expect(VP8SimulcastEncoder.canEncodeTogether([Self.configuration(960, 540, 1500), Self.configuration(640, 360, 800)]))
        #expect(!VP8SimulcastEncoder.canEncodeTogether([ladder[0]]), "one layer")
        #expect(!VP8SimulcastEncoder.canEncodeTogether([Self.configuration(854, 480, 1500), ladder[1]]), "854/640 ≠ 480/360")
        #expect(!VP8SimulcastEncoder.canEncodeTogether([ladder[1], ladder[0]]), "smallest first")
        #expect(!VP8SimulcastEncoder.canEncodeTogether([ladder[0], Self.configuration(640, 360, 800, fps: 15)]), "two rates")
        #expect(throws: TranscodeError.self) { try VP8SimulcastEncoder(configurations: [ladder[1], ladder[0]]) }
    }

    @Test("every layer gets its packet per picture, at its size; a requested keyframe is a keyframe on all layers")
    func layers() throws {
        let sizes = [(640, 360), (320, 180), (160, 90)]
        let encoder = try VP8SimulcastEncoder(configurations: zip(sizes, [800, 200, 50]).map { Self.configuration($0.0, $0.1, $1) })
        let renderers = sizes.map { TestPatternRenderer(width: $0.0, height: $0.1) }
        var keyframes: [[Bool]] = []
        var bytes = [0, 0, 0]
        for index in 0..<12 {
            if index == 7 { encoder.requestKeyframe() }
            let pictures = renderers.map { $0.render(frameNumber: index, time: TimeOfDay(secondsSinceMidnight: 0)) }
            let layers = try encoder.encode(frames: pictures, pts: Int64(index) * 3000, duration: 3000)
            #expect(layers.map(\.count) == [1, 1, 1])
            for (layer, packets) in layers.enumerated() {
                bytes[layer] += packets.reduce(0) { $0 + $1.data.readableBytes }
                #expect(packets.first?.pts == Int64(index) * 3000)
                if let packet = packets.first, packet.isKeyframe {
                    #expect(Self.keyframeSize(packet).map { [$0.0, $0.1] } == [sizes[layer].0, sizes[layer].1])
                }
            }
            keyframes.append(layers.map { $0.first?.isKeyframe ?? false })
        }
        #expect(keyframes.indices.filter { keyframes[$0] == [true, true, true] } == [0, 7])
        #expect(keyframes.allSatisfy { $0 == [true, true, true] || $0 == [false, false, false] })
        #expect(bytes[0] > bytes[1] && bytes[1] > bytes[2], "larger layers carry more: \(bytes)")
        #expect(throws: TranscodeError.self) {
            try encoder.encode(frames: [PlanarYUVFrame(width: 640, height: 360), PlanarYUVFrame(width: 320, height: 180),
                                        PlanarYUVFrame(width: 64, height: 64)], pts: 100_000, duration: 3000)
        }
        #expect(throws: TranscodeError.self) {
            try encoder.encode(frames: [PlanarYUVFrame(width: 640, height: 360)], pts: 100_000, duration: 3000)
        }
        _ = try encoder.flush()
    }
}

import Foundation
import MediaCore
import MediaRouter
import NIOCore
@testable import Packager

/// Feeds a packager the way ingest does: a session start, configurations, then interleaved H.264 and AAC frames with
/// millisecond timestamps, without a network or an encoder (frame payloads are placeholders).
struct SyntheticStream {
    var packager: Packager
    var stream = "cam"
    var fps = 30
    var gopFrames = 60
    var generation = 1
    var videoFrame = 0
    var audioFrame = 0
    /// Source clock of the session (ms); a new session restarts it near zero as a reconnecting encoder does.
    var baseMilliseconds: Int64 = 0

    static let avcC: ByteBuffer = {
        var buffer = ByteBuffer()
        AVCDecoderConfigurationRecord(profileIndication: 0x64, profileCompatibility: 0, levelIndication: 0x1F, nalUnitLengthSize: 4,
                                      sequenceParameterSets: [ByteBuffer(bytes: [0x67, 0x64, 0x00, 0x1F, 0xAC])],
                                      pictureParameterSets: [ByteBuffer(bytes: [0x68, 0xEE, 0x3C, 0x80])]).write(to: &buffer)
        return buffer
    }()

    init(packager: Packager, stream: String = "cam", fps: Int = 30, gopFrames: Int = 60) {
        self.packager = packager
        self.stream = stream
        self.fps = fps
        self.gopFrames = gopFrames
    }

    mutating func start(generation: Int = 1) {
        self.generation = generation
        videoFrame = 0
        audioFrame = 0
        packager.handle(.started(PublisherDescription(source: "test", remoteAddress: nil, generation: generation)), stream: stream)
        packager.handle(.videoConfiguration(VideoTrackConfig(codec: .h264, width: 1280, height: 720, declaredFrameRate: Double(fps),
                                                             decoderConfiguration: Self.avcC)), stream: stream)
        packager.handle(.audioConfiguration(AudioTrackConfig(codec: .aac, sampleRate: 48000, channels: 2,
                                                             decoderConfiguration: ByteBuffer(bytes: [0x11, 0x90]))), stream: stream)
    }

    /// Sends `seconds` of media, audio and video interleaved by time.
    mutating func send(seconds: Double) {
        let end = Double(videoFrame) / Double(fps) + seconds
        while Double(videoFrame) / Double(fps) < end {
            let videoTime = Double(videoFrame) / Double(fps)
            while Double(audioFrame) * 1024 / 48000 <= videoTime {
                let ms = baseMilliseconds + Int64((Double(audioFrame) * 1024 / 48).rounded(.down))
                packager.handle(.frame(EncodedFrame(codec: .aac, pts: ms, dts: ms, timescale: 1000, isKeyframe: true,
                                                    data: ByteBuffer(repeating: 0x21, count: 300))), stream: stream)
                audioFrame += 1
            }
            let ms = baseMilliseconds + Int64((videoTime * 1000).rounded(.down))
            let key = videoFrame % gopFrames == 0
            var data = ByteBuffer()
            data.writeInteger(UInt32(key ? 2000 : 500))
            data.writeRepeatingByte(key ? 0x65 : 0x41, count: key ? 2000 : 500)
            packager.handle(.frame(EncodedFrame(codec: .h264, pts: ms + 66, dts: ms, timescale: 1000, isKeyframe: key, data: data)),
                            stream: stream)
            videoFrame += 1
        }
    }

    mutating func end() {
        packager.handle(.ended, stream: stream)
    }

    func segments(_ track: String) -> [MediaSegment] {
        var result: [MediaSegment] = []
        var number = 1
        var misses = 0
        while misses < 2000 {
            switch packager.segment(stream: stream, track: track, number: number) {
            case .complete(let segment), .inProgress(let segment): result.append(segment); misses = 0
            case .upcoming, .notFound: if !result.isEmpty { return result }; misses += 1
            }
            number += 1
        }
        return result
    }
}

/// Reads `tfdt` and the first sample's flags out of a segment's bytes.
enum SegmentInspector {
    static func boxes(_ buffer: ByteBuffer) -> [(type: String, payload: ByteBuffer)] {
        var buffer = buffer
        var result: [(String, ByteBuffer)] = []
        while buffer.readableBytes >= 8 {
            let size = Int(buffer.readInteger(as: UInt32.self)!)
            let type = String(decoding: buffer.readBytes(length: 4)!, as: UTF8.self)
            guard size >= 8, let payload = buffer.readSlice(length: size - 8) else { break }
            result.append((type, payload))
        }
        return result
    }

    static func child(_ type: String, of payload: ByteBuffer) -> ByteBuffer? {
        boxes(payload).first { $0.type == type }?.payload
    }

    /// `tfdt` of every chunk in the bytes, in order.
    static func decodeTimes(_ bytes: ByteBuffer) -> [UInt64] {
        boxes(bytes).filter { $0.type == "moof" }.compactMap { moof in
            guard let traf = child("traf", of: moof.payload), var tfdt = child("tfdt", of: traf) else { return nil }
            let version = tfdt.readInteger(as: UInt8.self)
            tfdt.moveReaderIndex(forwardBy: 3)
            return version == 1 ? tfdt.readInteger(as: UInt64.self) : tfdt.readInteger(as: UInt32.self).map(UInt64.init)
        }
    }

    /// Whether the first sample of the first chunk is a sync sample.
    static func startsWithSyncSample(_ bytes: ByteBuffer) -> Bool {
        guard let moof = boxes(bytes).first(where: { $0.type == "moof" }), let traf = child("traf", of: moof.payload),
              var trun = child("trun", of: traf) else { return false }
        trun.moveReaderIndex(forwardBy: 4 + 4 + 4 + 4 + 4)  // version/flags, count, data offset, duration, size
        guard let flags = trun.readInteger(as: UInt32.self) else { return false }
        return flags & 0x0001_0000 == 0
    }

    static func concatenated(_ segment: MediaSegment) -> ByteBuffer {
        var buffer = ByteBuffer()
        for part in segment.parts { buffer.writeImmutableBuffer(part.data) }
        return buffer
    }
}

import MediaCore
import NIOCore
import RTMP
import Testing

@Suite("FLV media demuxer")
struct FLVMediaDemuxerTests {
    /// Captured ffmpeg FLV video sequence header (1280x720 High profile).
    static let videoSequenceHeader: [UInt8] = [
        0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9,
        0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19,
        0x60, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
    ]
    /// Captured ffmpeg FLV audio sequence header (AAC LC 44.1 kHz mono).
    static let audioSequenceHeader: [UInt8] = [0xaf, 0x00, 0x12, 0x08]

    private func demux(_ demuxer: inout FLVMediaDemuxer, _ type: FLVTagType, _ timestamp: UInt32,
                       _ bytes: [UInt8]) throws(FLVDemuxError) -> [FLVMediaOutput] {
        try demuxer.demux(type, timestamp: timestamp, body: ByteBuffer(bytes: bytes))
    }

    @Test func readsVideoSequenceHeaderAndFrames() throws {
        var demuxer = FLVMediaDemuxer()
        // NAL units before the sequence header cannot be decoded: dropped and counted.
        #expect(try demux(&demuxer, .video, 0, [0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65]).isEmpty)
        #expect(demuxer.framesDroppedBeforeConfiguration == 1)

        let outputs = try demux(&demuxer, .video, 0, Self.videoSequenceHeader)
        guard outputs.count == 1, case .videoConfiguration(let config) = outputs[0] else {
            Issue.record("expected a video configuration, got \(outputs)")
            return
        }
        #expect(config.codec == .h264)
        #expect(config.width == 1280)
        #expect(config.height == 720)
        #expect(config.declaredFrameRate == 30)
        #expect(Array(config.decoderConfiguration.readableBytesView) == Array(Self.videoSequenceHeader.dropFirst(5)))

        let keyframe = try demux(&demuxer, .video, 1000, [0x17, 0x01, 0x00, 0x00, 0x43, 0, 0, 0, 1, 0x65])
        guard case .frame(let frame) = keyframe.first else { Issue.record("no frame"); return }
        #expect(frame.codec == .h264)
        #expect(frame.isKeyframe)
        #expect(frame.dts == 1000)
        #expect(frame.pts == 1067)
        #expect(frame.timescale == 1000)
        #expect(Array(frame.data.readableBytesView) == [0, 0, 0, 1, 0x65])

        // A negative composition time is sign-extended from 24 bits.
        let interFrame = try demux(&demuxer, .video, 2000, [0x27, 0x01, 0xFF, 0xFF, 0xF6, 0, 0, 0, 1, 0x41])
        guard case .frame(let bFrame) = interFrame.first else { Issue.record("no frame"); return }
        #expect(!bFrame.isKeyframe)
        #expect(bFrame.pts == 1990)

        #expect(try demux(&demuxer, .video, 3000, [0x17, 0x02, 0, 0, 0]).isEmpty)  // end of sequence
    }

    @Test func readsAudioSequenceHeaderAndFrames() throws {
        var demuxer = FLVMediaDemuxer()
        #expect(try demux(&demuxer, .audio, 0, [0xaf, 0x01, 0x21]).isEmpty)
        let outputs = try demux(&demuxer, .audio, 0, Self.audioSequenceHeader)
        guard case .audioConfiguration(let config) = outputs.first else { Issue.record("no audio configuration"); return }
        #expect(config == AudioTrackConfig(codec: .aac, sampleRate: 44100, channels: 1, decoderConfiguration: ByteBuffer(bytes: [0x12, 0x08])))
        guard case .frame(let frame) = try demux(&demuxer, .audio, 23, [0xaf, 0x01, 0x21, 0x10]).first else {
            Issue.record("no audio frame")
            return
        }
        #expect(frame.codec == .aac)
        #expect(frame.pts == 23 && frame.dts == 23 && frame.isKeyframe)
        #expect(Array(frame.data.readableBytesView) == [0x21, 0x10])
    }

    @Test func namesUnsupportedCodecs() {
        var demuxer = FLVMediaDemuxer()
        // Enhanced RTMP: IsExHeader bit, keyframe, packet type 0 (sequence start), FourCC.
        #expect(throws: FLVDemuxError.unsupportedVideoCodec("hvc1")) {
            try demux(&demuxer, .video, 0, [0x90, 0x68, 0x76, 0x63, 0x31, 0x01])
        }
        #expect(throws: FLVDemuxError.unsupportedVideoCodec("av01")) {
            try demux(&demuxer, .video, 0, [0x90, 0x61, 0x76, 0x30, 0x31])
        }
        #expect(throws: FLVDemuxError.unsupportedVideoCodec("flv codec id 2")) { try demux(&demuxer, .video, 0, [0x12, 0x00]) }
        #expect(throws: FLVDemuxError.unsupportedVideoCodec("flv codec id 12")) { try demux(&demuxer, .video, 0, [0x1C, 0x00]) }
        #expect(throws: FLVDemuxError.unsupportedAudioCodec("mp3")) { try demux(&demuxer, .audio, 0, [0x2F, 0xFF]) }
        #expect(throws: FLVDemuxError.unsupportedAudioCodec("speex")) { try demux(&demuxer, .audio, 0, [0xB2, 0x00]) }
        #expect(throws: FLVDemuxError.unsupportedAudioCodec("Opus")) { try demux(&demuxer, .audio, 0, [0x90, 0x4F, 0x70, 0x75, 0x73]) }
    }

    @Test func rejectsMalformedTags() {
        var demuxer = FLVMediaDemuxer()
        #expect(throws: FLVDemuxError.malformed("AVC video tag shorter than 5 bytes")) { try demux(&demuxer, .video, 0, [0x17, 0x00]) }
        #expect(throws: FLVDemuxError.malformed("enhanced video tag without FourCC")) { try demux(&demuxer, .video, 0, [0x90, 0x68]) }
        #expect(throws: FLVDemuxError.malformed("AVC sequence header: truncated(\"configurationVersion\")")) {
            try demux(&demuxer, .video, 0, [0x17, 0x00, 0, 0, 0])
        }
        #expect(throws: FLVDemuxError.malformed("AACPacketType 7")) { try demux(&demuxer, .audio, 0, [0xAF, 0x07]) }
        // Every truncation of a real sequence header fails cleanly.
        for length in 0..<Self.videoSequenceHeader.count {
            _ = try? demux(&demuxer, .video, 0, Array(Self.videoSequenceHeader.prefix(length)))
        }
    }
}

import MediaCore
import MediaRouter
import NIOCore
import Testing
import Codecs
@testable import Transcoder

extension TranscoderSuites {
@Suite("Transcoder on damaged and changing input", .serialized)
struct BadInputTests {
    static let smallLadder = [
        Rung(name: "360p", width: 640, height: 360, fps: 30, videoKbps: 800),
        Rung(name: "180p", width: 320, height: 180, fps: 30, videoKbps: 200),
    ]

    @Test("no SPS/PPS, truncated NAL units, a resolution change and an AAC config change: counted, then recovered")
    func recoversFromBadInput() async throws {
        let settings = TranscoderSettings(ladder: Self.smallLadder, cmafEnabled: false, encoderQueueDepth: 1000, vp8EncoderQueueDepth: 1000,
                                          decoderQueueDepth: 1000, audioQueueDepth: 1000)
        let fixture = try await TranscoderFixture.start(settings: settings, rtmp: false)
        let first = try SyntheticVideo.make(width: 640, height: 360, count: 60)
        let second = try SyntheticVideo.make(width: 320, height: 240, count: 60, firstPTS: 2000)
        let audioA = try SyntheticAudio.make(sampleRate: 48000, channels: 2, seconds: 2)
        let audioB = try SyntheticAudio.make(sampleRate: 44100, channels: 1, seconds: 2, firstPTS: 2000)
        let publication = try fixture.router.beginPublishing(stream: "s1", source: "test", remoteAddress: nil)

        // 1. Frames before any configuration (a stream that starts without SPS/PPS).
        for frame in first.frames.prefix(5) { publication.push(frame) }
        // 2. A configuration without a picture parameter set is unusable.
        var broken = ByteBuffer()
        var record = try AVCDecoderConfigurationRecord.parse(first.configuration.decoderConfiguration)
        record.pictureParameterSets = []
        record.write(to: &broken)
        publication.setVideoConfiguration(VideoTrackConfig(codec: .h264, width: 640, height: 360, decoderConfiguration: broken))
        for frame in first.frames.prefix(3) { publication.push(frame) }
        // 3. The real configuration, then a GOP whose 11th frame is cut short.
        publication.setVideoConfiguration(first.configuration)
        publication.setAudioConfiguration(audioA.configuration)
        for frame in audioA.frames { publication.push(frame) }
        for (index, frame) in first.frames.enumerated() {
            var frame = frame
            if index == 10 { frame.data = frame.data.getSlice(at: frame.data.readerIndex, length: frame.data.readableBytes / 2)! }
            publication.push(frame)
        }
        #expect(await eventually { (fixture.transcoder.statistics(stream: "s1")?.decodedPictures ?? 0) >= 38 })
        // 4. A new resolution with its own sequence header, and a new AAC configuration (44.1 kHz mono).
        publication.setVideoConfiguration(second.configuration)
        for frame in second.frames { publication.push(frame) }
        publication.setAudioConfiguration(audioB.configuration)
        for frame in audioB.frames { publication.push(frame) }
        publication.end()

        #expect(await eventually { fixture.output.snapshot.ended == [1] })
        let statistics = try #require(fixture.transcoder.statistics(stream: "s1"))
        // The truncated frame and the unusable configuration.
        #expect(statistics.videoDecodeErrors >= 2, "\(statistics)")
        // 5 + 3 without a decoder, then frames 11–29 while waiting for the keyframe at 30.
        #expect(statistics.videoFramesSkipped >= 8 + 19, "\(statistics)")
        // 10 before the damage, 30 from the next keyframe, 60 after the change.
        #expect(statistics.decodedPictures == 10 + 30 + 60, "\(statistics)")
        #expect(statistics.sourceSizeChanges == 2)
        #expect(statistics.audioConfigurations == 2)
        #expect(statistics.audioDecodeErrors == 0)

        let output = fixture.output.snapshot
        #expect(output.layouts.map { $0.webRTCLayers.map { "\($0.rung)=\($0.width)x\($0.height)" } } == [
            ["360p=640x360", "180p=320x180"],
            // 320x240 fits the 360p box as itself; the 180p box gives 240x180.
            ["360p=320x240", "180p=240x180"],
        ])
        let layer360 = output.vp8["360p"] ?? []
        #expect(layer360.count == 100)
        // Every picture after the change starts with a keyframe at the new size.
        let firstAfterChange = try #require(layer360.firstIndex { $0.pts >= 2000 * 90 })
        #expect(layer360[firstAfterChange].isKeyframe)
        #expect(layer360.allSatisfy { $0.codec == .vp8 && $0.timescale == 90_000 })
        // Opus covers both audio configurations: ≈ 4 s of 20 ms packets, continuous across the change.
        #expect((190...205).contains(output.opus.count), "opus packets \(output.opus.count)")
        #expect(output.opus.first?.pts == 0)
        let afterChange = try #require(output.opus.firstIndex { $0.pts >= 2000 * 48 })
        #expect(abs(output.opus[afterChange].pts - 2000 * 48) <= 960)
        await fixture.stop()
    }

    @Test("a keyframe request yields a keyframe within two frames; a burst of 100 requests yields one",
          arguments: [true, false])
    func keyframeRequests(simulcast: Bool) async throws {
        let settings = TranscoderSettings(ladder: Self.smallLadder, cmafEnabled: false, vp8Simulcast: simulcast)
        let fixture = try await TranscoderFixture.start(settings: settings, rtmp: false)
        let video = try SyntheticVideo.make(width: 640, height: 360, count: 120, keyframeInterval: 600)
        let publication = try fixture.router.beginPublishing(stream: "s1", source: "test", remoteAddress: nil)
        publication.setVideoConfiguration(video.configuration)
        let clock = ContinuousClock()
        let start = clock.now
        var requestedAt: Int?
        var burstAt: Int?
        var granted = 0
        for (index, frame) in video.frames.enumerated() {
            // Real-time pacing, so the encoders are never behind when the requests arrive.
            try await clock.sleep(until: start + .milliseconds(index * 33))
            publication.push(frame)
            if index == 30 {
                _ = await eventually(within: 5) { fixture.output.vp8Count("360p") >= 28 }
                requestedAt = fixture.output.vp8Count("360p")
                #expect(fixture.transcoder.requestKeyframe(stream: "s1", rung: "360p"))
                if simulcast {
                    // The keyframe on its way is 180p's too: a request for it now is coalesced with 360p's.
                    #expect(!fixture.transcoder.requestKeyframe(stream: "s1", rung: "180p"))
                }
            }
            if index == 60 {
                burstAt = fixture.output.vp8Count("360p")
                for _ in 0..<100 where fixture.transcoder.requestKeyframe(stream: "s1", rung: "360p") { granted += 1 }
            }
        }
        publication.end()
        #expect(await eventually { fixture.output.snapshot.ended == [1] })
        let frames = fixture.output.snapshot.vp8["360p"] ?? []
        let requested = try #require(requestedAt)
        let keyframe = try #require(frames.indices.first { $0 >= requested && frames[$0].isKeyframe })
        #expect(keyframe - requested < 2, "keyframe \(keyframe - requested) frames after the request")
        #expect(granted == 1)
        let burst = try #require(burstAt)
        // Up to the natural keyframe interval (2 s = 60 frames after the previous keyframe) only one keyframe.
        let window = frames[burst..<min(frames.count, keyframe + 59)]
        #expect(window.filter(\.isKeyframe).count == 1, "keyframes after the burst: \(window.filter(\.isKeyframe).count)")
        let small = fixture.output.snapshot.vp8["180p"] ?? []
        if simulcast {
            // Encoded together, the layers share their frame types: 180p has a keyframe exactly where 360p has one.
            #expect(small.filter(\.isKeyframe).map(\.pts) == frames.filter(\.isKeyframe).map(\.pts))
            #expect(small.filter(\.isKeyframe).count >= 3, "the first, the requested and the burst's")
        } else {
            // 180p was not asked and has only its first keyframe and the 2 s ones.
            #expect(small.filter(\.isKeyframe).count == 2)
        }
        await fixture.stop()
    }
}
}

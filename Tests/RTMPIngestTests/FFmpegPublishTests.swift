import MediaCore
import MediaRouter
import RTMPIngest
import Testing

@Suite("RTMP ingest with real encoders")
struct FFmpegPublishTests {
    @Test("ffmpeg publishes H.264 + AAC; configurations, frame counts and end of stream reach the router")
    func ffmpegPublishes() async throws {
        let fixture = try await IngestFixture.start()
        defer { Task { [server = fixture.server] in await server.stop() } }
        let ffmpeg = try ExternalProcess.ffmpeg(url: fixture.url(), seconds: 4)
        #expect(await eventually { fixture.router.isLive("s1") })
        let exit = await ffmpeg.waitForExit()
        #expect(exit == 0)
        #expect(await eventually(within: 6) { !fixture.router.isLive("s1") })

        let record = fixture.observer.record("s1")
        #expect(record.started == 1)
        #expect(record.ended == 1)
        #expect(record.video?.codec == .h264)
        #expect(record.video?.width == 854)
        #expect(record.video?.height == 480)
        #expect(record.video?.declaredFrameRate == 25)
        #expect(record.audio?.codec == .aac)
        #expect(record.audio.map { [44100, 48000].contains($0.sampleRate) } == true)
        #expect(record.audio?.channels == 1)
        // 4 s at 25 fps is 100 frames; one GOP (50) of slack for start-up and shutdown.
        #expect((50...150).contains(record.videoFrames), "video frames: \(record.videoFrames)")
        // AAC at 44.1 kHz: 1024 samples a frame, ≈ 172 frames in 4 s.
        #expect((100...260).contains(record.audioFrames), "audio frames: \(record.audioFrames)")
        #expect(record.firstVideoFrameIsKeyframe == true)
        #expect(record.videoKeyframes >= 2)
        #expect(record.framesBeforeConfiguration == 0)
    }

    @Test("B-frames: composition offsets keep pts ≥ dts")
    func bFrames() async throws {
        let fixture = try await IngestFixture.start()
        defer { Task { [server = fixture.server] in await server.stop() } }
        let ffmpeg = try ExternalProcess.ffmpeg(url: fixture.url(), size: "640x360", seconds: 2, preset: "fast", extra: ["-bf", "2"])
        #expect(await ffmpeg.waitForExit() == 0)
        #expect(await eventually(within: 6) { !fixture.router.isLive("s1") })
        let record = fixture.observer.record("s1")
        #expect(record.video?.width == 640)
        #expect(record.video?.height == 360)
        #expect(record.videoFrames >= 25)
        #expect(record.framesWithCompositionOffset > 0)
        #expect(record.framesWithPTSBeforeDTS == 0)
    }

    @Test("a wrong stream key is refused and nothing is published")
    func wrongKey() async throws {
        let fixture = try await IngestFixture.start()
        defer { Task { [server = fixture.server] in await server.stop() } }
        let ffmpeg = try ExternalProcess.ffmpeg(url: fixture.url(key: "wrong"), seconds: 2)
        let exit = await ffmpeg.waitForExit()
        #expect(exit != nil && exit != 0)
        #expect(fixture.observer.record("s1").started == 0)
        #expect(fixture.router.liveStreams.isEmpty)
    }

    @Test("a second publisher is refused while the first keeps streaming")
    func secondPublisherRefused() async throws {
        let fixture = try await IngestFixture.start()
        defer { Task { [server = fixture.server] in await server.stop() } }
        let first = try ExternalProcess.ffmpeg(url: fixture.url(), seconds: 6)
        defer { first.terminate() }
        #expect(await eventually { fixture.observer.record("s1").videoFrames >= 10 })

        let second = try ExternalProcess.ffmpeg(url: fixture.url(), seconds: 2)
        let exit = await second.waitForExit()
        #expect(exit != nil && exit != 0)

        let framesAfterRefusal = fixture.observer.record("s1").videoFrames
        #expect(await eventually(within: 4) { fixture.observer.record("s1").videoFrames > framesAfterRefusal + 10 })
        let record = fixture.observer.record("s1")
        #expect(record.started == 1)
        #expect(record.ended == 0)
        #expect(record.generations == [1])
        #expect(fixture.router.isLive("s1"))
    }

    @Test("GStreamer (flvmux + rtmp2sink) publishes H.264 + AAC")
    func gstreamerPublishes() async throws {
        let fixture = try await IngestFixture.start()
        defer { Task { [server = fixture.server] in await server.stop() } }
        let pipeline = "videotestsrc num-buffers=75 is-live=true ! video/x-raw,width=640,height=360,framerate=25/1"
            + " ! x264enc tune=zerolatency key-int-max=25 ! h264parse ! flvmux name=m streamable=true"
            + " ! rtmp2sink location=\(fixture.url())"
            + " audiotestsrc num-buffers=130 is-live=true ! audioconvert ! avenc_aac ! aacparse ! m."
        let gst = try ExternalProcess("/usr/bin/gst-launch-1.0", ["-q", "-e"] + pipeline.split(separator: " ").map(String.init))
        #expect(await eventually { fixture.router.isLive("s1") })
        #expect(await gst.waitForExit() == 0)
        #expect(await eventually(within: 6) { !fixture.router.isLive("s1") })
        let record = fixture.observer.record("s1")
        #expect(record.video?.codec == .h264)
        #expect(record.video?.width == 640)
        #expect(record.video?.height == 360)
        #expect(record.audio?.codec == .aac)
        #expect((40...110).contains(record.videoFrames), "video frames: \(record.videoFrames)")
        #expect(record.audioFrames > 50)
    }
}

import Logging
import MediaCore
import MediaRouter
import ServiceLifecycle
import Testing
@testable import DemoSource

@Suite struct DemoSourceTests {
    static let logger = Logger(label: "test.demo")

    /// Runs a demo source in a service group for about `seconds`, shuts it down gracefully and returns what was seen.
    static func runDemo(width: Int, height: Int, fps: Int, seconds: Double,
                        stream: String = "demo") async throws -> (MediaRecorder, MediaRouter, elapsed: Duration) {
        let router = MediaRouter(logger: logger)
        let recorder = MediaRecorder()
        router.addObserver(recorder, stream: stream)
        let demo = DemoSource(router: router, stream: stream, width: width, height: height, fps: fps, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [demo], logger: logger))
        let running = Task { try await group.run() }
        #expect(try await recorder.wait { $0.startedAt != nil })
        try await Task.sleep(for: .seconds(seconds))
        let elapsed = recorder.startedAt!.duration(to: .now)
        await group.triggerGracefulShutdown()
        try await running.value
        return (recorder, router, elapsed)
    }

    @Test func publishesATestPatternAndToneInRealTime() async throws {
        let fps = 30
        let (recorder, router, elapsed) = try await Self.runDemo(width: 320, height: 180, fps: fps, seconds: 3)

        #expect(recorder.publishers.map(\.source) == ["demo"])
        let videoConfigs = recorder.events.compactMap { if case .videoConfiguration(let c) = $0.event { c } else { nil } }
        let audioConfigs = recorder.events.compactMap { if case .audioConfiguration(let c) = $0.event { c } else { nil } }
        let video = try #require(videoConfigs.first)
        #expect(videoConfigs.count == 1)
        #expect(video.codec == .h264 && video.width == 320 && video.height == 180)
        #expect(video.declaredFrameRate == Double(fps))
        let audio = try #require(audioConfigs.first)
        #expect(audio.codec == .aac && audio.sampleRate == 48_000 && audio.channels == 2)

        // Paced by the clock: about 30 frames per second of running time, never a burst ahead of it.
        let videoFrames = recorder.videoFrames
        let expected = elapsed / .seconds(1) * Double(fps)
        #expect(Double(videoFrames.count) >= expected * 0.9 - 3, "\(videoFrames.count) frames in \(elapsed)")
        #expect(Double(videoFrames.count) <= expected * 1.1 + 3, "\(videoFrames.count) frames in \(elapsed)")
        #expect(videoFrames.count >= 81, "about 90 frames in 3 s")

        // Every frame present, 1000/30 ms apart, and an IDR exactly every two seconds.
        let dts = videoFrames.map(\.dts)
        #expect(zip(dts, dts.dropFirst()).allSatisfy { (33...34).contains($1 - $0) })
        #expect(videoFrames.allSatisfy { $0.pts == $0.dts && $0.timescale == 1000 })
        let keyframes = videoFrames.indices.filter { videoFrames[$0].isKeyframe }
        #expect(keyframes == Array(stride(from: 0, to: videoFrames.count, by: 2 * fps)))

        // Audio covers the same time: 1024-sample frames, timestamps rising, starting no later than the video.
        let audioFrames = recorder.audioFrames
        let audioDTS = audioFrames.map(\.dts)
        #expect(zip(audioDTS, audioDTS.dropFirst()).allSatisfy { (21...22).contains($1 - $0) })
        let audioSeconds = Double(audioFrames.count * 1024) / 48_000
        let videoSeconds = Double(videoFrames.count) / Double(fps)
        #expect(audioSeconds >= videoSeconds - 0.1 && audioSeconds <= videoSeconds + 0.1,
                "audio \(audioSeconds) s for video \(videoSeconds) s")
        let firstAudio = try #require(audioDTS.first)
        let firstVideo = try #require(dts.first)
        #expect(firstAudio <= firstVideo)

        // Shutdown ends the publication.
        #expect(recorder.endedCount == 1)
        if case .ended = recorder.events.last?.event {} else { Issue.record("last event is not .ended") }
        #expect(!router.isLive("demo"))
    }

    @Test func waitsWhileAnotherPublisherHoldsTheNameThenPublishes() async throws {
        let router = MediaRouter(logger: Self.logger)
        let recorder = MediaRecorder()
        router.addObserver(recorder, stream: "taken")
        let broadcaster = try router.beginPublishing(stream: "taken", source: "rtmp", remoteAddress: "192.0.2.1:5000")
        let demo = DemoSource(router: router, stream: "taken", width: 160, height: 90, fps: 15,
                              retryInterval: .milliseconds(200), logger: Self.logger)
        let running = Task { try await demo.run() }

        try await Task.sleep(for: .milliseconds(700))
        #expect(router.status(of: "taken")?.publisher.source == "rtmp")
        #expect(recorder.frames.isEmpty)

        broadcaster.end()
        #expect(try await recorder.wait { $0.videoFrames.count >= 5 })
        #expect(router.status(of: "taken")?.publisher.source == "demo")
        #expect(recorder.publishers.map(\.source) == ["rtmp", "demo"])

        // Cancellation (not just graceful shutdown) stops it and ends the publication.
        running.cancel()
        try await running.value
        #expect(!router.isLive("taken"))
        #expect(recorder.endedCount == 2)
    }

    @Test func publishesAgainAfterAnEviction() async throws {
        let router = MediaRouter(logger: Self.logger)
        let recorder = MediaRecorder()
        router.addObserver(recorder, stream: "evicted")
        let demo = DemoSource(router: router, stream: "evicted", width: 160, height: 90, fps: 15,
                              retryInterval: .milliseconds(100), logger: Self.logger)
        let running = Task { try await demo.run() }
        #expect(try await recorder.wait { $0.videoFrames.count >= 3 })
        router.evict(stream: "evicted")
        #expect(try await recorder.wait { $0.publishers.count == 2 && $0.endedCount == 1 })
        #expect(recorder.publishers.map(\.generation) == [1, 2])
        running.cancel()
        try await running.value
        #expect(recorder.endedCount == 2)
    }
}

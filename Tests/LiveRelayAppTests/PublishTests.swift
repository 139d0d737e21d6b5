import Foundation
import MediaCore
import Testing
@testable import LiveRelayApp

/// Real encoders publish to a whole node; the API and the router must see what they sent.
@Suite("Publishing over RTMP", .serialized)
struct PublishTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var width: Int
        var height: Int
        var fps: Int
        var bFrames: Bool
        var testDescription: String { "\(width)x\(height)@\(fps)\(bFrames ? " B-frames" : "")" }
    }

    static let cases = [
        Case(width: 1280, height: 720, fps: 30, bFrames: true),
        Case(width: 1280, height: 720, fps: 30, bFrames: false),
        Case(width: 854, height: 480, fps: 25, bFrames: true),
        Case(width: 854, height: 480, fps: 25, bFrames: false),
    ]

    @Test(arguments: cases)
    func ffmpegPublishesAndTheAPIReportsIt(_ testCase: Case) async throws {
        let node = try await TestServer()
        let key = try await node.createStream("cam")
        let counter = FrameCounter()
        node.router.addObserver(counter, stream: "cam")

        let seconds = 10
        let gop = testCase.fps * 2
        let ffmpeg = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "\(testCase.width)x\(testCase.height)",
                                                   rate: testCase.fps, seconds: seconds, bFrames: testCase.bFrames, gop: gop)
        try ffmpeg.start()

        // While live, the API describes the ingest.
        let sawLive = try await eventually {
            let info = try await node.streamInfo("cam")
            guard info["live"] as? Bool == true, let ingest = info["ingest"] as? [String: Any],
                  let video = ingest["video"] as? [String: Any], video["fps"] is Double,
                  (ingest["bitrateKbps"] as? Int ?? 0) > 0 else { return false }
            return true
        }
        #expect(sawLive, "stream never reported live: \(ffmpeg.log)")
        let info = try await node.streamInfo("cam")
        let ingest = try #require(info["ingest"] as? [String: Any])
        let video = try #require(ingest["video"] as? [String: Any])
        let audio = try #require(ingest["audio"] as? [String: Any])
        #expect(video["codec"] as? String == "h264")
        #expect(video["width"] as? Int == testCase.width)
        #expect(video["height"] as? Int == testCase.height)
        let fps = try #require(video["fps"] as? Double)
        #expect(abs(fps - Double(testCase.fps)) < 0.5, "fps \(fps)")
        #expect(audio["codec"] as? String == "aac")
        #expect(audio["sampleRate"] as? Int == 48000)
        #expect(audio["channels"] as? Int == 2)

        let status = await ffmpeg.wait(timeout: .seconds(Int64(seconds) + 20))
        #expect(status == 0, "ffmpeg failed: \(ffmpeg.log)")

        // The publisher left: offline within 5 s, and the router saw every frame sent (within a GOP).
        let offline = try await eventually(timeout: .seconds(5)) {
            try await node.streamInfo("cam")["live"] as? Bool == false
        }
        #expect(offline)
        let counts = counter.counts
        let sentVideo = seconds * testCase.fps
        #expect(abs(counts.videoFrames - sentVideo) <= gop, "router saw \(counts.videoFrames) video frames, ffmpeg sent \(sentVideo)")
        let sentAudio = seconds * 48000 / 1024
        #expect(abs(counts.audioFrames - sentAudio) <= 2 * 48000 / 1024, "router saw \(counts.audioFrames) audio frames")
        #expect(counts.keyframes >= seconds / 2 - 1)
        #expect(counts.started == 1 && counts.ended == 1)
        #expect(counts.video?.width == testCase.width && counts.video?.height == testCase.height)
        if testCase.bFrames {
            #expect(counts.framesWithReordering > 0, "B-frames must arrive with pts != dts")
        } else {
            #expect(counts.framesWithReordering == 0)
        }
        try await node.stop()
    }

    @Test func gstreamerPublishes() async throws {
        let node = try await TestServer()
        let key = try await node.createStream("gst")
        let counter = FrameCounter()
        node.router.addObserver(counter, stream: "gst")
        let frames = 125
        let gst = ExternalProcess([
            "gst-launch-1.0", "-q", "-e",
            "videotestsrc", "num-buffers=\(frames)", "is-live=true", "!", "video/x-raw,width=640,height=360,framerate=25/1", "!",
            "x264enc", "tune=zerolatency", "key-int-max=50", "speed-preset=veryfast", "!", "h264parse", "!", "queue", "!",
            "flvmux", "name=mux", "streamable=true", "!", "rtmp2sink", "location=\(node.rtmpURL(key: key))",
            "audiotestsrc", "num-buffers=\(frames * 48000 / 25 / 1024)", "is-live=true", "samplesperbuffer=1024", "!",
            "audio/x-raw,rate=48000,channels=2", "!", "audioconvert", "!", "avenc_aac", "!", "aacparse", "!", "queue", "!", "mux.",
        ])
        try gst.start()
        let sawLive = try await eventually {
            let info = try await node.streamInfo("gst")
            let video = (info["ingest"] as? [String: Any])?["video"] as? [String: Any]
            return info["live"] as? Bool == true && video?["width"] as? Int == 640
        }
        #expect(sawLive, "GStreamer stream never reported live: \(gst.log)")
        let info = try await node.streamInfo("gst")
        let video = (info["ingest"] as? [String: Any])?["video"] as? [String: Any]
        #expect(video?["codec"] as? String == "h264")
        #expect(video?["height"] as? Int == 360)
        let status = await gst.wait(timeout: .seconds(30))
        #expect(status == 0, "gst-launch failed: \(gst.log)")
        #expect(try await eventually(timeout: .seconds(5)) { try await node.streamInfo("gst")["live"] as? Bool == false })
        #expect(abs(counter.counts.videoFrames - frames) <= 50, "router saw \(counter.counts.videoFrames) of \(frames)")
        #expect(counter.counts.audio?.codec == .aac)
        let metrics = String(decoding: try await node.request("GET", "/metrics").body, as: UTF8.self)
        let videoLine = metrics.split(separator: "\n").first { $0.hasPrefix("liverelay_ingest_frames_total{") && $0.contains("stream=\"\(StreamMetricLabel.label(for: "gst"))\"") && $0.contains(#"kind="video""#) }
        #expect(videoLine.flatMap { Int($0.split(separator: " ").last ?? "") } == counter.counts.videoFrames, "metrics: \(videoLine ?? "none")")
        try await node.stop()
    }

    @Test func wrongKeyIsRefused() async throws {
        let node = try await TestServer()
        _ = try await node.createStream("cam")
        let counter = FrameCounter()
        node.router.addObserver(counter)
        let ffmpeg = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: "lr_not_the_key"), size: "320x240", rate: 25,
                                                   seconds: 3, bFrames: false, gop: 50)
        try ffmpeg.start()
        let status = await ffmpeg.wait(timeout: .seconds(20))
        #expect(status != 0, "ffmpeg should have been refused")
        #expect(counter.counts.started == 0 && counter.counts.videoFrames == 0)
        #expect(try await node.streamInfo("cam")["live"] as? Bool == false)
        try await node.stop()
    }

    @Test func secondPublisherIsRefusedAndTheFirstKeepsGoing() async throws {
        let node = try await TestServer()
        let key = try await node.createStream("cam")
        let counter = FrameCounter()
        node.router.addObserver(counter, stream: "cam")
        let first = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x240", rate: 25, seconds: 8, bFrames: false, gop: 25)
        try first.start()
        #expect(try await eventually { counter.counts.videoFrames > 10 }, "first publisher not seen: \(first.log)")

        let second = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x240", rate: 25, seconds: 3, bFrames: false, gop: 25)
        try second.start()
        let secondStatus = await second.wait(timeout: .seconds(20))
        #expect(secondStatus != 0, "the second publisher should have been refused")

        let before = counter.counts.videoFrames
        #expect(try await eventually { counter.counts.videoFrames > before + 10 }, "first publisher stalled")
        #expect(counter.counts.started == 1)
        #expect(await first.wait(timeout: .seconds(30)) == 0, "first publisher failed: \(first.log)")
        try await node.stop()
    }

    @Test func rotatingTheKeyCutsOffThePublisher() async throws {
        let node = try await TestServer()
        let key = try await node.createStream("cam")
        let ffmpeg = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x240", rate: 25, seconds: 30, bFrames: false, gop: 25)
        try ffmpeg.start()
        #expect(try await eventually { try await node.streamInfo("cam")["live"] as? Bool == true }, "never live: \(ffmpeg.log)")
        #expect(try await node.request("POST", "/api/streams/cam/rotate-key").status == 200)
        #expect(try await eventually(timeout: .seconds(5)) { try await node.streamInfo("cam")["live"] as? Bool == false })
        let status = await ffmpeg.wait(timeout: .seconds(10))
        #expect(status != 0, "ffmpeg should have lost its connection")
        try await node.stop()
    }

    @Test func demoStreamIsLive() async throws {
        let node = try await TestServer { configuration in
            configuration.demo.enabled = true
            configuration.demo.width = 320
            configuration.demo.height = 180
            configuration.demo.fps = 15
        }
        let live = try await eventually {
            let info = try await node.streamInfo("demo")
            let video = (info["ingest"] as? [String: Any])?["video"] as? [String: Any]
            return info["live"] as? Bool == true && video?["width"] as? Int == 320 && video?["fps"] is Double
        }
        #expect(live)
        let info = try await node.streamInfo("demo")
        let ingest = try #require(info["ingest"] as? [String: Any])
        #expect(ingest["source"] as? String == "demo")
        #expect((ingest["audio"] as? [String: Any])?["codec"] as? String == "aac")
        try await node.stop()
    }
}

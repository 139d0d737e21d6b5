import MediaCore
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import MediaRouter

final class RecordingObserver: MediaObserver {
    private let events = NIOLockedValueBox<[String]>([])
    var log: [String] { events.withLockedValue { $0 } }

    func handle(_ event: MediaEvent, stream: String) {
        let entry: String
        switch event {
        case .started(let publisher): entry = "\(stream) started #\(publisher.generation)"
        case .videoConfiguration(let config): entry = "\(stream) video \(config.width)x\(config.height)"
        case .audioConfiguration(let config): entry = "\(stream) audio \(config.sampleRate)"
        case .frame(let frame): entry = "\(stream) \(frame.kind.rawValue) \(frame.dts)"
        case .ended: entry = "\(stream) ended"
        }
        events.withLockedValue { $0.append(entry) }
    }
}

func videoFrame(dts: Int64, size: Int = 1000, key: Bool = false) -> EncodedFrame {
    EncodedFrame(codec: .h264, pts: dts, dts: dts, timescale: 1000, isKeyframe: key, data: ByteBuffer(repeating: 0, count: size))
}

func audioFrame(dts: Int64, size: Int = 200) -> EncodedFrame {
    EncodedFrame(codec: .aac, pts: dts, dts: dts, timescale: 1000, isKeyframe: true, data: ByteBuffer(repeating: 0, count: size))
}

@Suite struct MediaRouterTests {
    @Test func observersSeeEventsInOrder() throws {
        let router = MediaRouter()
        let all = RecordingObserver()
        let onlyB = RecordingObserver()
        router.addObserver(all)
        router.addObserver(onlyB, stream: "b")

        let a = try router.beginPublishing(stream: "a", source: "test", remoteAddress: nil)
        a.setVideoConfiguration(VideoTrackConfig(codec: .h264, width: 640, height: 360, decoderConfiguration: ByteBuffer()))
        a.push(videoFrame(dts: 0, key: true))
        a.push(audioFrame(dts: 5))
        a.end()
        a.push(videoFrame(dts: 33))  // after end: dropped

        #expect(all.log == ["a started #1", "a video 640x360", "a video 0", "a audio 5", "a ended"])
        #expect(onlyB.log.isEmpty)
        #expect(!router.isLive("a"))
    }

    @Test func oneLivePublisherPerStream() throws {
        let router = MediaRouter()
        let first = try router.beginPublishing(stream: "s", source: "test", remoteAddress: "1.2.3.4:5")
        #expect(throws: MediaRouterError.alreadyPublishing(stream: "s")) {
            try router.beginPublishing(stream: "s", source: "test", remoteAddress: nil)
        }
        #expect(router.isLive("s"))
        first.end()
        first.end()  // idempotent
        let second = try router.beginPublishing(stream: "s", source: "test", remoteAddress: nil)
        #expect(second.publisher.generation == 2)
        #expect(router.liveStreams == ["s"])
    }

    @Test func evictionEndsThePublicationAndTellsThePublisher() throws {
        let router = MediaRouter()
        let told = NIOLockedValueBox(false)
        let publication = try router.beginPublishing(stream: "s", source: "test", remoteAddress: nil,
                                                     onEvict: { told.withLockedValue { $0 = true } })
        router.evict(stream: "s")
        #expect(told.withLockedValue { $0 })
        #expect(!publication.isActive)
        #expect(router.status(of: "s") == nil)
    }

    @Test func statusMeasuresFrameRateAndBitrateOnTheMediaTimeline() throws {
        let router = MediaRouter()
        let publication = try router.beginPublishing(stream: "s", source: "test", remoteAddress: nil)
        publication.setVideoConfiguration(VideoTrackConfig(codec: .h264, width: 1280, height: 720, declaredFrameRate: 30,
                                                           decoderConfiguration: ByteBuffer()))
        #expect(router.status(of: "s")?.frameRate == 30)  // declared, until measured
        // 4 s of 25 fps video, 5000 bytes per frame = 1000 kbit/s.
        for index in 0..<100 {
            publication.push(videoFrame(dts: Int64(index) * 40, size: 5000, key: index % 50 == 0))
        }
        let status = try #require(router.status(of: "s"))
        #expect(status.frameRate == 25)
        #expect(status.bitrateKbps == 1000)
        #expect(status.videoFrames == 100)
        #expect(status.bytes == 500_000)
    }

    @Test func frameRateOfNTSCRatesIsNotRoundedAway() {
        var statistics = IngestStatistics()
        // 29.97 fps in millisecond timestamps: 1001/30 ms per frame, truncated as FLV does.
        for index in 0..<200 {
            statistics.record(videoFrame(dts: Int64(index) * 1001 / 30))
        }
        let fps = statistics.measuredFrameRate ?? 0
        #expect(abs(fps - 29.97) < 0.05)
    }

    @Test func removedObserversStopReceiving() throws {
        let router = MediaRouter()
        let observer = RecordingObserver()
        let token = router.addObserver(observer)
        router.removeObserver(token)
        let publication = try router.beginPublishing(stream: "s", source: "test", remoteAddress: nil)
        publication.push(videoFrame(dts: 0))
        #expect(observer.log.isEmpty)
    }
}

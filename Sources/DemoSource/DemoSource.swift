import Foundation
import Logging
import MediaCore
import MediaRouter
import ServiceLifecycle
import Codecs

/// The built-in demo stream behind `liverelay serve --demo`: a moving test pattern with a running clock and frame
/// counter, and a 440 Hz tone that beeps on every second, published as stream `demo` through the same FLV demuxer
/// as RTMP ingest.
///
/// Media is produced in real time (paced by a clock, never faster) on a thread of its own, because encoding is
/// blocking CPU work that must not occupy Swift concurrency's few cooperative threads. If a real broadcaster holds
/// the stream name, or an operator evicts the demo, it waits `retryInterval` and tries again. Graceful shutdown or
/// cancellation ends the publication and returns. Setup failures (an encoder missing from libavcodec) are thrown
/// from `run()`; failures mid-stream are logged and the demo publishes again after `retryInterval`.
public final class DemoSource: Service {
    public static let defaultStreamName = "demo"

    public let stream: String
    private let router: MediaRouter
    private let settings: DemoSettings
    private let logger: Logger

    public init(router: MediaRouter, stream: String = DemoSource.defaultStreamName, width: Int = 1280, height: Int = 720,
                fps: Int = 30, videoBitrate: Int = 2_500_000, retryInterval: Duration = .seconds(5), logger: Logger) {
        self.router = router
        self.stream = stream
        self.logger = logger
        settings = DemoSettings(stream: stream, width: width, height: height, framesPerSecond: fps,
                                videoBitrate: videoBitrate, audioSampleRate: 48_000, audioChannels: 2,
                                audioBitrate: 128_000, retryInterval: retryInterval)
    }

    public func run() async throws {
        let stop = StopSignal()
        let router = router
        let settings = settings
        let logger = logger
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        ThreadName.setCurrent("liverelay-demo")
                        continuation.resume(with: Result {
                            try Self.publishUntilStopped(settings: settings, router: router, stop: stop, logger: logger)
                        })
                    }
                    thread.start()
                }
            } onGracefulShutdown: {
                stop.request()
            }
        } onCancel: {
            stop.request()
        }
    }

    /// The media thread: publish, and publish again after a taken name, an eviction or a mid-stream failure.
    private static func publishUntilStopped(settings: DemoSettings, router: MediaRouter, stop: StopSignal,
                                            logger: Logger) throws {
        var metadata: Logger.Metadata = ["stream": "\(settings.stream)"]
        // A broadcaster may hold the name for hours: say so once, then retry quietly.
        var reportedNameTaken = false
        while !stop.isRequested {
            // Fresh encoders per publication: a new publisher starts at timestamp zero with a keyframe, as an RTMP
            // encoder reconnecting would.
            let broadcast = try DemoBroadcast(settings: settings, logger: logger)
            let publication: Publication
            do {
                publication = try router.beginPublishing(stream: settings.stream, source: "demo", remoteAddress: nil)
            } catch {
                logger.log(level: reportedNameTaken ? .debug : .notice,
                           "stream is being published by another source; demo will publish when it is free",
                           metadata: metadata.merging(["retryIn": "\(settings.retryInterval)"]) { $1 })
                reportedNameTaken = true
                stop.wait(for: settings.retryInterval)
                continue
            }
            reportedNameTaken = false
            metadata["generation"] = "\(publication.publisher.generation)"
            logger.info("demo source publishing", metadata: metadata.merging([
                "size": "\(settings.width)x\(settings.height)", "fps": "\(settings.framesPerSecond)",
            ]) { $1 })
            do {
                try broadcast.stream(to: publication, until: stop)
            } catch {
                logger.error("demo broadcast failed; will publish again",
                             metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
            let evicted = !publication.isActive
            publication.end()
            if stop.isRequested { break }
            if evicted {
                logger.notice("demo publication was ended by the server; will publish again",
                              metadata: metadata.merging(["retryIn": "\(settings.retryInterval)"]) { $1 })
            }
            stop.wait(for: settings.retryInterval)
        }
    }
}

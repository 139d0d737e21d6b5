import Foundation
import Logging
import MediaRouter
import Testing
import DemoSource

/// How much CPU the demo costs at its default 1280x720, 30 fps. Opt-in (it runs for a while and wants the machine
/// to itself): `LIVERELAY_DEMO_CPU_SECONDS=20 swift test -c release -Xswiftc -enable-testing --filter DemoSourceCPU`.
@Suite struct DemoSourceCPUTests {
    static let seconds = ProcessInfo.processInfo.environment["LIVERELAY_DEMO_CPU_SECONDS"].flatMap(Double.init)

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    @Test(.enabled(if: seconds != nil))
    func demoAt720p30UsesAFractionOfOneCore() async throws {
        let seconds = try #require(Self.seconds)
        let logger = Logger(label: "test.demo.cpu")
        let router = MediaRouter(logger: logger)
        let recorder = MediaRecorder()
        router.addObserver(recorder, stream: "demo")
        let demo = DemoSource(router: router, logger: logger)
        let running = Task { try await demo.run() }
        #expect(try await recorder.wait { $0.videoFrames.count >= 30 })  // past encoder set-up
        let cpuStart = Self.processCPUSeconds()
        let wallStart = ContinuousClock.now
        let framesStart = recorder.videoFrames.count
        try await Task.sleep(for: .seconds(seconds))
        let cpu = Self.processCPUSeconds() - cpuStart
        let wall = wallStart.duration(to: .now) / .seconds(1)
        let frames = recorder.videoFrames.count - framesStart
        let bitrate = router.status(of: "demo")?.bitrateKbps ?? 0
        running.cancel()
        try await running.value

        let share = cpu / wall
        print("demo source 1280x720@30: \(String(format: "%.1f", share * 100)) % of one core "
              + "(\(String(format: "%.2f", cpu)) CPU-s in \(String(format: "%.2f", wall)) s, \(frames) frames, "
              + "\(bitrate) kb/s)")
        #expect(Double(frames) >= wall * 30 * 0.95, "kept real time")
        #expect(share < 0.75, "demo must leave most of a core to the server")
    }
}

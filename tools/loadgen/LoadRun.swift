import DTLS
import NIOCore
import NIOPosix

/// A run's parameters, checked.
struct LoadSettings: Sendable {
    var endpoint: WHEPEndpoint
    var viewers: Int
    var rampPerSecond: Double
    var seconds: Double
    var waves: Int
    var token: String?
    var mode: ReceiveMode
    var feedback: FeedbackMode
    var fixedREMB: UInt64?
    var candidateHost: String?
    var summaryInterval: Double
    /// UDP_GRO on the viewers' sockets, where the kernel supports it.
    var receiveOffload: Bool
}

/// Waves of viewers: each wave joins `viewers` at `rampPerSecond`, holds until `seconds` after the last join
/// started, then every viewer leaves (WHEP DELETE); the next wave starts a second later.
struct LoadRun {
    let settings: LoadSettings

    func run() async throws -> LoadReport {
        let clock = ContinuousClock()
        let started = clock.now
        let certificate = try DTLSCertificate.generateSelfSigned(commonName: "liverelay-loadgen")
        let configuration = ViewerConfiguration(mode: settings.mode, feedback: settings.feedback, fixedREMB: settings.fixedREMB,
                                                receiveOffload: settings.receiveOffload && System.supportsUDPReceiveOffload,
                                                dtlsClient: try DTLSContext(role: .client, certificate: certificate),
                                                dtlsServer: try DTLSContext(role: .server, certificate: certificate))
        let family = try SocketAddress.makeAddressResolvingHost(settings.candidateHost ?? settings.endpoint.host,
                                                                port: settings.endpoint.port).protocol
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let registry = ViewerRegistry()
        let runner = ViewerRunner(group: group, client: WHEPClient(group: group, token: settings.token),
                                  endpoint: settings.endpoint, configuration: configuration,
                                  certificateFingerprint: certificate.fingerprintSHA256,
                                  candidateHost: settings.candidateHost, family: family, registry: registry)

        let summaries = Task { await printSummaries(registry: registry) }
        var results: [ViewerResult] = []
        results.reserveCapacity(settings.viewers * settings.waves)
        for wave in 1...settings.waves {
            if wave > 1 { try? await Task.sleep(for: .seconds(1)) }
            Console.error("wave \(wave)/\(settings.waves): \(settings.viewers) viewers at \(settings.rampPerSecond)/s, holding \(settings.seconds) s")
            results += await runWave(runner)
        }
        summaries.cancel()
        _ = await summaries.value
        try? await group.shutdownGracefully()

        let wall = clock.now - started
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        return LoadReport(settings: settings, results: results, wallSeconds: wallSeconds, usage: .current())
    }

    private func runWave(_ runner: ViewerRunner) async -> [ViewerResult] {
        let start = NIODeadline.now()
        let spacing = 1 / settings.rampPerSecond
        let rampNanoseconds = Int64(Double(settings.viewers - 1) * spacing * 1e9)
        let leaveAt = start + .nanoseconds(rampNanoseconds) + .nanoseconds(Int64(settings.seconds * 1e9))
        return await withTaskGroup(of: ViewerResult.self) { group in
            for index in 0..<settings.viewers {
                let joinAt = start + .nanoseconds(Int64(Double(index) * spacing * 1e9))
                let wait = joinAt - NIODeadline.now()
                if wait > .zero { try? await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
                group.addTask { await runner.run(index: index, leaveAt: leaveAt) }
            }
            var results: [ViewerResult] = []
            for await result in group { results.append(result) }
            return results
        }
    }

    /// A line on stderr every `summaryInterval` seconds: tallies so far and what the active viewers receive now.
    private func printSummaries(registry: ViewerRegistry) async {
        let clock = ContinuousClock()
        let started = clock.now
        var lastUsage = ProcessUsage.current()
        var lastTime = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(settings.summaryInterval))
            if Task.isCancelled { break }
            var snapshots: [ViewerSnapshot] = []
            for handle in await registry.activeHandles {
                if let snapshot = await handle.snapshot() { snapshots.append(snapshot) }
            }
            let (attempted, joined, failures) = await (registry.attempted, registry.joined, registry.failures)
            let usage = ProcessUsage.current()
            let now = clock.now
            let interval = now - lastTime
            let intervalSeconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
            let cpu = intervalSeconds > 0 ? (usage.cpuSeconds - lastUsage.cpuSeconds) * 100 / intervalSeconds : 0
            lastUsage = usage
            lastTime = now

            let rate = Double(snapshots.reduce(0) { $0 + $1.currentBitsPerSecond }) / 1e6
            let expected = snapshots.reduce(Int64(0)) { $0 + $1.videoExpected }
            let lost = snapshots.reduce(Int64(0)) { $0 + $1.videoLost }
            let video = snapshots.filter { $0.videoPackets > 0 }.count
            let failed = failures.values.reduce(0, +)
            let failureText = failures.isEmpty ? "" : " " + failures.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let elapsed = (now - started).components.seconds
            let loss = expected > 0 ? Double(lost) * 100 / Double(expected) : 0
            Console.error("[\(elapsed)s] attempted \(attempted) joined \(joined) failed \(failed)\(failureText)"
                          + " | active \(snapshots.count), video \(video), rx \(LoadReport.round(rate, places: 1)) Mbit/s,"
                          + " loss \(LoadReport.round(loss)) % | loadgen CPU \(Int(cpu.rounded())) %")
        }
    }
}

import Foundation

/// The figures of a whole run, built from every viewer's final snapshot; printed for people and as one JSON
/// object for benchmarks.
struct LoadReport: Encodable, Sendable {
    struct Distribution: Encodable, Sendable {
        var p50: Double
        var p95: Double
        var max: Double
    }

    struct Bitrate: Encodable, Sendable {
        var p50: Double
        var min: Double
    }

    struct Cost: Encodable, Sendable {
        var wallSeconds: Double
        var userCPUSeconds: Double
        var systemCPUSeconds: Double
        /// CPU time over wall time; 100 is one core busy.
        var cpuPercent: Double
        var maximumResidentMiB: Double
    }

    var url: String
    var mode: ReceiveMode
    var feedback: FeedbackMode
    var viewersPerWave: Int
    var waves: Int
    var rampPerSecond: Double
    var holdSeconds: Double
    var attempted: Int
    var joined: Int
    var failed: Int
    /// Joined viewers that received at least one video packet.
    var receivingVideo: Int
    var failures: [String: Int]
    /// WHEP POST to the first video packet.
    var joinMilliseconds: Distribution?
    /// WHEP POST to the DTLS handshake's completion.
    var connectMilliseconds: Distribution?
    /// WHEP POST to its answer, and to the nominating check's success: where the join time goes.
    var answerMilliseconds: Distribution?
    var iceMilliseconds: Distribution?
    /// Per joined viewer, over its receiving time.
    var viewerBitrateKbps: Bitrate?
    /// Sum of the joined viewers' bitrates, averaged over the waves.
    var totalMbps: Double
    var videoPackets: Int
    var videoExpected: Int64
    var videoLost: Int64
    var videoLossPercent: Double
    var rtxPackets: Int
    var audioPackets: Int
    var srtpFailures: Int
    var consentExpired: Int
    var closedByServer: Int
    /// The size of each viewer's last keyframe (decrypt mode).
    var resolutions: [String: Int]
    var loadgen: Cost

    init(settings: LoadSettings, results: [ViewerResult], wallSeconds: Double, usage: ProcessUsage) {
        let sessions = results.compactMap(\.snapshot)
        url = settings.endpoint.description
        mode = settings.mode
        feedback = settings.feedback
        viewersPerWave = settings.viewers
        waves = settings.waves
        rampPerSecond = settings.rampPerSecond
        holdSeconds = settings.seconds
        attempted = results.count
        joined = sessions.count
        failed = results.count - sessions.count
        receivingVideo = sessions.filter { $0.videoPackets > 0 }.count
        failures = results.reduce(into: [:]) { counts, result in
            if let failure = result.failure { counts[failure.key, default: 0] += 1 }
        }
        joinMilliseconds = Self.distribution(sessions.compactMap(\.joinMilliseconds))
        connectMilliseconds = Self.distribution(sessions.compactMap(\.connectMilliseconds))
        answerMilliseconds = Self.distribution(sessions.compactMap(\.answerMilliseconds))
        iceMilliseconds = Self.distribution(sessions.compactMap(\.iceMilliseconds))
        let bitrates = sessions.map(\.averageBitsPerSecond).sorted()
        viewerBitrateKbps = bitrates.isEmpty ? nil
            : Bitrate(p50: Self.round(Self.percentile(bitrates, 0.5) / 1000), min: Self.round(bitrates[0] / 1000))
        totalMbps = Self.round(bitrates.reduce(0, +) / 1e6 / Double(max(settings.waves, 1)))
        videoPackets = sessions.reduce(0) { $0 + $1.videoPackets }
        videoExpected = sessions.reduce(0) { $0 + $1.videoExpected }
        videoLost = sessions.reduce(0) { $0 + $1.videoLost }
        videoLossPercent = videoExpected > 0 ? Self.round(Double(videoLost) * 100 / Double(videoExpected), places: 3) : 0
        rtxPackets = sessions.reduce(0) { $0 + $1.rtxPackets }
        audioPackets = sessions.reduce(0) { $0 + $1.audioPackets }
        srtpFailures = sessions.reduce(0) { $0 + $1.srtpFailures }
        consentExpired = sessions.filter(\.consentExpired).count
        closedByServer = sessions.filter(\.closedByServer).count
        resolutions = sessions.reduce(into: [:]) { counts, session in
            if let resolution = session.resolution { counts[resolution.label, default: 0] += 1 }
        }
        loadgen = Cost(wallSeconds: Self.round(wallSeconds), userCPUSeconds: Self.round(usage.userSeconds),
                       systemCPUSeconds: Self.round(usage.systemSeconds),
                       cpuPercent: wallSeconds > 0 ? Self.round(usage.cpuSeconds * 100 / wallSeconds, places: 1) : 0,
                       maximumResidentMiB: Self.round(usage.maximumResidentMiB, places: 1))
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    var text: String {
        func distribution(_ value: Distribution?) -> String {
            value.map { "p50 \(Int($0.p50)) ms, p95 \(Int($0.p95)) ms, max \(Int($0.max)) ms" } ?? "-"
        }
        let failureText = failures.isEmpty ? "" : " (" + failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            .joined(separator: ", ") + ")"
        let resolutionText = resolutions.isEmpty ? "-" : resolutions.sorted { $0.value > $1.value }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return """
        liverelay-loadgen: \(url), \(viewersPerWave) viewers × \(waves) wave(s), mode \(mode.rawValue), feedback \(feedback.rawValue)
          viewers      attempted \(attempted), joined \(joined), failed \(failed)\(failureText), receiving video \(receivingVideo)
          join         \(distribution(joinMilliseconds))   (POST → first video packet)
          answer       \(distribution(answerMilliseconds))   (POST → 201)
          ICE          \(distribution(iceMilliseconds))   (POST → binding success)
          connect      \(distribution(connectMilliseconds))   (POST → DTLS done)
          bitrate      per viewer p50 \(viewerBitrateKbps.map { "\($0.p50)" } ?? "-") kbit/s, min \(viewerBitrateKbps.map { "\($0.min)" } ?? "-") kbit/s; total \(totalMbps) Mbit/s
          video        \(videoPackets) packets, lost \(videoLost) of \(videoExpected) (\(videoLossPercent) %), RTX \(rtxPackets); audio \(audioPackets); SRTP failures \(srtpFailures)
          resolution   \(resolutionText)
          sessions     consent expired \(consentExpired), closed by server \(closedByServer)
          loadgen      wall \(loadgen.wallSeconds) s, CPU user \(loadgen.userCPUSeconds) s + system \(loadgen.systemCPUSeconds) s (\(loadgen.cpuPercent) % of a core), peak RSS \(loadgen.maximumResidentMiB) MiB
        """
    }

    static func distribution(_ values: [Double]) -> Distribution? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return Distribution(p50: round(percentile(sorted, 0.5)), p95: round(percentile(sorted, 0.95)), max: round(sorted[sorted.count - 1]))
    }

    /// Nearest rank over sorted values.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    static func round(_ value: Double, places: Int = 2) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }
}

import Foundation
import Testing
@testable import LiveRelayApp

/// Viewers joining and leaving in waves (the load generator's WHEP viewers: ICE, DTLS-SRTP, feedback) leave nothing
/// behind: sessions, file descriptors and memory come back to where they were.
@Suite("WebRTC churn", .serialized)
struct ChurnTests {
    static let loadgen = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/liverelay-loadgen").path

    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    static func residentKilobytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    static func churn(_ node: TestServer, viewers: Int, waves: Int, seconds: Int) async throws -> [String: Any] {
        try await WHEPTests.runJSON([loadgen, "--url", node.baseURL + "/whep/crowd", "--viewers", "\(viewers)",
                                     "--ramp-per-second", "25", "--seconds", "\(seconds)", "--waves", "\(waves)",
                                     "--mode", "count", "--json"], timeout: .seconds(300))
    }

    @Test func wavesOfViewersLeaveNothingBehind() async throws {
        let node = try await TestServer { configuration in
            configuration.transcoder.enabled = true
            // One small rung: the debug build's encoder, the publisher and the load generator share two cores.
            configuration.transcoder.ladder = [.init(name: "180p", width: 320, height: 180, fps: 30, videoKbps: 200, cmaf: false)]
            configuration.webrtc.host = "127.0.0.1"
            // Every load-generator viewer comes from 127.0.0.1: the per-address WHEP limits are for strangers.
            configuration.webrtc.maximumPendingSessionsPerIP = 10_000
            configuration.webrtc.offersPerSecondPerIP = 10_000
            configuration.webrtc.offerBurstPerIP = 10_000
        }
        let publisher = try await WHEPTests.publish(node, stream: "crowd", seconds: 300)
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "crowd"), "ffmpeg: \(publisher.log)")

        // A first small wave, so pools and caches that live for the process exist before the baseline is taken.
        let warmUp = try await Self.churn(node, viewers: 20, waves: 1, seconds: 2)
        #expect(warmUp["joined"] as? Int == 20, "\(warmUp)")
        #expect(try await eventually(timeout: .seconds(10)) { try await WHEPTests.metric(node, "liverelay_webrtc_viewers ") == 0 })
        let descriptors = Self.openDescriptors()
        let resident = Self.residentKilobytes()

        // 200 viewers in four waves of 50: each wave joins, watches and leaves before the next.
        let report = try await Self.churn(node, viewers: 50, waves: 4, seconds: 4)
        let joined = report["joined"] as? Int ?? 0
        #expect(joined >= 196, "at least 98 % of 200 joins: \(report)")
        #expect((report["receivingVideo"] as? Int ?? 0) >= joined * 9 / 10, "\(report)")
        #expect(report["videoLossPercent"] as? Double ?? 100 < 1, "\(report)")

        // Every wave was deleted: no session left, and the process holds what it held before.
        #expect(try await eventually(timeout: .seconds(10)) { try await WHEPTests.metric(node, "liverelay_webrtc_viewers ") == 0 })
        #expect(try await WHEPTests.sessions(node).isEmpty)
        let descriptorsAfter = Self.openDescriptors()
        #expect(descriptorsAfter <= descriptors + 4, "file descriptors \(descriptors) → \(descriptorsAfter)")
        // The allocator may keep some freed memory, so the bound is loose; 200 sessions that leaked their frame
        // histories, SRTP and DTLS state would hold more.
        let residentAfter = Self.residentKilobytes()
        #expect(residentAfter - resident < 24 * 1024, "resident \(resident) kB → \(residentAfter) kB")
        let created = try await WHEPTests.metric(node, "liverelay_webrtc_sessions_created_total") ?? 0
        #expect(created >= 220, "sessions created: \(created)")
        try await node.stop()
    }
}

import Foundation
import TestSupport
import Testing
@testable import LiveRelayApp

/// The viewer and moderator pages in headless Chromium (`tools/interop/pages_chromium.py`), against a node that
/// transcodes an ffmpeg publish: the HLS fallback on hls.js, the fallback when UDP is blocked, a private stream with
/// and without its token, and comments, reactions and flashes going between pages.
@Suite("Viewer and moderator pages", .serialized)
struct ViewerAppTests {
    static let pages = "\(WHEPTests.interop)/pages_chromium.py"
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var playersInstalled: Bool {
        FileManager.default.fileExists(atPath: repository.appendingPathComponent("signaling/vendor/hls.esm.min.js").path)
    }

    /// The samples in which the picture moved on, and the media time it covered.
    static func progress(_ report: [String: Any]) -> (samples: [[String: Any]], played: Double) {
        let samples = report["samples"] as? [[String: Any]] ?? []
        let times = samples.compactMap { $0["currentTime"] as? Double }
        return (samples, (times.last ?? 0) - (times.first { $0 > 0 } ?? 0))
    }

    @Test func theHLSFallbackPlaysOnHlsJs() async throws {
        try #require(Self.playersInstalled, "tools/setup_players.sh installs hls.js (make test runs it)")
        let node = try await WHEPTests.node()
        // The page is open before the publisher starts: it goes to HLS the moment the stream is live, before its
        // playlists hold a segment (hls.js calls that fatal; the page starts a new player a second later).
        let key = try await node.createStream("hlsjs")
        let viewer = ExternalProcess(["python3", Self.pages, "play", node.baseURL + "/watch/hlsjs?mode=hls", "--seconds", "24"])
        try viewer.start()
        try await Task.sleep(for: .seconds(2))
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "640x360", rate: 30, seconds: 60,
                                                      bFrames: true, gop: 60)
        try publisher.start()
        defer { publisher.terminate() }
        _ = await viewer.wait(timeout: .seconds(90))
        let line = viewer.log.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        let report = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? ["log": viewer.log.suffix(3000)]
        let (samples, played) = Self.progress(report)
        let last = samples.last ?? [:]
        #expect(last["protocol"] as? String == "hls", "\(report)")
        #expect(last["mode"] as? String == "LL-HLS (hls.js)", "\(report)")
        #expect(played >= 5, "the picture moves on: \(played) s of media: \(report)")
        #expect((last["videoWidth"] as? Int ?? 0) > 0, "\(report)")
        #expect((report["errors"] as? [String] ?? []).isEmpty, "no script error: \(report)")
        try await node.stop()
    }

    /// UDP to the viewer dropped by nftables in its namespace (ICE never completes): the page gives WebRTC 3 s, then
    /// plays LL-HLS over TCP.
    @Test func withUDPBlockedThePageFallsBackAndPlays() async throws {
        try #require(Self.playersInstalled, "tools/setup_players.sh installs hls.js (make test runs it)")
        let (capable, reason) = NetworkLab.check()
        try #require(capable, "network namespaces are needed: \(reason)")
        let lab = try NetworkLab("pg")
        defer { lab.destroy() }
        try lab.loss(100)
        let node = try await WHEPTests.node { configuration in
            configuration.http.host = "0.0.0.0"
            configuration.webrtc.host = "0.0.0.0"
            configuration.webrtc.publicAddresses = [lab.hostAddress]
        }
        let publisher = try await WHEPTests.publish(node, stream: "blocked")
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "blocked"), "ffmpeg: \(publisher.log)")

        let url = "http://\(lab.hostAddress):\(node.endpoints.httpPort)/watch/blocked"
        let report = try await WHEPTests.runJSON(lab.command(["python3", Self.pages, "play", url, "--seconds", "16"]),
                                                 timeout: .seconds(90))
        let (samples, played) = Self.progress(report)
        let fellBack = samples.first { $0["protocol"] as? String == "hls" }
        let playing = samples.first { ($0["protocol"] as? String == "hls") && ($0["currentTime"] as? Double ?? 0) > 0 }
        #expect((fellBack?["t"] as? Double ?? 99) <= 5, "on HLS within 5 s of loading: \(report)")
        #expect((playing?["t"] as? Double ?? 99) <= 10, "playing within 10 s of loading: \(report)")
        #expect(played >= 3, "\(report)")
        #expect((samples.last?["note"] as? String ?? "").contains("instead of WebRTC"), "\(report)")
        try await node.stop()
    }

    @Test func aPrivateStreamPlaysWithItsTokenAndNotWithout() async throws {
        let node = try await WHEPTests.node()
        let key = try await node.createStream("secret", private: true)
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "640x360", rate: 30, seconds: 60,
                                                      bFrames: true, gop: 60)
        try publisher.start()
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "secret"), "ffmpeg: \(publisher.log)")
        let token = try await node.token("secret", role: "viewer", sub: "vip", name: "VIP")

        let with = try await WHEPTests.runJSON(["python3", Self.pages, "play", node.baseURL + "/watch/secret?token=\(token)", "--seconds", "8"],
                                               timeout: .seconds(60))
        #expect(Self.progress(with).played >= 2, "\(with)")
        #expect((Self.progress(with).samples.last?["protocol"] as? String) == "webrtc", "\(with)")
        #expect(Self.progress(with).samples.last?["badge"] as? String == "live", "\(with)")
        #expect(Self.progress(with).samples.last?["qualities"] as? [String] == ["auto", "360p", "180p"], "the rungs to choose from: \(with)")

        let without = try await WHEPTests.runJSON(["python3", Self.pages, "play", node.baseURL + "/watch/secret", "--seconds", "5"],
                                                  timeout: .seconds(60))
        let last = Self.progress(without).samples.last ?? [:]
        #expect(last["badge"] as? String == "no such stream", "\(without)")
        #expect((last["currentTime"] as? Double ?? 1) == 0, "\(without)")
        #expect((last["note"] as? String ?? "").contains("needs the link with its token"), "\(without)")

        let expired = try await node.token("secret", role: "viewer", sub: "late", name: "Late", ttl: 1)
        try await Task.sleep(for: .seconds(2))
        let late = try await WHEPTests.runJSON(["python3", Self.pages, "play", node.baseURL + "/watch/secret?token=\(expired)", "--seconds", "3"],
                                               timeout: .seconds(60))
        #expect((Self.progress(late).samples.last?["note"] as? String ?? "").contains("has expired"), "\(late)")
        try await node.stop()
    }

    /// Two viewers (WebRTC and HLS) and a moderator, each on its page in one browser.
    @Test func commentsReactionsAndFlashesGoBetweenThePages() async throws {
        try #require(Self.playersInstalled, "tools/setup_players.sh installs hls.js (make test runs it)")
        let node = try await WHEPTests.node()
        let publisher = try await WHEPTests.publish(node, stream: "party", seconds: 120)
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "party"), "ffmpeg: \(publisher.log)")
        let alice = try await node.token("party", role: "viewer", sub: "alice", name: "Alice")
        let bob = try await node.token("party", role: "viewer", sub: "bob", name: "Bob")
        let moderator = try await node.token("party", role: "moderator", sub: "mod", name: "Mod")
        let screenshots = Self.repository.appendingPathComponent("screenshots").path

        let report = try await WHEPTests.runJSON(["python3", Self.pages, "audience", "--base", node.baseURL, "--stream", "party",
                                                  "--viewer", alice, "--viewer2", bob, "--moderator", moderator,
                                                  "--screenshots", screenshots], timeout: .seconds(150))
        func seconds(_ key: String) -> Double? { report[key] as? Double }
        #expect(report["firstProtocol"] as? String == "webrtc", "\(report)")
        #expect(report["secondProtocol"] as? String == "hls", "\(report)")
        #expect(seconds("commentOnSecond") != nil && seconds("commentOnModerator") != nil, "\(report)")
        #expect(seconds("deletedOnFirst") != nil && seconds("deletedOnSecond") != nil, "\(report)")
        #expect(seconds("auditShowsDelete") != nil, "\(report)")
        #expect((seconds("reactionOnModerator") ?? 99) <= 1, "in the moderator's chart within 1 s: \(report)")
        #expect(seconds("flashOnFirst") != nil && seconds("flashOnSecond") != nil, "\(report)")
        #expect((report["errors"] as? [String] ?? ["missing"]).isEmpty, "\(report)")
        for name in ["viewer-desktop", "viewer-phone", "moderator-desktop", "moderator-phone"] {
            #expect(FileManager.default.fileExists(atPath: "\(screenshots)/\(name).png"), "\(name)")
        }
        try await node.stop()
    }
}

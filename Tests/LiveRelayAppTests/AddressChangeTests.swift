import Foundation
import Testing
@testable import LiveRelayApp

/// Real WebRTC peers whose address changes under them (a NAT in their host rebinds: their datagrams reach the server
/// from a new port, and the old mapping drops what the server still sends there). The server proves the new address
/// with a check of its own, moves the media there once the old one stops answering, and the picture goes on.
@Suite("Address changes", .serialized)
struct AddressChangeTests {
    @Test func anAiortcViewerKeepsPlayingAcrossANATRebinding() async throws {
        try await rebindDuringPlayback(label: "ra") { lab, port in
            ["python3", "\(WHEPTests.interop)/whep_aiortc.py", "http://\(lab.hostAddress):\(port)/whep/moving", "--seconds", "40", "--progress"]
        } framesSince: { output, second in
            // aiortc's timeline: one sample a second with the frames decoded in it.
            output.split(separator: "\n").compactMap { line -> [String: Any]? in
                guard line.hasPrefix("{\"progress\"") else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            }.filter { ($0["t"] as? Double ?? 0) > second }.reduce(0) { $0 + ($1["framesInSecond"] as? Int ?? 0) }
        }
    }

    @Test func aChromiumViewerKeepsPlayingAcrossANATRebinding() async throws {
        try await rebindDuringPlayback(label: "rc") { lab, port in
            ["python3", "\(WHEPTests.interop)/whep_chromium.py", "http://\(lab.hostAddress):\(port)/watch/moving", "--seconds", "40", "--progress"]
        } framesSince: { output, second in
            Self.decodedSince(output, second)
        }
    }

    @Test func aFirefoxViewerKeepsPlayingAcrossANATRebinding() async throws {
        try await rebindDuringPlayback(label: "rf") { lab, port in
            ["python3", "\(WHEPTests.interop)/whep_firefox.py", "http://\(lab.hostAddress):\(port)/whep/moving", "--seconds", "40", "--progress"]
        } framesSince: { output, second in
            Self.decodedSince(output, second)
        }
    }

    /// Frames decoded after `second`, from a browser driver's progress lines (running counts of decoded frames).
    static func decodedSince(_ output: String, _ second: Double) -> Int {
        let samples = output.split(separator: "\n").compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{\"progress\"") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let after = samples.filter { ($0["t"] as? Double ?? 0) > second }.compactMap { $0["framesDecoded"] as? Int }
        guard let first = after.first, let last = after.last else { return 0 }
        return last - first
    }

    /// One viewer on a host of its own plays for 40 s; 12 s in, its NAT rebinds. The session must move to the new
    /// address (the same session: no renegotiation) and frames must keep being decoded in the last 15 s.
    func rebindDuringPlayback(label: String, viewerCommand: (NetworkLab, Int) -> [String],
                              framesSince: (String, Double) -> Int) async throws {
        let (capable, reason) = NetworkLab.check()
        try #require(capable, "network namespaces are needed: \(reason)")
        let lab = try NetworkLab(label)
        defer { lab.destroy() }
        let node = try await AdaptiveTests.node(labs: [lab], ladder: [AdaptiveTests.ladder[2]])
        let publisher = try await WHEPTests.publish(node, stream: "moving", seconds: 120)
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "moving"), "ffmpeg: \(publisher.log)")
        let mediaPort = try #require(node.endpoints.webrtcPort)

        let viewer = ExternalProcess(lab.command(viewerCommand(lab, node.endpoints.httpPort)))
        try viewer.start()
        defer { viewer.terminate() }
        let connected = try await eventually(timeout: .seconds(20)) {
            try await AdaptiveTests.session(of: lab, in: node)?["state"] as? String == "connected"
        }
        #expect(connected, "viewer: \(viewer.log.suffix(2000))")
        let before = try #require(try await AdaptiveTests.session(of: lab, in: node))
        try await Task.sleep(for: .seconds(10))

        try lab.rebind(port: 40_001, mediaPort: mediaPort)
        let moved = try await eventually(timeout: .seconds(15)) {
            (try await AdaptiveTests.session(of: lab, in: node)?["remoteAddress"] as? String ?? "").hasSuffix("\(lab.viewerAddress):40001")
        }
        let after = try await WHEPTests.sessions(node)
        #expect(moved, "sessions: \(after); viewer: \(viewer.log.suffix(2000))")
        #expect(after.count == 1 && after.first?["id"] as? String == before["id"] as? String, "the same session: \(after)")
        #expect(try await WHEPTests.metric(node, "liverelay_webrtc_address_changes_total") ?? 0 >= 1)

        _ = await viewer.wait(timeout: .seconds(60))
        // The last 15 s of the 40 s run are well after the move: frames kept coming.
        let frames = framesSince(viewer.log, 25)
        let timeline = viewer.log.split(separator: "\n").filter { $0.hasPrefix("{\"progress\"") }.compactMap { line -> String? in
            guard let sample = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return "\(sample["t"] ?? "?"):\(sample["framesDecoded"] ?? sample["videoFrames"] ?? "?"):\(sample["connectionState"] ?? "")"
        }
        #expect(frames >= 15 * 30 / 2, "frames decoded in the last 15 s: \(frames); timeline: \(timeline)")
        try await node.stop()
    }
}

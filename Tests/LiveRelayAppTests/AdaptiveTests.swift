import Foundation
import Testing
@testable import LiveRelayApp

/// The adaptive SFU against real WebRTC peers on hosts of their own (network namespaces): a viewer whose downlink
/// is squeezed moves down the ladder and back up when the squeeze ends, while an unconstrained viewer keeps the top
/// rung. The ladder is 360p / 270p / 180p from a 640x360 source with no H.264 re-encodes for DASH/HLS, so publisher,
/// transcoder and two decoding viewers fit on two cores.
@Suite("Adaptive layers", .serialized)
struct AdaptiveTests {
    static let ladder: [Configuration.Transcoding.Rung] = [
        .init(name: "360p", width: 640, height: 360, fps: 30, videoKbps: 800, cmaf: false),
        .init(name: "270p", width: 480, height: 270, fps: 30, videoKbps: 400, cmaf: false),
        .init(name: "180p", width: 320, height: 180, fps: 30, videoKbps: 200, cmaf: false),
    ]

    /// A node that viewers on the lab hosts can reach: HTTP and media on every address, announcing the labs' host
    /// addresses as its candidates.
    static func node(labs: [NetworkLab], ladder: [Configuration.Transcoding.Rung] = ladder) async throws -> TestServer {
        try await TestServer { configuration in
            configuration.http.host = "0.0.0.0"
            configuration.transcoder.enabled = true
            configuration.transcoder.ladder = ladder
            configuration.webrtc.host = "0.0.0.0"
            configuration.webrtc.publicAddresses = labs.map(\.hostAddress)
        }
    }

    static func session(of lab: NetworkLab, in node: TestServer) async throws -> [String: Any]? {
        try await WHEPTests.sessions(node).first { ($0["remoteAddress"] as? String ?? "").contains(lab.viewerAddress + ":") }
    }

    static func layer(of lab: NetworkLab, in node: TestServer) async throws -> String? {
        try await session(of: lab, in: node)?["layer"] as? String
    }

    @Test func aSqueezedAiortcViewerMovesDownAndBackWhileAnotherKeepsTheTopRung() async throws {
        try await squeezeAndRelease(estimateSource: "remb") { lab, port in
            ["python3", "\(WHEPTests.interop)/whep_aiortc.py", "http://\(lab.hostAddress):\(port)/whep/show", "--seconds", "60", "--progress"]
        }
    }

    @Test
    func aSqueezedChromiumViewerMovesDownAndBackWhileAnotherKeepsTheTopRung() async throws {
        try await squeezeAndRelease(estimateSource: "transport_cc") { lab, port in
            ["python3", "\(WHEPTests.interop)/whep_chromium.py", "http://\(lab.hostAddress):\(port)/watch/show", "--seconds", "60", "--progress"]
        }
    }

    /// Two viewers of one kind on their own hosts; one is squeezed to 400 kbit/s for 10 s and released.
    func squeezeAndRelease(estimateSource: String, viewerCommand: (NetworkLab, Int) -> [String]) async throws {
        let (capable, reason) = NetworkLab.check()
        try #require(capable, "network namespaces are needed: \(reason)")
        let squeezed = try NetworkLab("sq")
        defer { squeezed.destroy() }
        let free = try NetworkLab("fr")
        defer { free.destroy() }
        let node = try await Self.node(labs: [squeezed, free])
        let publisher = try await WHEPTests.publish(node, stream: "show", seconds: 120)
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "show"), "ffmpeg: \(publisher.log)")

        func viewer(_ lab: NetworkLab) throws -> ExternalProcess {
            let process = ExternalProcess(lab.command(viewerCommand(lab, node.endpoints.httpPort)))
            try process.start()
            return process
        }
        let squeezedViewer = try viewer(squeezed)
        defer { squeezedViewer.terminate() }
        let freeViewer = try viewer(free)
        defer { freeViewer.terminate() }

        // Both on the top rung, and long enough for aiortc's estimator to have spoken (it waits 3 s).
        let estimating = try await eventually(timeout: .seconds(20)) {
            let squeezedSession = try await Self.session(of: squeezed, in: node)
            let freeSession = try await Self.session(of: free, in: node)
            return squeezedSession?["estimateSource"] as? String == estimateSource
                && freeSession?["estimateSource"] as? String == estimateSource
        }
        let joined = try await WHEPTests.sessions(node)
        #expect(estimating, "sessions: \(joined); viewer: \(squeezedViewer.log.suffix(2000))")
        try await Task.sleep(for: .seconds(3))
        let settled = try await WHEPTests.sessions(node)
        #expect(try await Self.layer(of: squeezed, in: node) == "360p", "sessions: \(settled)")
        #expect(try await Self.layer(of: free, in: node) == "360p", "sessions: \(settled)")

        // Squeezed to 400 kbit/s: the 180p rung (200 kbit/s + audio) is what fits; within 5 s.
        try squeezed.shape("400kbit")
        var freeLayers: Set<String> = []
        let movedDown = try await eventually(timeout: .seconds(5)) {
            freeLayers.insert(try await Self.layer(of: free, in: node) ?? "none")
            return try await Self.layer(of: squeezed, in: node) == "180p"
        }
        let afterSqueeze = try await WHEPTests.sessions(node)
        #expect(movedDown, "sessions: \(afterSqueeze)")
        // It stays down while squeezed (probes fail), and the other viewer is untouched throughout.
        var squeezedLayers: Set<String> = []
        for _ in 0..<20 {
            squeezedLayers.insert(try await Self.layer(of: squeezed, in: node) ?? "none")
            freeLayers.insert(try await Self.layer(of: free, in: node) ?? "none")
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(squeezedLayers == ["180p"], "while squeezed: \(squeezedLayers)")

        // The limit lifted: probes find the room and it climbs back to the top within 20 s.
        try squeezed.shape(nil)
        let movedUp = try await eventually(timeout: .seconds(20)) {
            freeLayers.insert(try await Self.layer(of: free, in: node) ?? "none")
            return try await Self.layer(of: squeezed, in: node) == "360p"
        }
        let afterLift = try await WHEPTests.sessions(node)
        #expect(movedUp, "sessions: \(afterLift)")
        #expect(freeLayers == ["360p"], "the unconstrained viewer: \(freeLayers); sessions: \(afterLift)")
        let freeSession = try await Self.session(of: free, in: node)
        #expect(freeSession?["switchesDown"] as? Int == 0, "the unconstrained viewer never moved: \(afterLift)")
        // A REMB receiver raises its figure only slowly: the way back up went through a probe. A transport-cc
        // estimate may climb on its own (up to 1.5 × what was acknowledged), and then needs none.
        if estimateSource == "remb" {
            let probes = try await WHEPTests.metric(node, "liverelay_webrtc_probes_total{result=\"succeeded\"") ?? 0
            #expect(probes >= 1, "sessions: \(afterLift)")
        }

        // What the viewers decoded agrees: the squeezed one saw 320x180 pictures, then 640x360 again (a few seconds
        // more, so its once-a-second samples show the new rung).
        try await Task.sleep(for: .seconds(3))
        squeezedViewer.terminate()
        freeViewer.terminate()
        _ = await squeezedViewer.wait(timeout: .seconds(10))
        _ = await freeViewer.wait(timeout: .seconds(10))
        let timeline = Self.progress(squeezedViewer.log)
        #expect(timeline.contains("320x180"), "squeezed viewer: \(timeline)")
        #expect(timeline.last == "640x360", "squeezed viewer: \(timeline)")
        let freeTimeline = Self.progress(freeViewer.log)
        #expect(!freeTimeline.isEmpty && freeTimeline.allSatisfy { $0 == "640x360" }, "free viewer: \(freeTimeline)")
        try await node.stop()
    }

    /// The decoded picture size of each `--progress` line a viewer printed (aiortc says `size`; Chromium's
    /// getStats `frameWidth` and `frameHeight`, absent before the first frame).
    static func progress(_ log: String) -> [String] {
        log.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["progress"] as? Bool == true else { return nil }
            if let size = object["size"] as? String { return size }
            guard let width = object["frameWidth"] as? Int, let height = object["frameHeight"] as? Int else { return nil }
            return "\(width)x\(height)"
        }
    }
}

/// Loss and slow viewers on hosts of their own.
@Suite("Lossy and slow viewers", .serialized)
struct LossyViewerTests {
    @Test
    func fivePercentLossTowardsChromiumIsRepairedWithoutFreezes() async throws {
        let (capable, reason) = NetworkLab.check()
        try #require(capable, "network namespaces are needed: \(reason)")
        let lab = try NetworkLab("ls")
        defer { lab.destroy() }
        // The top rung and the bottom one: a layer change would show, and two encoders leave Chromium CPU enough
        // to render on time (a starved renderer counts freezes of its own).
        let node = try await AdaptiveTests.node(labs: [lab], ladder: [AdaptiveTests.ladder[0], AdaptiveTests.ladder[2]])
        let publisher = try await WHEPTests.publish(node, stream: "show", seconds: 120)
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "show"), "ffmpeg: \(publisher.log)")
        // The metrics registry is the test process's, shared by every node a run starts: figures are differences.
        let repairResults = ["sent", "over_budget", "not_in_history", "repeated"]
        var repairsBefore: [String: Double] = [:]
        for result in repairResults {
            repairsBefore[result] = try await WHEPTests.metric(node, "liverelay_webrtc_retransmissions_total{result=\"\(result)\"") ?? 0
        }
        let rejectedFeedback = "liverelay_webrtc_datagrams_dropped_total{reason=\"srtcp_rejected\""
        let rejectedBefore = try await WHEPTests.metric(node, rejectedFeedback) ?? 0

        let url = "http://\(lab.hostAddress):\(node.endpoints.httpPort)/watch/show"
        let viewer = ExternalProcess(lab.command(["python3", "\(WHEPTests.interop)/whep_chromium.py", url, "--seconds", "50", "--progress"]))
        try viewer.start()
        defer { viewer.terminate() }
        // Playing first, then 5 % of the datagrams towards the viewer dropped, each on its own, for the rest of the
        // run (the host side of the veth cuts the server's UDP GSO messages into datagrams, as a NIC would).
        #expect(try await eventually(timeout: .seconds(20)) { try await AdaptiveTests.layer(of: lab, in: node) != nil })
        try await Task.sleep(for: .seconds(6))
        try lab.loss(5)
        let lossStarted = ContinuousClock.now
        let status = await viewer.wait(timeout: .seconds(90))
        #expect(status == 0, "\(viewer.log.suffix(3000))")
        let elapsedUntilEnd = ContinuousClock.now - lossStarted
        let samples = viewer.log.split(separator: "\n").compactMap { line -> [String: Any]? in
            guard line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["progress"] as? Bool == true, object["framesDecoded"] is Int else { return nil }
            return object
        }
        // The last 30 s were all under loss (the run went on for `elapsedUntilEnd` after it began).
        #expect(elapsedUntilEnd > .seconds(32))
        let window = Array(samples.suffix(31))
        #expect(window.count >= 28, "\(samples.count) samples")
        guard let first = window.first, let last = window.last else { return }
        func int(_ sample: [String: Any], _ key: String) -> Int { sample[key] as? Int ?? 0 }
        let frames = int(last, "framesDecoded") - int(first, "framesDecoded")
        let seconds = (last["t"] as? Double ?? 0) - (first["t"] as? Double ?? 0)
        #expect(Double(frames) >= seconds * 30 * 0.85, "frames decoded in \(seconds) s: \(frames)")
        var repairs: [String: Double] = [:]
        for result in repairResults {
            repairs[result] = (try await WHEPTests.metric(node, "liverelay_webrtc_retransmissions_total{result=\"\(result)\"") ?? 0)
                - (repairsBefore[result] ?? 0)
        }
        let timeline = window.map { "\(int($0, "freezeCount"))/\(int($0, "pliCount"))/\(int($0, "nackCount"))/\(int($0, "framesDecoded"))" }
        let received = int(last, "videoPackets") - int(first, "videoPackets")
        let nacks = int(last, "nackCount") - int(first, "nackCount")
        print("loss figures over \(seconds) s: \(received) video packets received, \(nacks) NACKs sent; server retransmissions: \(repairs)")
        #expect(int(last, "freezeCount") == int(first, "freezeCount"),
                "freezes/PLIs/NACKs/frames each second: \(timeline); retransmissions: \(repairs)")
        #expect(int(last, "nackCount") > int(first, "nackCount"), "Chromium asked for repairs: \(last)")
        #expect(repairs["sent", default: 0] > 0, "the server answered NACKs")
        // Every feedback packet Chromium sent that arrived authenticated and passed the replay check.
        #expect(try await WHEPTests.metric(node, rejectedFeedback) ?? 0 == rejectedBefore, "SRTCP from Chromium refused")
        // Still on the top rung: 5 % random loss is not congestion.
        let sessions = try await WHEPTests.sessions(node)
        #expect(last["frameHeight"] as? Int == 360, "\(last); sessions: \(sessions)")
        try await node.stop()
    }

    @Test func aViewerThatStallsDoesNotChangeTheOthersLoss() async throws {
        let (capable, reason) = NetworkLab.check()
        try #require(capable, "network namespaces are needed: \(reason)")
        let slow = try NetworkLab("sl")
        defer { slow.destroy() }
        let free = try NetworkLab("ok")
        defer { free.destroy() }
        let node = try await AdaptiveTests.node(labs: [slow, free])
        let publisher = try await WHEPTests.publish(node, stream: "show", seconds: 120)
        defer { publisher.terminate() }
        #expect(try await WHEPTests.waitForLayers(node, stream: "show"), "ffmpeg: \(publisher.log)")

        // One viewer whose link drops to 50 kbit/s, one that stops reading its socket at all (SIGSTOP), and a
        // third, unconstrained, whose loss is the figure.
        try slow.shape("50kbit")
        func loadgen(_ lab: NetworkLab, seconds: Int) -> ExternalProcess {
            ExternalProcess(lab.command([ChurnTests.loadgen, "--url", "http://\(lab.hostAddress):\(node.endpoints.httpPort)/whep/show",
                                         "--viewers", "1", "--seconds", "\(seconds)", "--json"]))
        }
        let choked = loadgen(slow, seconds: 25)
        try choked.start()
        defer { choked.terminate() }
        let stalled = loadgen(free, seconds: 25)
        try stalled.start()
        defer {
            kill(stalled.process.processIdentifier, SIGCONT)
            stalled.terminate()
        }
        let watcher = loadgen(free, seconds: 20)
        try watcher.start()
        defer { watcher.terminate() }
        try await Task.sleep(for: .seconds(3))
        kill(stalled.process.processIdentifier, SIGSTOP)

        var observedChokedLayers: Set<String> = []
        for _ in 0..<16 where watcher.process.isRunning {
            if let layer = try await AdaptiveTests.layer(of: slow, in: node) { observedChokedLayers.insert(layer) }
            try await Task.sleep(for: .milliseconds(500))
        }
        let status = await watcher.wait(timeout: .seconds(60))
        let line = watcher.log.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        let report = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        #expect(status == 0 && report["joined"] as? Int == 1, "\(watcher.log.suffix(2000))")
        #expect((report["videoPackets"] as? Int ?? 0) > 300, "\(report)")
        #expect(report["videoLossPercent"] as? Double ?? 100 < 0.5, "the unconstrained viewer's loss: \(report)")
        // The choked viewer was moved down the ladder rather than fed what it cannot carry, and then, since even the
        // bottom rung is four times what its link carries, closed as too slow.
        #expect(observedChokedLayers.contains("180p"), "the choked viewer's rungs: \(observedChokedLayers)")
        let tooSlow = try await eventually(timeout: .seconds(10)) {
            try await WHEPTests.metric(node, "liverelay_webrtc_sessions_closed_total{reason=\"too_slow\"") == 1
        }
        let sessions = try await WHEPTests.sessions(node)
        #expect(tooSlow, "sessions: \(sessions)")
        #expect(try await AdaptiveTests.session(of: slow, in: node) == nil)
        try await node.stop()
    }
}

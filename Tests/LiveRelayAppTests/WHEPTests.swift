import Foundation
import MediaCore
import TestSupport
import Testing
@testable import LiveRelayApp
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// WebRTC egress end to end: ffmpeg publishes over RTMP, the transcoder makes the VP8/Opus ladder, and real
/// WebRTC peers nobody here wrote (aiortc, headless Chromium) join over WHEP and decode it.
@Suite("WHEP viewers", .serialized)
struct WHEPTests {
    static let interop = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/interop").path

    /// A node with a small ladder (a 2-core machine runs the encoders and the peers' decoders together).
    static func node(_ adjust: (inout Configuration) -> Void = { _ in }) async throws -> TestServer {
        try await TestServer { configuration in
            configuration.transcoder.enabled = true
            configuration.transcoder.ladder = [
                .init(name: "360p", width: 640, height: 360, fps: 30, videoKbps: 800),
                .init(name: "180p", width: 320, height: 180, fps: 30, videoKbps: 200),
            ]
            configuration.webrtc.host = "127.0.0.1"
            adjust(&configuration)
        }
    }

    static func publish(_ node: TestServer, stream: String, seconds: Int = 60) async throws -> ExternalProcess {
        let key = try await node.createStream(stream)
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "640x360", rate: 30, seconds: seconds,
                                                      bFrames: true, gop: 60)
        try publisher.start()
        return publisher
    }

    /// Waits until WHEP would answer: the transcoder has encoded VP8 for the stream.
    static func waitForLayers(_ node: TestServer, stream: String) async throws -> Bool {
        try await eventually(timeout: .seconds(30)) {
            let text = String(decoding: try await node.request("GET", "/metrics").body, as: UTF8.self)
            return text.split(separator: "\n").contains { line in
                line.hasPrefix("liverelay_transcode_frames_total{") && line.contains("stream=\"\(StreamMetricLabel.label(for: stream))\"")
                    && line.contains("codec=\"vp8\"") && !line.hasSuffix(" 0")
            }
        }
    }

    static func whep(_ node: TestServer, _ method: String, _ path: String, body: String? = nil,
                     contentType: String = "application/sdp", token: String? = nil,
                     headers extra: [String: String] = [:]) async throws -> TestServer.HTTPResult {
        var request = URLRequest(url: URL(string: node.baseURL + path)!)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in extra { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return TestServer.HTTPResult(status: http.statusCode, body: data, headers: headers)
    }

    static func runJSON(_ arguments: [String], timeout: Duration) async throws -> [String: Any] {
        let process = ExternalProcess(arguments)
        try process.start()
        let status = await process.wait(timeout: timeout)
        let line = process.log.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        guard status == 0, let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw TestFailure("\(arguments.first ?? "") exited \(status): \(process.log.suffix(4000))")
        }
        return object
    }

    static func metric(_ node: TestServer, _ prefix: String) async throws -> Double? {
        let text = String(decoding: try await node.request("GET", "/metrics").body, as: UTF8.self)
        let values = text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap { Double($0.split(separator: " ").last ?? "") }
        return values.isEmpty ? nil : values.reduce(0, +)
    }

    static func sessions(_ node: TestServer) async throws -> [[String: Any]] {
        let result = try await node.request("GET", "/api/webrtc/sessions")
        return (try? JSONSerialization.jsonObject(with: result.body)) as? [[String: Any]] ?? []
    }

    @Test func aiortcDecodesVideoAndAudio() async throws {
        let node = try await Self.node()
        let publisher = try await Self.publish(node, stream: "cam")
        defer { publisher.terminate() }
        #expect(try await Self.waitForLayers(node, stream: "cam"), "ffmpeg: \(publisher.log)")

        let report = try await Self.runJSON(["python3", "\(Self.interop)/whep_aiortc.py", node.baseURL + "/whep/cam", "--seconds", "10"],
                                            timeout: .seconds(60))
        #expect(report["status"] as? Int == 201, "\(report)")
        #expect(report["deleteStatus"] as? Int == 200, "\(report)")
        let frames = report["videoFrames"] as? Int ?? 0
        let span = report["videoSpanSeconds"] as? Double ?? 0
        // ≥ 90 % of the frames the 30 fps rung sent while the viewer watched.
        #expect(span > 5, "\(report)")
        #expect(Double(frames) >= 0.9 * (span * 30 + 1), "\(report)")
        let sizes = report["sizes"] as? [String: Int] ?? [:]
        #expect(Set(sizes.keys).isSubset(of: ["640x360", "320x180"]) && !sizes.isEmpty, "\(report)")
        #expect(report["layer"] as? String == "360p", "\(report)")
        let audioFrames = report["audioFrames"] as? Int ?? 0
        let audioSpan = report["audioSpanSeconds"] as? Double ?? 0
        #expect(audioSpan > 5 && Double(audioFrames) >= 0.9 * (audioSpan / 0.02 + 1), "\(report)")

        // DELETE released the session.
        #expect(try await eventually(timeout: .seconds(5)) { try await Self.metric(node, "liverelay_webrtc_viewers ") == 0 })
        try await node.stop()
    }

    @Test func maxLayerCapsTheViewer() async throws {
        let node = try await Self.node()
        let publisher = try await Self.publish(node, stream: "capped")
        defer { publisher.terminate() }
        #expect(try await Self.waitForLayers(node, stream: "capped"), "ffmpeg: \(publisher.log)")
        let report = try await Self.runJSON(["python3", "\(Self.interop)/whep_aiortc.py", node.baseURL + "/whep/capped",
                                             "--seconds", "5", "--max-layer", "180p"], timeout: .seconds(60))
        #expect(report["layer"] as? String == "180p", "\(report)")
        let sizes = report["sizes"] as? [String: Int] ?? [:]
        #expect(sizes.keys.sorted() == ["320x180"], "\(report)")
        let unknown = try await Self.whep(node, "POST", "/whep/capped?maxLayer=4k", body: CapturedOffers.chromium)
        #expect(unknown.status == 400, "\(String(decoding: unknown.body, as: UTF8.self))")
        try await node.stop()
    }

    @Test func chromiumPlaysTheViewerPage() async throws {
        let node = try await Self.node()
        let publisher = try await Self.publish(node, stream: "browser")
        defer { publisher.terminate() }
        #expect(try await Self.waitForLayers(node, stream: "browser"), "ffmpeg: \(publisher.log)")

        let report = try await Self.runJSON(["python3", "\(Self.interop)/whep_chromium.py", node.baseURL + "/watch/browser", "--seconds", "20"],
                                            timeout: .seconds(90))
        let samples = (report["samples"] as? [[String: Any]] ?? []).filter { ($0["framesDecoded"] as? Int ?? 0) > 0 }
        #expect(samples.count >= 10, "\(report)")
        // Over the last 15 s: decoded frames and audio packets keep growing, no freeze, the rung's size.
        let window = Array(samples.suffix(15))
        if let first = window.first, let last = window.last {
            let frames = (last["framesDecoded"] as? Int ?? 0) - (first["framesDecoded"] as? Int ?? 0)
            let seconds = (last["t"] as? Double ?? 0) - (first["t"] as? Double ?? 0)
            #expect(Double(frames) >= seconds * 30 * 0.8, "\(report)")
            #expect((last["audioPackets"] as? Int ?? 0) > (first["audioPackets"] as? Int ?? 0), "\(report)")
            #expect(last["freezeCount"] as? Int == first["freezeCount"] as? Int, "\(report)")
            #expect(last["frameWidth"] as? Int == 640 && last["frameHeight"] as? Int == 360, "\(report)")
            #expect((last["resolutionText"] as? String ?? "").contains("640×360"), "\(report)")
        }
        // Chromium names the DTLS-SRTP profile as RFC 7714 registers it.
        #expect(report["srtpCipher"] as? String == "SRTP_AEAD_AES_128_GCM", "\(report)")
        // The page closed: the tab's session goes (DELETE on pagehide, or consent expiry).
        #expect(try await eventually(timeout: .seconds(40)) { try await Self.metric(node, "liverelay_webrtc_viewers ") == 0 })
        try await node.stop()
    }

    /// Firefox (headless, no WebDriver in Debian: the script's own page reports getStats back) as a WHEP viewer from
    /// another origin: CORS, its offer's shape (session-level fingerprint, TCP and IPv6 candidates, transport-cc on
    /// audio), VP8 and Opus decoded; then the browser is killed without a DELETE and consent expiry ends the session.
    /// Firefox gathers no loopback candidates (whatever its preferences say), so it runs on a host of its own.
    @Test func firefoxDecodesVideoAndAudio() async throws {
        let (capable, reason) = NetworkLab.check()
        try #require(capable, "network namespaces are needed: \(reason)")
        let lab = try NetworkLab("ff")
        defer { lab.destroy() }
        let node = try await TestServer { configuration in
            configuration.http.host = "0.0.0.0"
            configuration.transcoder.enabled = true
            configuration.transcoder.ladder = [AdaptiveTests.ladder[0], AdaptiveTests.ladder[2]]
            configuration.webrtc.host = "0.0.0.0"
            configuration.webrtc.publicAddresses = [lab.hostAddress]
            configuration.webrtc.consentTimeoutSeconds = 12
        }
        let publisher = try await Self.publish(node, stream: "fox")
        defer { publisher.terminate() }
        #expect(try await Self.waitForLayers(node, stream: "fox"), "ffmpeg: \(publisher.log)")

        let url = "http://\(lab.hostAddress):\(node.endpoints.httpPort)/whep/fox"
        let report = try await Self.runJSON(lab.command(["python3", "\(Self.interop)/whep_firefox.py", url, "--seconds", "16"]),
                                            timeout: .seconds(90))
        #expect(report["status"] as? Int == 201, "\(report)")
        #expect((report["offer"] as? String ?? "").contains("mozilla"), "\(report)")
        let samples = (report["samples"] as? [[String: Any]] ?? []).filter { ($0["framesDecoded"] as? Int ?? 0) > 0 }
        #expect(samples.count >= 8, "\(report)")
        let window = Array(samples.suffix(10))
        if let first = window.first, let last = window.last {
            let frames = (last["framesDecoded"] as? Int ?? 0) - (first["framesDecoded"] as? Int ?? 0)
            let seconds = (last["t"] as? Double ?? 0) - (first["t"] as? Double ?? 0)
            #expect(Double(frames) >= seconds * 30 * 0.7, "frames decoded in \(seconds) s: \(frames); \(report)")
            #expect((last["audioPackets"] as? Int ?? 0) > (first["audioPackets"] as? Int ?? 0), "\(report)")
            #expect(last["frameWidth"] as? Int == 640 && last["frameHeight"] as? Int == 360, "\(report)")
            #expect(last["connectionState"] as? String == "connected", "\(report)")
        }
        #expect(try await eventually(timeout: .seconds(40)) { try await Self.metric(node, "liverelay_webrtc_viewers ") == 0 })
        try await node.stop()
    }

    @Test func refusesBadRequests() async throws {
        let node = try await Self.node { $0.transcoder.enabled = false }
        _ = try await node.createStream("cam")
        _ = try await node.createStream("secret", private: true)
        let refusedBefore = try await Self.metric(node, "liverelay_webrtc_offers_refused_total") ?? 0

        func post(_ path: String, _ body: String, contentType: String = "application/sdp", token: String? = nil) async throws -> (Int, String) {
            let result = try await Self.whep(node, "POST", path, body: body, contentType: contentType, token: token)
            return (result.status, String(decoding: result.body, as: UTF8.self))
        }
        #expect(try await post("/whep/nosuch", CapturedOffers.chromium).0 == 404)
        #expect(try await post("/whep/cam", CapturedOffers.chromium, contentType: "application/json").0 == 415)
        #expect(try await post("/whep/cam", "this is not SDP").0 == 400)
        #expect(try await post("/whep/cam", String(repeating: "a=x\r\n", count: 20_000)).0 == 413)
        #expect(try await post("/whep/cam", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n").0 == 400)
        #expect(try await post("/whep/cam", CapturedOffers.chromium.replacingOccurrences(of: "a=fingerprint", with: "a=x-fingerprint")).0 == 400)
        #expect(try await post("/whep/cam", CapturedOffers.chromiumH264Only).0 == 406)
        // A well-formed offer for a stream with no publisher: 409 with Retry-After, CORS kept.
        let offline = try await Self.whep(node, "POST", "/whep/cam", body: CapturedOffers.chromium)
        #expect(offline.status == 409, "\(String(decoding: offline.body, as: UTF8.self))")
        #expect(offline.headers["retry-after"] != nil && offline.headers["access-control-allow-origin"] == "*")
        // A private stream needs a token; without a valid one it is answered as a stream that does not exist.
        let (status, body) = try await post("/whep/secret", CapturedOffers.chromium)
        #expect(status == 404, "\(body)")
        let forged = try await post("/whep/secret", CapturedOffers.chromium, token: "eyJhbGciOiJIUzI1NiJ9.e30.forged")
        #expect(forged.0 == 404, "\(forged.1)")
        let minted = try await node.request("POST", "/api/streams/secret/tokens", json: ["role": "viewer", "sub": "ann"])
        let token = minted.json["token"] as? String
        #expect(try await post("/whep/secret", CapturedOffers.chromium, token: token).0 == 409)
        // CORS preflight.
        let preflight = try await Self.whep(node, "OPTIONS", "/whep/cam")
        #expect(preflight.status == 204 && preflight.headers["access-control-expose-headers"]?.contains("Location") == true)
        #expect(try await Self.whep(node, "DELETE", "/whep/cam/0123456789abcdef").status == 404)
        #expect(try await Self.metric(node, "liverelay_webrtc_offers_refused_total") ?? 0 >= refusedBefore + 3)
        try await node.stop()
    }

    @Test func sessionsEndWithConsentAndWithThePublisher() async throws {
        let node = try await Self.node { configuration in
            // aiortc checks consent every 5 s (RFC 7675 allows 4–6 s): a timeout well above that, well below 30 s.
            configuration.webrtc.consentTimeoutSeconds = 12
            configuration.webrtc.offlineGraceSeconds = 2
        }
        let publisher = try await Self.publish(node, stream: "leaving", seconds: 60)
        defer { publisher.terminate() }
        #expect(try await Self.waitForLayers(node, stream: "leaving"), "ffmpeg: \(publisher.log)")

        // A viewer that vanishes without DELETE (killed): consent stops and the session goes.
        let vanishing = ExternalProcess(["python3", "\(Self.interop)/whep_aiortc.py", node.baseURL + "/whep/leaving", "--seconds", "60", "--keep"])
        try vanishing.start()
        #expect(try await eventually(timeout: .seconds(20)) {
            try await Self.sessions(node).contains { $0["state"] as? String == "connected" && ($0["videoPackets"] as? Int ?? 0) > 0 }
        }, "\(vanishing.log)")
        // Counters are process-wide (other tests' servers count too): compare with what they were.
        let consentBefore = try await Self.metric(node, "liverelay_webrtc_sessions_closed_total{reason=\"consent_expired\"") ?? 0
        let endedBefore = try await Self.metric(node, "liverelay_webrtc_sessions_closed_total{reason=\"stream_ended\"") ?? 0
        kill(vanishing.process.processIdentifier, SIGKILL)
        #expect(try await eventually(timeout: .seconds(30)) { try await Self.metric(node, "liverelay_webrtc_viewers ") == 0 })
        #expect(try await Self.metric(node, "liverelay_webrtc_sessions_closed_total{reason=\"consent_expired\"") == consentBefore + 1)

        // A viewer of a stream whose publisher stops: released after the grace period.
        let staying = ExternalProcess(["python3", "\(Self.interop)/whep_aiortc.py", node.baseURL + "/whep/leaving", "--seconds", "60", "--keep"])
        try staying.start()
        defer { staying.terminate() }
        #expect(try await eventually(timeout: .seconds(20)) {
            try await Self.sessions(node).contains { $0["state"] as? String == "connected" }
        }, "\(staying.log)")
        // The publisher goes away (killed: its connection drops).
        kill(publisher.process.processIdentifier, SIGKILL)
        let released = try await eventually(timeout: .seconds(30)) { try await Self.metric(node, "liverelay_webrtc_viewers ") == 0 }
        let left = try await Self.sessions(node)
        let info = try await node.streamInfo("leaving")
        #expect(released, "\(left) \(info) \(staying.log)")
        let closedLines = String(decoding: try await node.request("GET", "/metrics").body, as: UTF8.self)
            .split(separator: "\n").filter { $0.contains("sessions_closed") }
        #expect(try await Self.metric(node, "liverelay_webrtc_sessions_closed_total{reason=\"stream_ended\"") == endedBefore + 1,
                "\(closedLines)")
        try await node.stop()
    }
}

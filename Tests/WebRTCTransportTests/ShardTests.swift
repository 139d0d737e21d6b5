import NIOCore
import RTP
import MediaRouter
import WebRTCTransport
import XCTest

/// Viewers spread over several event loops sharing the one media port: each shard's socket gets the viewers the
/// kernel hashes to it, sessions move to that shard on their first check, and everyone gets the same media.
extension EgressTests {
    func testViewersSpreadOverShardsOnOnePortAndAllReceiveMedia() async throws {
        await egress.stop()
        let log = keyframes
        egress = try WebRTCEgress(settings: WebRTCSettings(bindHost: "127.0.0.1", port: 0, threads: 3, consentTimeout: .seconds(30)),
                                  requestKeyframe: { log.record($0, $1) })
        port = try await egress.start()
        XCTAssertEqual(egress.shardCount, 3)
        egress.handle(.started(generation: 1), stream: "cam")
        egress.handle(.layout(RenditionLayout(webRTCLayers: [
            .init(rung: "720p", width: 1280, height: 720, fps: 30, bitrate: 2_500_000),
        ], cmafRenditions: [])), stream: "cam")

        // Twelve viewers, each from its own port: the chance that all land on one of three sockets is 3 in 3^12.
        var viewers: [Joined] = []
        for _ in 0..<12 {
            let joined = try await join()
            XCTAssertTrue(joined.session.answer.contains("127.0.0.1 \(port) typ host"), "one port for every shard")
            _ = try await connect(joined)
            viewers.append(joined)
        }
        let summaries = await egress.sessionSummaries()
        XCTAssertEqual(summaries.count, 12)
        XCTAssertTrue(summaries.allSatisfy { $0.state == "connected" }, "\(summaries.map(\.state))")
        XCTAssertGreaterThan(Set(summaries.map(\.shard)).count, 1, "shards: \(summaries.map(\.shard))")
        let viewerCount = await egress.viewerCount(stream: "cam")
        XCTAssertEqual(viewerCount, 12)

        let key = Self.frame(.vp8, size: 3000, pts: 3000, keyframe: true, seed: 9)
        egress.handle(.webRTCVideo(layer: "720p", frame: key), stream: "cam")
        for joined in viewers {
            let packets = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC) { $0.contains(where: \.header.marker) }
            XCTAssertGreaterThanOrEqual(packets.count, 3, "viewer of session \(joined.session.id.prefix(8))")
        }
        // Every session can be found again by id wherever it lives now.
        for joined in viewers {
            let deleted = await egress.deleteSession(id: joined.session.id)
            XCTAssertTrue(deleted)
            await joined.viewer.close()
        }
        let remaining = await egress.viewerCount()
        XCTAssertEqual(remaining, 0)
    }
}

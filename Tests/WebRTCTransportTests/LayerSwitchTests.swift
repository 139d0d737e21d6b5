import MediaCore
import NIOConcurrencyHelpers
import NIOCore
import RTP
import MediaRouter
import WebRTCTransport
import XCTest

/// Layer switching on the real egress: feedback moves a viewer between rungs at the new rung's keyframe, and the
/// viewer sees one stream throughout (same SSRC, consecutive sequence numbers and PictureIDs).
extension EgressTests {
    /// Feeds both rungs at 30 fps (720p frames larger than 360p ones) and audio at 50/s until cancelled; keyframes
    /// come when asked for, as the transcoder does.
    func startFeeding() -> Task<Void, Never> {
        Self.feed(egress, keyframes: keyframes)
    }

    static func feed(_ egress: WebRTCEgress, keyframes: KeyframeLog) -> Task<Void, Never> {
        Task.detached {
            var pts: Int64 = 90_000
            var answered = 0
            var audioPTS: Int64 = 48_000
            var frame = 0
            while !Task.isCancelled {
                let requests = keyframes.requests.withLockedValue { $0 }
                let fresh = requests.dropFirst(answered)
                answered = requests.count
                let first = frame == 0
                for (rung, size, seed) in [("720p", 9000, UInt8(7)), ("360p", 2500, UInt8(3))] {
                    let keyframe = first || fresh.contains("cam/\(rung)")
                    egress.handle(.webRTCVideo(layer: rung, frame: EgressTests.frame(.vp8, size: size, pts: pts, keyframe: keyframe, seed: seed)),
                                  stream: "cam")
                }
                for _ in 0..<2 {
                    egress.handle(.webRTCAudio(EgressTests.frame(.opus, size: 120, pts: audioPTS, keyframe: true, seed: 1)), stream: "cam")
                    audioPTS += 960
                }
                pts += 3000
                frame += 1
                try? await Task.sleep(for: .milliseconds(33))
            }
        }
    }

    func sendREMB(_ bitrate: UInt64, _ joined: Joined) async throws {
        var packet = ByteBuffer()
        RTCPWriter.writeReceiverReport(ssrc: 1, reports: [], into: &packet)
        RTCPWriter.writeREMB(senderSSRC: 1, bitrate: bitrate, ssrcs: [joined.videoSSRC], into: &packet)
        try joined.viewer.outbound?.protectRTCP(&packet)
        try await joined.viewer.send(packet)
    }

    func layer(of id: String) async -> String? {
        await egress.sessionSummaries().first { $0.id == id }?.layer
    }

    func waitForLayer(_ rung: String, id: String, timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await layer(of: id) == rung { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    func testREMBMovesTheViewerDownAndAPinMovesItBackWithOneContinuousStream() async throws {
        let joined = try await join()
        _ = try await connect(joined)
        let feeder = startFeeding()
        defer { feeder.cancel() }
        // Media flows on 720p first.
        _ = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC, timeout: .seconds(2)) { $0.count > 30 }
        let initial = await layer(of: joined.session.id)
        XCTAssertEqual(initial, "720p")

        // The viewer says its path carries 300 kbit/s: far below 720p, so down at once, at a 360p keyframe.
        try await sendREMB(300_000, joined)
        let movedDown = await waitForLayer("360p", id: joined.session.id)
        let sessions = await egress.sessionSummaries()
        XCTAssertTrue(movedDown, "sessions: \(sessions)")
        XCTAssertTrue(keyframes.requests.withLockedValue { $0 }.contains("cam/360p"), "the new rung's keyframe was asked for")
        let summary = await egress.sessionSummaries().first { $0.id == joined.session.id }
        XCTAssertEqual(summary?.estimatedBitrate, 300_000)
        XCTAssertEqual(summary?.estimateSource, "remb")

        // Pinned back up to 720p: the estimate is ignored while pinned.
        let pinned = await egress.pinLayer(id: joined.session.id, layer: "720p")
        XCTAssertTrue(pinned)
        let movedUp = await waitForLayer("720p", id: joined.session.id)
        XCTAssertTrue(movedUp)
        try await Task.sleep(for: .milliseconds(600))
        let stillPinned = await layer(of: joined.session.id)
        XCTAssertEqual(stillPinned, "720p", "a pinned viewer stays")
        let unknown = await egress.pinLayer(id: joined.session.id, layer: "1080p")
        XCTAssertFalse(unknown)

        // Everything the viewer got is one stream: one SSRC, sequence numbers and PictureIDs without a gap.
        feeder.cancel()
        try await Task.sleep(for: .milliseconds(100))
        let packets = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC, timeout: .milliseconds(500)) { _ in false }
        XCTAssertGreaterThan(packets.count, 50)
        var pictureIDs: [UInt16] = []
        var sizes: Set<Int> = []
        var frameBytes = 0
        for (previous, packet) in zip(packets, packets.dropFirst()) {
            XCTAssertEqual(packet.header.sequenceNumber, previous.header.sequenceNumber &+ 1)
        }
        for packet in packets {
            let descriptor = try VP8PayloadDescriptor.parse(packet.payload)
            if descriptor.startOfPartition, descriptor.partitionIndex == 0, let id = descriptor.pictureID { pictureIDs.append(id) }
            frameBytes += packet.payload.readableBytes - descriptor.length
            if packet.header.marker {
                sizes.insert(frameBytes)
                frameBytes = 0
            }
        }
        for (previous, id) in zip(pictureIDs, pictureIDs.dropFirst()) {
            XCTAssertEqual(id, (previous &+ 1) & 0x7FFF, "PictureID runs on across the switches")
        }
        XCTAssertTrue(sizes.isSuperset(of: [9000, 2500]), "frames of both rungs arrived: \(sizes.sorted())")
        await joined.viewer.close()
    }

    func testAViewerWithoutFeedbackStaysWhereItIs() async throws {
        let joined = try await join()
        _ = try await connect(joined)
        let feeder = startFeeding()
        defer { feeder.cancel() }
        try await Task.sleep(for: .seconds(2))
        let summary = await egress.sessionSummaries().first { $0.id == joined.session.id }
        XCTAssertEqual(summary?.layer, "720p")
        XCTAssertNil(summary?.estimatedBitrate)
        XCTAssertEqual(summary?.estimateSource, "none")
        await joined.viewer.close()
    }
}

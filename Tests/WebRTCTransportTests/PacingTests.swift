import MediaCore
import NIOCore
import RTP
import WebRTCTransport
import XCTest

/// Pacing on the real egress: a frame leaves at the viewer's pacing rate, not back to back, and a viewer whose
/// queue stays too long loses whole frames and restarts at a keyframe, with no gap in what it receives.
extension EgressTests {
    /// Feeds the 360p rung at 30 fps (keyframes of `keyframeSize` bytes when asked for, else `size`) and audio at
    /// 50 packets a second, until cancelled.
    func feed360p(size: Int, keyframeSize: Int) -> Task<Void, Never> {
        let egress = self.egress!
        let keyframes = self.keyframes
        return Task.detached {
            var pts: Int64 = 90_000
            var audioPTS: Int64 = 48_000
            var answered = 0
            var first = true
            while !Task.isCancelled {
                let requests = keyframes.requests.withLockedValue { $0 }
                let asked = requests.dropFirst(answered).contains("cam/360p")
                answered = requests.count
                let keyframe = first || asked
                first = false
                egress.handle(.webRTCVideo(layer: "360p", frame: EgressTests.frame(.vp8, size: keyframe ? keyframeSize : size, pts: pts,
                                                                                 keyframe: keyframe, seed: 3)), stream: "cam")
                for _ in 0..<2 {
                    egress.handle(.webRTCAudio(EgressTests.frame(.opus, size: 120, pts: audioPTS, keyframe: true, seed: 1)), stream: "cam")
                    audioPTS += 960
                }
                pts += 3000
                try? await Task.sleep(for: .milliseconds(33))
            }
        }
    }

    /// Frames reassembled from consecutive packets (by marker): their RTP timestamp and size.
    static func frames(_ packets: [RTPPacket]) throws -> [(timestamp: UInt32, size: Int)] {
        var frames: [(UInt32, Int)] = []
        var size = 0
        for packet in packets {
            let descriptor = try VP8PayloadDescriptor.parse(packet.payload)
            if descriptor.isStartOfFrame { size = 0 }
            size += packet.payload.readableBytes - descriptor.length
            if packet.header.marker { frames.append((packet.header.timestamp, size)) }
        }
        return frames
    }

    func testAKeyframeLeavesAtThePacingRateNotAsOneBurst() async throws {
        let joined = try await join(layer: "360p")
        _ = try await connect(joined)
        // Two seconds of a steady stream, so the rung's measured cost (and so the pace) is settled.
        let feeder = feed360p(size: 1000, keyframeSize: 1000)
        _ = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC, timeout: .seconds(2)) { _ in false }
        feeder.cancel()
        try await Task.sleep(for: .milliseconds(100))
        _ = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC, timeout: .milliseconds(50)) { _ in false }
        let summaries = await egress.sessionSummaries()
        let summary = try XCTUnwrap(summaries.first { $0.id == joined.session.id })
        let pace = summary.pacingBitrate
        // 2.5 × (the rung's cost: 240 kbit/s of video, the 30 % floor of 800 kbit/s, and 48 kbit/s of audio).
        XCTAssertGreaterThan(pace, 500_000)
        XCTAssertLessThan(pace, 2_000_000)

        // One 60 kB keyframe: at that pace it takes a good part of a second; back to back it would take a millisecond.
        let key = Self.frame(.vp8, size: 60_000, pts: 900_000, keyframe: true, seed: 5)
        let sentAt = ContinuousClock.now
        egress.handle(.webRTCVideo(layer: "360p", frame: key), stream: "cam")
        var arrivals: [ContinuousClock.Instant] = []
        var packets: [RTPPacket] = []
        let deadline = sentAt + .seconds(5)
        while ContinuousClock.now < deadline, !(packets.last?.header.marker ?? false) {
            let arrived = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC, timeout: .milliseconds(5)) { !$0.isEmpty }
            if !arrived.isEmpty { arrivals.append(ContinuousClock.now) }
            packets += arrived
        }
        XCTAssertEqual(try Self.frames(packets).map(\.size), [60_000], "the keyframe arrives whole")
        for (previous, packet) in zip(packets, packets.dropFirst()) {
            XCTAssertEqual(packet.header.sequenceNumber, previous.header.sequenceNumber &+ 1)
        }
        // The burst is 20 ms of the pace; the rest goes no faster than the pace (a rung cost that rises with the
        // keyframe can at most double it within the frame). Lateness only stretches the span.
        let burst = max(2400, pace / 8 / 50)
        let fastest = Double(60_000 - burst) / (2 * Double(pace) / 8)
        let span = try XCTUnwrap(arrivals.last) - sentAt
        XCTAssertGreaterThan(span, .milliseconds(Int(fastest * 1000)), "a \(pace) bit/s pace spreads the keyframe")
        await joined.viewer.close()
    }

    func testAViewerPacedBelowItsStreamLosesWholeFramesAndRestartsAtAKeyframe() async throws {
        // Paced at half of what its rung costs, the viewer's queue can only grow: it passes 300 ms again and again.
        await egress.stop()
        try await startEgress(WebRTCSettings(bindHost: "127.0.0.1", port: 0, pacingFactor: 0.5,
                                             maximumPacingDelay: .milliseconds(300)))
        let joined = try await join(layer: "360p")
        _ = try await connect(joined)
        let before = keyframes.count
        let feeder = feed360p(size: 3000, keyframeSize: 6000)
        let packets = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC, timeout: .seconds(4)) { _ in false }
        feeder.cancel()
        let summaries = await egress.sessionSummaries()
        let summary = try XCTUnwrap(summaries.first { $0.id == joined.session.id })
        XCTAssertGreaterThan(summary.pacedFramesDropped, 0)
        XCTAssertLessThanOrEqual(summary.queuedFrames, 32)
        XCTAssertGreaterThan(keyframes.count, before + 1, "a keyframe is asked for after a drop")

        // The viewer sees one unbroken stream: dropped frames were never numbered.
        XCTAssertGreaterThan(packets.count, 20)
        for (previous, packet) in zip(packets, packets.dropFirst()) {
            XCTAssertEqual(packet.header.sequenceNumber, previous.header.sequenceNumber &+ 1)
        }
        // Where frames are missing, the next one is a keyframe (6000 bytes): the picture restarts cleanly.
        let frames = try Self.frames(packets)
        XCTAssertEqual(frames.first?.size, 6000)
        var restarts = 0
        for (previous, frame) in zip(frames, frames.dropFirst()) where frame.timestamp &- previous.timestamp != 3000 {
            XCTAssertEqual(frame.size, 6000, "a frame after a gap of \(frame.timestamp &- previous.timestamp) ticks")
            restarts += 1
        }
        XCTAssertGreaterThan(restarts, 0)
        await joined.viewer.close()
    }
}

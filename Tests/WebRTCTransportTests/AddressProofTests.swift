import NIOCore
import RTP
import STUN
import WebRTCTransport
import XCTest

/// Media goes only to an address that proved it receives what the server sends: a check forged from a third party's
/// address (anyone holding a session's credentials can send one) gets that party one small binding request at
/// most, never media; a viewer whose socket really moved answers the server's check and gets its media there.
extension EgressTests {
    /// Whether a datagram is SRTP/SRTCP (RFC 7983: first byte 128–191) or DTLS (20–63).
    static func isMediaOrDTLS(_ datagram: ByteBuffer) -> Bool {
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) else { return false }
        return (128...191).contains(first) || (20...63).contains(first)
    }

    func testForgedCheckFromAThirdAddressNeverGetsMedia() async throws {
        let joined = try await join()
        _ = try await connect(joined)
        // The "victim": an address on another host that runs no ICE agent. The check below comes from its address,
        // with the session's credentials and USE-CANDIDATE, as a forged datagram would.
        let victim = try await TestViewer(serverPort: port, answersChecks: false, host: "127.0.0.2")
        let (_, forged) = victim.bindingRequest(serverUfrag: joined.ufrag, serverPassword: joined.password, nominate: true)
        try await victim.send(forged)
        // A replay of the viewer's own check from the victim's address changes nothing either.
        let (_, original) = joined.viewer.bindingRequest(serverUfrag: joined.ufrag, serverPassword: joined.password)
        try await joined.viewer.send(original)
        try await Task.sleep(for: .milliseconds(100))
        try await victim.send(original)

        for (index, pts) in stride(from: 90_000, to: 90_000 + 20 * 3000, by: 3000).enumerated() {
            egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 2500, pts: Int64(pts), keyframe: index == 0, seed: 3)),
                          stream: "cam")
            egress.handle(.webRTCAudio(Self.frame(.opus, size: 100, pts: Int64(pts / 90 * 48), keyframe: true, seed: 4)), stream: "cam")
            try await Task.sleep(for: .milliseconds(50))
        }
        let video = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC) { $0.filter(\.header.marker).count >= 20 }
        XCTAssertEqual(video.filter(\.header.marker).count, 20, "the viewer keeps its media")

        let reached = victim.drain()
        XCTAssertFalse(reached.contains(where: Self.isMediaOrDTLS), "media or DTLS reached an address that never answered")
        let messages = reached.compactMap { try? STUNMessage(parsing: $0) }
        XCTAssertEqual(messages.count, reached.count, "nothing but STUN")
        XCTAssertTrue(messages.allSatisfy { $0.messageClass == .request }, "the forged check was not answered: \(messages.map(\.messageClass))")
        XCTAssertLessThanOrEqual(messages.count, 3, "one forged check costs the victim at most three small checks")
        if let check = messages.first {
            XCTAssertEqual(check.username, "\(victim.ufrag):\(joined.ufrag)")
            XCTAssertNotNil(check.iceControlled)
            XCTAssertTrue(check.verifyMessageIntegrity(password: victim.password), "signed with the viewer's password")
        }
        let dropped = await egress.droppedDatagrams()
        XCTAssertGreaterThan(dropped["replayed_stun"] ?? 0, 0, "\(dropped)")
        await victim.close()
        await joined.viewer.close()
    }

    func testViewerWhoseSocketMovesGetsItsMediaAtTheNewAddress() async throws {
        let joined = try await join()
        _ = try await connect(joined)
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 2500, pts: 3000, keyframe: true, seed: 3)), stream: "cam")
        _ = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC) { $0.contains(where: \.header.marker) }
        // The viewer's new socket (a network change): same ICE credentials, a full agent that answers checks.
        let moved = try await TestViewer(serverPort: port)
        let (id, check) = moved.bindingRequest(serverUfrag: joined.ufrag, serverPassword: joined.password, nominate: true)
        try await moved.send(check)
        let answer = await moved.waitFor { (try? STUNMessage(parsing: $0))?.transactionID == id }
        XCTAssertNotNil(answer, "the new address is answered once it has answered the server's check")
        _ = joined.viewer.drain()
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 2500, pts: 6000, keyframe: false, seed: 4)), stream: "cam")
        let arrived = await moved.waitFor { Self.isMediaOrDTLS($0) }
        XCTAssertNotNil(arrived, "media follows the viewer to its new address")
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertFalse(joined.viewer.drain().contains(where: Self.isMediaOrDTLS), "and no longer goes to the old one")
        await moved.close()
        await joined.viewer.close()
    }

    func testOneSessionCannotTakeAnotherSessionsAddress() async throws {
        let first = try await join()
        _ = try await connect(first)
        let second = try await join()
        _ = try await connect(second)
        // The first viewer's socket presents the second session's credentials.
        let (_, taking) = first.viewer.bindingRequest(serverUfrag: second.ufrag, serverPassword: second.password, nominate: true)
        try await first.viewer.send(taking)
        try await Task.sleep(for: .milliseconds(200))
        _ = first.viewer.drain()
        _ = second.viewer.drain()
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 2500, pts: 3000, keyframe: true, seed: 3)), stream: "cam")
        let firstVideo = try await rtpPackets(first.viewer, ssrc: first.videoSSRC) { $0.contains(where: \.header.marker) }
        XCTAssertTrue(firstVideo.contains(where: \.header.marker), "the first viewer still gets its own media")
        let secondVideo = try await rtpPackets(second.viewer, ssrc: second.videoSSRC) { $0.contains(where: \.header.marker) }
        XCTAssertTrue(secondVideo.contains(where: \.header.marker), "the second session's media still goes to its viewer")
        let dropped = await egress.droppedDatagrams()
        XCTAssertGreaterThan(dropped["address_taken"] ?? 0, 0, "\(dropped)")
        await first.viewer.close()
        await second.viewer.close()
    }

    /// A viewer without RTX gets no NACK feedback in its answer and no repairs: a packet resent under its own SSRC
    /// and sequence number with a new header would be sealed twice under one GCM nonce with different bytes.
    func testNoSequenceNumberIsSealedTwiceWithDifferentBytes() async throws {
        let viewer = try await TestViewer(serverPort: port)
        let session = try await egress.createSession(stream: "cam", offer: viewer.offer(rtx: false), maxLayer: nil)
        XCTAssertFalse(session.answer.split(separator: "\r\n").contains { $0.hasSuffix(" nack") }, session.answer)
        let answer = session.answer.split(separator: "\r\n")
        let ufrag = try XCTUnwrap(answer.first { $0.hasPrefix("a=ice-ufrag:") }?.dropFirst(12))
        let password = try XCTUnwrap(answer.first { $0.hasPrefix("a=ice-pwd:") }?.dropFirst(10))
        let videoSSRC = try XCTUnwrap(answer.first { $0.hasPrefix("a=ssrc:") }.flatMap { UInt32($0.dropFirst(7).split(separator: " ")[0]) })
        let joined = Joined(viewer: viewer, session: session, ufrag: String(ufrag), password: String(password),
                            videoSSRC: videoSSRC, audioSSRC: 0)
        _ = try await connect(joined)

        var sealed: [UInt64: ByteBuffer] = [:]
        var reused: [UInt16] = []
        func record(_ datagrams: [ByteBuffer]) {
            for datagram in datagrams {
                guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self), (128...191).contains(first),
                      let second = datagram.getInteger(at: datagram.readerIndex + 1, as: UInt8.self), !(192...223).contains(second),
                      let sequence = datagram.getInteger(at: datagram.readerIndex + 2, as: UInt16.self),
                      let ssrc = datagram.getInteger(at: datagram.readerIndex + 8, as: UInt32.self) else { continue }
                let key = UInt64(ssrc) << 16 | UInt64(sequence)
                if let earlier = sealed[key], earlier != datagram { reused.append(sequence) }
                sealed[key] = datagram
            }
        }
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 4000, pts: 9000, keyframe: true, seed: 5)), stream: "cam")
        try await Task.sleep(for: .milliseconds(300))
        record(viewer.drain())
        let sequences = sealed.keys.filter { $0 >> 16 == UInt64(videoSSRC) }.map { UInt16(truncatingIfNeeded: $0) }.sorted()
        XCTAssertGreaterThanOrEqual(sequences.count, 4)
        var nack = ByteBuffer()
        RTCPWriter.writeReceiverReport(ssrc: 1, reports: [], into: &nack)
        RTCPWriter.writeNACK(senderSSRC: 1, mediaSSRC: videoSSRC, lost: Array(sequences.prefix(3)), into: &nack)
        try viewer.outbound?.protectRTCP(&nack)
        try await viewer.send(nack)
        try await Task.sleep(for: .milliseconds(500))
        record(viewer.drain())
        XCTAssertEqual(reused, [], "sequence numbers sealed again with different bytes")
        await viewer.close()
    }
}

/// WHEP capacity: one address cannot hold more than its share of sessions that have not connected yet.
extension EgressTests {
    func testSessionsNotYetConnectedAreLimitedPerClientAddress() async throws {
        await egress.stop()
        try await startEgress(WebRTCSettings(bindHost: "127.0.0.1", port: 0, maximumPendingPerClient: 3))
        let viewer = try await TestViewer(serverPort: port)
        var created: [WHEPSessionCreated] = []
        for _ in 0..<50 where created.count < 3 {
            if case .success(let session) = await Result({ () async throws(WHEPError) in
                try await self.egress.createSession(stream: "cam", offer: viewer.offer(), maxLayer: nil, client: "203.0.113.9")
            }) { created.append(session) }
            try await Task.sleep(for: .milliseconds(20))  // the layout is still on its way to the loop
        }
        XCTAssertEqual(created.count, 3)
        let fourth = await Result { () async throws(WHEPError) in
            try await self.egress.createSession(stream: "cam", offer: viewer.offer(), maxLayer: nil, client: "203.0.113.9")
        }
        guard case .failure(.tooManyRequests) = fourth else { return XCTFail("a fourth pending session: \(fourth)") }
        // Another address is not affected.
        let other = await Result { () async throws(WHEPError) in
            try await self.egress.createSession(stream: "cam", offer: viewer.offer(), maxLayer: nil, client: "198.51.100.1")
        }
        guard case .success = other else { return XCTFail("another address refused: \(other)") }
        // A session that ends frees its place; a refused offer never took one.
        let deleted = await egress.deleteSession(id: created[0].id)
        XCTAssertTrue(deleted)
        let again = await Result { () async throws(WHEPError) in
            try await self.egress.createSession(stream: "cam", offer: viewer.offer(), maxLayer: nil, client: "203.0.113.9")
        }
        guard case .success = again else { return XCTFail("the freed place was not given: \(again)") }
        let bad = await Result { () async throws(WHEPError) in
            try await self.egress.createSession(stream: "cam", offer: "garbage", maxLayer: nil, client: "198.51.100.1")
        }
        guard case .failure(.badOffer) = bad else { return XCTFail("\(bad)") }
        await viewer.close()
    }
}

/// A connected viewer that floods RTCP: PLIs reach the encoder at most once a second, datagrams beyond the
/// allowance are dropped before decryption, a transport-cc packet declaring 65,535 statuses is refused, and another
/// viewer's media is untouched.
extension EgressTests {
    func testAPLIAndTransportCCStormIsBoundedAndOthersKeepWatching() async throws {
        let storm = try await join()
        _ = try await connect(storm)
        let other = try await join()
        _ = try await connect(other)
        // Both have their keyframe, so neither asks for one on its own while the storm goes on.
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 2500, pts: 0, keyframe: true, seed: 2)), stream: "cam")
        _ = try await rtpPackets(storm.viewer, ssrc: storm.videoSSRC) { $0.contains(where: \.header.marker) }
        _ = try await rtpPackets(other.viewer, ssrc: other.videoSSRC) { $0.contains(where: \.header.marker) }
        let before = keyframes.count
        let started = ContinuousClock.now
        for index in 0..<2_000 {
            var datagram = ByteBuffer()
            RTCPWriter.writeReceiverReport(ssrc: 1, reports: [], into: &datagram)
            if index % 2 == 0 {
                RTCPWriter.writePictureLossIndication(senderSSRC: 1, mediaSSRC: storm.videoSSRC, into: &datagram)
            } else {
                // A status count of 65,535 from a few run-length chunks.
                let feedback = RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: storm.videoSSRC, baseSequenceNumber: 0,
                                                     referenceTime: 0, feedbackPacketCount: UInt8(truncatingIfNeeded: index),
                                                     receiveDeltas: Array(repeating: nil, count: 65_535))
                _ = RTCPWriter.writeTransportFeedback(feedback, into: &datagram)
            }
            try storm.viewer.outbound?.protectRTCP(&datagram)
            try await storm.viewer.send(datagram)
        }
        try await Task.sleep(for: .milliseconds(500))
        let stormSeconds = Int((ContinuousClock.now - started).components.seconds)
        let passedOn = keyframes.count - before
        _ = other.viewer.drain()
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 2500, pts: 3000, keyframe: true, seed: 3)), stream: "cam")
        let video = try await rtpPackets(other.viewer, ssrc: other.videoSSRC) { $0.contains(where: \.header.marker) }
        XCTAssertTrue(video.contains(where: \.header.marker), "the other viewer gets its frame")
        // A thousand PLIs: one a second of them reaches the encoder.
        XCTAssertLessThanOrEqual(passedOn, stormSeconds + 1, "keyframe requests passed on in \(stormSeconds) s: \(passedOn)")
        let dropped = await egress.droppedDatagrams()
        XCTAssertGreaterThan(dropped["rtcp_rate_limited"] ?? 0, 0, "\(dropped)")
        XCTAssertGreaterThan(dropped["malformed_rtcp"] ?? 0, 0, "the 65,535-status feedback: \(dropped)")
        let viewers = await egress.viewerCount()
        XCTAssertEqual(viewers, 2)
        await storm.viewer.close()
        await other.viewer.close()
    }
}

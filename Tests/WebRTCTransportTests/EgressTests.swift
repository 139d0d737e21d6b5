import DTLS
import MediaCore
import NIOConcurrencyHelpers
import NIOCore
import RTP
import SDP
import SRTP
import STUN
import MediaRouter
import WebRTCTransport
import XCTest

/// The egress on a real UDP socket against `TestViewer`: ICE-lite checks, the DTLS-SRTP handshake, VP8 and Opus
/// packets that decrypt and reassemble to the frames fed in, feedback acted on, hostile datagrams dropped.
final class EgressTests: XCTestCase {
    final class KeyframeLog: Sendable {
        let requests = NIOLockedValueBox<[String]>([])
        func record(_ stream: String, _ rung: String) -> Bool {
            requests.withLockedValue { $0.append("\(stream)/\(rung)") }
            return true
        }
        var count: Int { requests.withLockedValue { $0.count } }
    }

    var egress: WebRTCEgress!
    var port = 0
    let keyframes = KeyframeLog()
    /// Largest SRTP datagram `rtpPackets` saw.
    var largestDatagram = 0
    /// Packets of other SSRCs `rtpPackets` read while looking for one.
    var stash: [RTPPacket] = []

    override func setUp() async throws {
        try await startEgress(WebRTCSettings(bindHost: "127.0.0.1", port: 0, consentTimeout: .seconds(30)))
    }

    /// An egress on these settings with a live stream "cam" of two rungs, 720p and 360p.
    func startEgress(_ settings: WebRTCSettings) async throws {
        let log = keyframes
        egress = try WebRTCEgress(settings: settings, requestKeyframe: { log.record($0, $1) })
        port = try await egress.start()
        egress.handle(.started(generation: 1), stream: "cam")
        egress.handle(.layout(RenditionLayout(webRTCLayers: [
            .init(rung: "720p", width: 1280, height: 720, fps: 30, bitrate: 2_500_000),
            .init(rung: "360p", width: 640, height: 360, fps: 30, bitrate: 800_000),
        ], cmafRenditions: [])), stream: "cam")
    }

    override func tearDown() async throws {
        await egress.stop()
    }

    struct Joined {
        var viewer: TestViewer
        var session: WHEPSessionCreated
        var ufrag: String
        var password: String
        var videoSSRC: UInt32
        var audioSSRC: UInt32
    }

    func join(layer: String? = nil, fingerprint: String? = nil) async throws -> Joined {
        let viewer = try await TestViewer(serverPort: port)
        var created: WHEPSessionCreated?
        let offer = viewer.offer(fingerprint: fingerprint)
        for _ in 0..<50 {
            if case .success(let session) = await create(offer, maxLayer: layer) {
                created = session
                break
            }
            try await Task.sleep(for: .milliseconds(20))   // the layout is still on its way to the loop
        }
        let session = try XCTUnwrap(created)
        let answer = try SessionDescription.parse(session.answer)
        func attribute(_ name: String) -> String? {
            for media in answer.media { if let value = media.attributes.first(where: { $0.name == name })?.value { return value } }
            return answer.attributes.first(where: { $0.name == name })?.value
        }
        let ssrcs = answer.media.map { media in
            media.attributes.first { $0.name == "ssrc" }.flatMap { UInt32($0.value?.split(separator: " ").first ?? "") } ?? 0
        }
        return Joined(viewer: viewer, session: session, ufrag: try XCTUnwrap(attribute("ice-ufrag")),
                      password: try XCTUnwrap(attribute("ice-pwd")), videoSSRC: ssrcs[0], audioSSRC: ssrcs[1])
    }

    func create(_ offer: String, stream: String = "cam", maxLayer: String? = nil) async -> Result<WHEPSessionCreated, WHEPError> {
        let egress = self.egress!
        return await Result { () async throws(WHEPError) in try await egress.createSession(stream: stream, offer: offer, maxLayer: maxLayer) }
    }

    func connect(_ joined: Joined) async throws -> SRTPKeyingMaterial {
        let (id, request) = joined.viewer.bindingRequest(serverUfrag: joined.ufrag, serverPassword: joined.password)
        try await joined.viewer.send(request)
        // The server first checks the address itself (the viewer answers), then answers the viewer's check.
        let reply = await joined.viewer.waitFor { (try? STUNMessage(parsing: $0))?.messageClass == .successResponse }
        let response = try STUNMessage(parsing: try XCTUnwrap(reply, "no answer to a valid binding request"))
        XCTAssertEqual(response.transactionID, id)
        XCTAssertEqual(response.messageClass, .successResponse)
        XCTAssertTrue(response.verifyMessageIntegrity(password: joined.password))
        XCTAssertTrue(response.verifyFingerprint())
        XCTAssertEqual(response.xorMappedAddress?.port, joined.viewer.channel.localAddress?.port)
        let result = try await joined.viewer.handshake()
        guard case .complete(let keys) = result else { throw HandshakeFailure(result: "\(result)") }
        return keys
    }

    static func frame(_ codec: MediaCodec, size: Int, pts: Int64, keyframe: Bool, seed: UInt8) -> EncodedFrame {
        var data = ByteBuffer()
        for index in 0..<size { data.writeInteger(UInt8(truncatingIfNeeded: index &* 31 &+ Int(seed))) }
        return EncodedFrame(codec: codec, pts: pts, dts: pts, timescale: codec == .vp8 ? 90_000 : 48_000, isKeyframe: keyframe, data: data)
    }

    /// Decrypted RTP packets of one SSRC that arrived so far.
    func rtpPackets(_ viewer: TestViewer, ssrc: UInt32, timeout: Duration = .seconds(3), until: ([RTPPacket]) -> Bool) async throws -> [RTPPacket] {
        var packets = stash.filter { $0.header.ssrc == ssrc }
        stash.removeAll { $0.header.ssrc == ssrc }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && !until(packets) {
            for var datagram in viewer.drain() {
                guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self), (128...191).contains(first),
                      let second = datagram.getInteger(at: datagram.readerIndex + 1, as: UInt8.self), !(192...223).contains(second) else { continue }
                largestDatagram = max(largestDatagram, datagram.readableBytes)
                try viewer.inbound?.unprotect(&datagram)
                let packet = try RTPPacket(parsing: datagram)
                if packet.header.ssrc == ssrc { packets.append(packet) } else { stash.append(packet) }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return packets
    }

    func testViewerConnectsAndReceivesVideoAndAudio() async throws {
        let joined = try await join()
        XCTAssertEqual(joined.session.layer, "720p")
        XCTAssertTrue(joined.session.answer.contains("a=ice-lite"))
        XCTAssertTrue(joined.session.answer.contains("a=setup:passive"))
        XCTAssertTrue(joined.session.answer.contains("a=fingerprint:sha-256 \(egress.fingerprint)"))
        XCTAssertTrue(joined.session.answer.contains("127.0.0.1 \(port) typ host"))
        let before = keyframes.count
        let keys = try await connect(joined)
        XCTAssertEqual(keys.profile, .aeadAES128GCM, "GCM is preferred")
        // A new viewer asks for a keyframe as soon as DTLS completes.
        let asked = await eventually { self.keyframes.count > before }
        XCTAssertTrue(asked)
        XCTAssertTrue(keyframes.requests.withLockedValue { $0.last } == "cam/720p")

        // A delta frame before any keyframe is held back; the keyframe and what follows arrive whole.
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 3000, pts: 0, keyframe: false, seed: 9)), stream: "cam")
        let key = Self.frame(.vp8, size: 5000, pts: 3000, keyframe: true, seed: 1)
        let next = Self.frame(.vp8, size: 700, pts: 6000, keyframe: false, seed: 2)
        egress.handle(.webRTCVideo(layer: "360p", frame: Self.frame(.vp8, size: 900, pts: 3000, keyframe: true, seed: 3)), stream: "cam")
        egress.handle(.webRTCVideo(layer: "720p", frame: key), stream: "cam")
        egress.handle(.webRTCVideo(layer: "720p", frame: next), stream: "cam")
        egress.handle(.webRTCAudio(Self.frame(.opus, size: 120, pts: 1920, keyframe: true, seed: 4)), stream: "cam")

        let video = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC) { $0.filter(\.header.marker).count >= 2 }
        XCTAssertEqual(video.filter(\.header.marker).count, 2, "the keyframe and the next frame, nothing of 360p nor the early delta")
        XCTAssertTrue(video.allSatisfy { $0.header.payloadType == 97 })
        for (index, packet) in video.enumerated().dropFirst() {
            XCTAssertEqual(packet.header.sequenceNumber, video[index - 1].header.sequenceNumber &+ 1)
        }
        var reassembled: [ByteBuffer] = []
        var current = ByteBuffer()
        for packet in video {
            let descriptor = try VP8PayloadDescriptor.parse(packet.payload)
            XCTAssertTrue(descriptor.pictureIDIs15Bit)
            if descriptor.isStartOfFrame { current.clear() }
            current.writeImmutableBuffer(packet.payload.getSlice(at: packet.payload.readerIndex + descriptor.length,
                                                                  length: packet.payload.readableBytes - descriptor.length)!)
            if packet.header.marker { reassembled.append(current) }
        }
        XCTAssertEqual(reassembled, [key.data, next.data])
        XCTAssertTrue(largestDatagram <= 1200, "\(largestDatagram)-byte datagram")
        // Timestamps keep the source spacing (90 kHz).
        let stamps = Array(Set(video.map(\.header.timestamp))).sorted()
        XCTAssertEqual(stamps.count, 2)
        XCTAssertEqual(video.last!.header.timestamp &- video.first!.header.timestamp, 3000)

        let audio = try await rtpPackets(joined.viewer, ssrc: joined.audioSSRC) { !$0.isEmpty }
        XCTAssertEqual(audio.count, 1)
        XCTAssertEqual(audio.first?.header.payloadType, 111)
        XCTAssertEqual(audio.first?.payload.readableBytes, 120)

        // PLI from the viewer: a keyframe is requested for its rung.
        var pli = ByteBuffer()
        RTCPWriter.writeReceiverReport(ssrc: 1, reports: [], into: &pli)
        RTCPWriter.writePictureLossIndication(senderSSRC: 1, mediaSSRC: joined.videoSSRC, into: &pli)
        try joined.viewer.outbound?.protectRTCP(&pli)
        let beforePLI = keyframes.count
        try await joined.viewer.send(pli)
        let acted = await eventually { self.keyframes.count > beforePLI }
        XCTAssertTrue(acted, "PLI reaches the transcoder")

        let viewers = await egress.viewerCount(stream: "cam")
        XCTAssertEqual(viewers, 1)
        let deleted = await egress.deleteSession(id: joined.session.id)
        XCTAssertTrue(deleted)
        let remaining = await egress.viewerCount()
        XCTAssertEqual(remaining, 0)
        let again = await egress.deleteSession(id: joined.session.id)
        XCTAssertFalse(again)
        await joined.viewer.close()
    }

    func testNACKedPacketsComeBackAsRTX() async throws {
        let joined = try await join()
        _ = try await connect(joined)
        let answer = joined.session.answer
        let rtxSSRC = try XCTUnwrap(answer.split(separator: "\r\n").first { $0.hasPrefix("a=ssrc-group:FID") }
            .flatMap { UInt32($0.split(separator: " ").last ?? "") }, "answer: \(answer)")
        let key = Self.frame(.vp8, size: 4000, pts: 9000, keyframe: true, seed: 5)
        egress.handle(.webRTCVideo(layer: "720p", frame: key), stream: "cam")
        let video = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC) { $0.contains(where: \.header.marker) }
        XCTAssertGreaterThanOrEqual(video.count, 4)
        // The viewer lost the second and the last packet.
        let lost = [video[1], video[video.count - 1]]
        var nack = ByteBuffer()
        RTCPWriter.writeReceiverReport(ssrc: 1, reports: [], into: &nack)
        RTCPWriter.writeNACK(senderSSRC: 1, mediaSSRC: joined.videoSSRC, lost: lost.map(\.header.sequenceNumber) + [video[0].header.sequenceNumber &- 1000], into: &nack)
        try joined.viewer.outbound?.protectRTCP(&nack)
        try await joined.viewer.send(nack)
        let repaired = try await rtpPackets(joined.viewer, ssrc: rtxSSRC) { $0.count >= 2 }
        XCTAssertEqual(repaired.count, 2, "one RTX packet per lost packet still in the history; the unknown one is skipped")
        for (rtx, original) in zip(repaired, lost) {
            XCTAssertEqual(rtx.header.payloadType, 98)
            XCTAssertEqual(rtx.header.timestamp, original.header.timestamp)
            XCTAssertEqual(rtx.header.marker, original.header.marker)
            var payload = rtx.payload
            XCTAssertEqual(payload.readInteger(as: UInt16.self), original.header.sequenceNumber, "OSN first (RFC 4588)")
            XCTAssertEqual(payload, original.payload)
        }
        XCTAssertEqual(repaired[1].header.sequenceNumber, repaired[0].header.sequenceNumber &+ 1)
        await joined.viewer.close()
    }

    func testRepairsGoOutTwiceOnAPathWithSteadyRandomLoss() async throws {
        let joined = try await join()
        _ = try await connect(joined)
        let rtxSSRC = try XCTUnwrap(joined.session.answer.split(separator: "\r\n").first { $0.hasPrefix("a=ssrc-group:FID") }
            .flatMap { UInt32($0.split(separator: " ").last ?? "") })
        egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 4000, pts: 9000, keyframe: true, seed: 5)), stream: "cam")
        let video = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC) { $0.contains(where: \.header.marker) }
        func send(_ write: (inout ByteBuffer) -> Void) async throws {
            var packet = ByteBuffer()
            write(&packet)
            try joined.viewer.outbound?.protectRTCP(&packet)
            try await joined.viewer.send(packet)
        }
        func nack(_ packet: RTPPacket) async throws {
            try await send { buffer in
                RTCPWriter.writeReceiverReport(ssrc: 1, reports: [], into: &buffer)
                RTCPWriter.writeNACK(senderSSRC: 1, mediaSSRC: joined.videoSSRC, lost: [packet.header.sequenceNumber], into: &buffer)
            }
        }
        // No loss reported yet: one repair.
        try await nack(video[1])
        let first = try await rtpPackets(joined.viewer, ssrc: rtxSSRC) { $0.count >= 1 }
        XCTAssertEqual(first.count, 1)
        // Receiver reports a second apart: 6 of 100 packets lost (6 %), random (no transport-cc over-use).
        try await send { RTCPWriter.writeReceiverReport(ssrc: 1, reports: [.init(ssrc: joined.videoSSRC, highestSequenceNumber: 1000)], into: &$0) }
        try await Task.sleep(for: .milliseconds(600))
        try await send { RTCPWriter.writeReceiverReport(ssrc: 1, reports: [.init(ssrc: joined.videoSSRC, fractionLost: 15, cumulativeLost: 6,
                                                                                 highestSequenceNumber: 1100)], into: &$0) }
        try await Task.sleep(for: .milliseconds(100))
        try await nack(video[2])
        let second = try await rtpPackets(joined.viewer, ssrc: rtxSSRC) { $0.count >= 2 }
        XCTAssertEqual(second.count, 2, "two copies of the repair")
        for rtx in second {
            var payload = rtx.payload
            XCTAssertEqual(payload.readInteger(as: UInt16.self), video[2].header.sequenceNumber)
            XCTAssertEqual(payload, video[2].payload)
        }
        XCTAssertEqual(second[1].header.sequenceNumber, second[0].header.sequenceNumber &+ 1, "each copy its own RTX sequence number")
        await joined.viewer.close()
    }

    func testWrongPasswordGetsNoAnswer() async throws {
        let joined = try await join()
        let (_, wrong) = joined.viewer.bindingRequest(serverUfrag: joined.ufrag, serverPassword: "not-the-password-at-all-000")
        try await joined.viewer.send(wrong)
        let (_, unknown) = joined.viewer.bindingRequest(serverUfrag: "nosuchufrag", serverPassword: joined.password)
        try await joined.viewer.send(unknown)
        // Then a valid check: its answer is the only one that comes back.
        let (id, valid) = joined.viewer.bindingRequest(serverUfrag: joined.ufrag, serverPassword: joined.password)
        try await joined.viewer.send(valid)
        var answers: [STUNMessage] = []
        _ = await joined.viewer.waitFor(timeout: .seconds(2)) { datagram in
            if let message = try? STUNMessage(parsing: datagram), message.messageClass != .request { answers.append(message) }
            return false
        }
        XCTAssertEqual(answers.map(\.transactionID), [id])
        await joined.viewer.close()
    }

    func testCertificateThatDoesNotMatchTheOfferGetsNoMedia() async throws {
        let other = try DTLSCertificate.generateSelfSigned(commonName: "someone else")
        let joined = try await join(fingerprint: other.fingerprintSHA256)
        let (_, request) = joined.viewer.bindingRequest(serverUfrag: joined.ufrag, serverPassword: joined.password)
        try await joined.viewer.send(request)
        _ = await joined.viewer.waitFor { (try? STUNMessage(parsing: $0))?.messageClass == .successResponse }
        let result = try await joined.viewer.handshake(timeout: .seconds(5))
        if case .complete = result {
            // The client may finish its side; the server must not: no SRTP keys, no media.
            egress.handle(.webRTCVideo(layer: "720p", frame: Self.frame(.vp8, size: 500, pts: 0, keyframe: true, seed: 1)), stream: "cam")
            let media = await joined.viewer.waitFor(timeout: .seconds(1)) { ($0.getInteger(at: $0.readerIndex, as: UInt8.self) ?? 0) >= 128 }
            XCTAssertNil(media)
        }
        let gone = await eventually { await self.egress.viewerCount() == 0 }
        XCTAssertTrue(gone, "the session is closed after the fingerprint check fails")
        await joined.viewer.close()
    }

    func testHostileDatagramsAreDroppedAndOthersKeepWatching() async throws {
        let joined = try await join()
        let keys = try await connect(joined)
        XCTAssertEqual(keys.profile, .aeadAES128GCM)
        let attacker = try await TestViewer(serverPort: port)
        var generator = SystemRandomNumberGenerator()
        // Every first-byte class, from a stranger and from the viewer's own address.
        for first in [0, 1, 2, 3, 4, 19, 20, 22, 23, 63, 64, 127, 128, 129, 191, 192, 200, 255] as [UInt8] {
            for length in [1, 2, 12, 20, 100, 1500] {
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                bytes[0] = first
                try await attacker.send(bytes)
                try await joined.viewer.send(bytes)
            }
        }
        // Truncated STUN and RTCP with lying lengths.
        let (_, valid) = joined.viewer.bindingRequest(serverUfrag: joined.ufrag, serverPassword: joined.password)
        for cut in stride(from: 1, to: valid.count, by: 7) { try await attacker.send(Array(valid.prefix(cut))) }
        try await joined.viewer.send([0x80, 0xC8, 0xFF, 0xFF, 0, 0, 0, 1])
        var lying = ByteBuffer(bytes: [0x81, 0xCE, 0x00, 0x40, 0, 0, 0, 1, 0, 0, 0, 2])
        try joined.viewer.outbound?.protectRTCP(&lying)
        try await joined.viewer.send(lying)

        // The viewer still gets its media.
        _ = joined.viewer.drain()
        let key = Self.frame(.vp8, size: 2500, pts: 90_000, keyframe: true, seed: 7)
        egress.handle(.webRTCVideo(layer: "720p", frame: key), stream: "cam")
        let video = try await rtpPackets(joined.viewer, ssrc: joined.videoSSRC) { $0.contains(where: \.header.marker) }
        XCTAssertTrue(video.contains(where: \.header.marker))
        let viewers = await egress.viewerCount()
        XCTAssertEqual(viewers, 1)
        // Each kind of garbage was counted under its reason.
        let dropped = await egress.droppedDatagrams()
        for reason in ["unknown_class", "malformed_stun", "unknown_peer", "srtcp_rejected", "unexpected_rtp"] {
            XCTAssertGreaterThan(dropped[reason] ?? 0, 0, "\(reason): \(dropped)")
        }
        await attacker.close()
        await joined.viewer.close()
    }

    func testOfferErrorsAndLayerChoice() async throws {
        let viewer = try await TestViewer(serverPort: port)
        guard case .failure(.badOffer) = await create("garbage") else { return XCTFail("garbage accepted") }
        let unsupported = viewer.offer().replacingOccurrences(of: "VP8/90000", with: "H264/90000")
            .replacingOccurrences(of: "opus/48000/2", with: "PCMU/8000")
        guard case .failure(.unsupportedOffer) = await create(unsupported) else { return XCTFail("H.264/PCMU offer accepted") }
        guard case .failure(.streamOffline) = await create(viewer.offer(), stream: "other") else { return XCTFail("offline stream accepted") }
        guard case .failure(.unknownLayer("4k")) = await create(viewer.offer(), maxLayer: "4k") else { return XCTFail("unknown layer accepted") }
        let capped = try await egress.createSession(stream: "cam", offer: viewer.offer(), maxLayer: "360p")
        XCTAssertEqual(capped.layer, "360p")
        let byHeight = try await egress.createSession(stream: "cam", offer: viewer.offer(), maxLayer: "480p")
        XCTAssertEqual(byHeight.layer, "360p")
        // ICE restart in a PATCH is refused; plain candidates are taken.
        try await egress.trickle(id: capped.id, fragment: "a=ice-ufrag:\(viewer.ufrag)\r\na=ice-pwd:\(viewer.password)\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n", ifMatch: nil)
        let egress = self.egress!
        let restart = await Result { () async throws(WHEPError) in
            try await egress.trickle(id: capped.id, fragment: "a=ice-ufrag:newufrag\r\na=ice-pwd:newpasswordnewpasswordnew\r\n", ifMatch: nil)
        }
        guard case .failure(.iceRestartUnsupported) = restart else { return XCTFail("ICE restart accepted: \(restart)") }
        await viewer.close()
    }
}

struct HandshakeFailure: Error {
    var result: String
}

extension Result where Failure == WHEPError {
    init(_ body: () async throws(WHEPError) -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

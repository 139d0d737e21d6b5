import DTLS
import DatagramIO
import Glibc
import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import RTP
import SDP
import SRTP
import STUN
@testable import WebRTCTransport
import XCTest

/// A time source the test moves by hand.
final class ManualClock: Sendable {
    private let value = NIOLockedValueBox(NIODeadline.uptimeNanoseconds(1_000_000_000))

    var now: NIODeadline { value.withLockedValue { $0 } }

    func advance(_ amount: TimeAmount) {
        value.withLockedValue { $0 = $0 + amount }
    }
}

/// One egress shard's core driven entirely by the test: an embedded loop and channel carry STUN and DTLS, the
/// media batch sends to a real loopback socket that the test reads without waiting, and every call gets its `now`
/// from a `ManualClock`. A consent timeout of 30 s takes no 30 s; nothing here sleeps.
final class ClockedEgress {
    let clock = ManualClock()
    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel
    let core: EgressShard
    let keyframes = EgressTests.KeyframeLog()
    /// Where the core's media batch sends from, and where the viewer receives.
    let senderDescriptor: CInt
    let viewerDescriptor: CInt
    let viewerAddress: SocketAddress
    let viewerCertificate: DTLSCertificate

    var session = ""
    var ufrag = ""
    var password = ""
    var videoSSRC: UInt32 = 0
    var dtls: DTLSConnection?
    var inbound: SRTPSession?
    var outbound: SRTPSession?

    init(settings: WebRTCSettings = WebRTCSettings(bindHost: "127.0.0.1", port: 0)) throws {
        channel = EmbeddedChannel(loop: loop)
        var logger = Logger(label: "test.egress")
        logger.logLevel = .critical
        let log = keyframes
        let clock = self.clock
        core = try EgressShard(loop: loop, settings: settings, certificate: try DTLSCertificate.generateSelfSigned(commonName: "LiveRelay"),
                              logger: logger, clock: { clock.now }, requestKeyframe: { log.record($0, $1) })
        senderDescriptor = try MediaSocket.bind(host: "127.0.0.1", port: 0)
        viewerDescriptor = try MediaSocket.bind(host: "127.0.0.1", port: 0)
        viewerAddress = try SocketAddress(ipAddress: "127.0.0.1", port: Self.port(of: viewerDescriptor))
        viewerCertificate = try DTLSCertificate.generateSelfSigned(commonName: "viewer")
        core.channel = channel
        core.batch.descriptor = senderDescriptor
        core.candidates = [ICECandidate(host: "127.0.0.1", port: 9)]
        core.media(.started(generation: 1), stream: "cam", now: clock.now)
        core.media(.layout(RenditionLayout(webRTCLayers: [
            .init(rung: "720p", width: 1280, height: 720, fps: 30, bitrate: 2_500_000),
            .init(rung: "360p", width: 640, height: 360, fps: 30, bitrate: 800_000),
        ], cmafRenditions: [])), stream: "cam", now: clock.now)
    }

    deinit {
        close(senderDescriptor)
        close(viewerDescriptor)
    }

    static func port(of descriptor: CInt) -> Int {
        var storage = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: storage.sin_port))
    }

    // MARK: Viewer side

    func join() throws {
        let created = try core.createSession(stream: "cam", offerText: TestViewerOffer.make(fingerprint: viewerCertificate.fingerprintSHA256),
                                             maximumLayer: nil, now: clock.now)
        session = created.id
        let answer = try SessionDescription.parse(created.answer)
        func attribute(_ name: String) -> String? {
            for media in answer.media { if let value = media.attributes.first(where: { $0.name == name })?.value { return value } }
            return answer.attributes.first(where: { $0.name == name })?.value
        }
        ufrag = try XCTUnwrap(attribute("ice-ufrag"))
        password = try XCTUnwrap(attribute("ice-pwd"))
        videoSSRC = answer.media.first?.attributes.first { $0.name == "ssrc" }.flatMap { UInt32($0.value?.split(separator: " ").first ?? "") } ?? 0
    }

    /// A datagram from the viewer, handled at the clock's time.
    func deliver(_ bytes: [UInt8]) {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        deliver(buffer)
    }

    func deliver(_ buffer: ByteBuffer) {
        core.receive(AddressedEnvelope(remoteAddress: viewerAddress, data: buffer), now: clock.now)
    }

    /// What the core wrote on its channel (STUN, DTLS, RTCP) since the last call.
    func written() throws -> [ByteBuffer] {
        channel.flush()
        var out: [ByteBuffer] = []
        while let envelope = try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) {
            XCTAssertEqual(envelope.remoteAddress, viewerAddress)
            out.append(envelope.data)
        }
        return out
    }

    /// Answers the server's binding requests among `datagrams` (a full ICE agent does); returns the rest.
    func answerChecks(_ datagrams: [ByteBuffer]) -> [ByteBuffer] {
        var rest: [ByteBuffer] = []
        for datagram in datagrams {
            guard let message = try? STUNMessage(parsing: datagram), message.messageClass == .request,
                  message.verifyMessageIntegrity(password: TestViewer.icePassword) else {
                rest.append(datagram)
                continue
            }
            deliver(STUNMessage.bindingSuccessResponse(transactionID: message.transactionID, mappedAddress: viewerAddress,
                                                       password: TestViewer.icePassword))
        }
        return rest
    }

    /// ICE (the viewer's check, the server's proof of the address) and the DTLS handshake, all at the clock's time.
    func connect() throws {
        let id = STUNTransactionID.random()
        deliver(STUNMessage.bindingRequest(transactionID: id, username: "\(ufrag):viewerufrag", password: password,
                                           priority: 0x6E00_1EFF, useCandidate: true, controlling: 0x1234_5678))
        let answered = answerChecks(try written()) + answerChecks(try written())
        XCTAssertTrue(answered.contains { (try? STUNMessage(parsing: $0))?.transactionID == id }, "the viewer's check is answered once proven")
        let dtls = try DTLSConnection(context: try DTLSContext(role: .client, certificate: viewerCertificate), expectedPeerFingerprint: nil)
        self.dtls = dtls
        var result = dtls.handshake()
        for _ in 0..<10 {
            for datagram in dtls.takeOutgoing() { deliver(datagram) }
            guard case .incomplete = result else { break }
            for datagram in try written() where (20...63).contains(datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) ?? 0) {
                dtls.receive(datagram)
            }
            result = dtls.handshake()
        }
        for datagram in dtls.takeOutgoing() { deliver(datagram) }
        guard case .complete(let keys) = result else { throw HandshakeFailure(result: "\(result)") }
        let profile: SRTPProfile = keys.profile == .aeadAES128GCM ? .aeadAES128GCM : .aes128CMHMACSHA1_80
        inbound = try SRTPSession(profile: profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
        outbound = try SRTPSession(profile: profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
        XCTAssertEqual(core.sessions[session]?.phase, .connected)
        _ = try written()
    }

    /// Decrypted media that reached the viewer's socket so far (loopback delivers before `sendmmsg` returns).
    func media() throws -> [RTPPacket] {
        var packets: [RTPPacket] = []
        var storage = [UInt8](repeating: 0, count: 2048)
        while true {
            let count = storage.withUnsafeMutableBytes { recv(viewerDescriptor, $0.baseAddress, $0.count, CInt(MSG_DONTWAIT)) }
            guard count > 0 else { return packets }
            var datagram = ByteBuffer(bytes: storage[..<count])
            guard let second = datagram.getInteger(at: 1, as: UInt8.self), !(192...223).contains(second) else { continue }
            try inbound?.unprotect(&datagram)
            packets.append(try RTPPacket(parsing: datagram))
        }
    }

    func rtcp(_ write: (inout ByteBuffer) -> Void) throws {
        var buffer = ByteBuffer()
        RTCPWriter.writeReceiverReport(ssrc: 1, reports: [], into: &buffer)
        write(&buffer)
        try outbound?.protectRTCP(&buffer)
        deliver(buffer)
    }

    func frame(_ layer: String, size: Int, pts: Int64, keyframe: Bool) {
        core.media(.webRTCVideo(layer: layer, frame: EgressTests.frame(.vp8, size: size, pts: pts, keyframe: keyframe, seed: 5)),
                   stream: "cam", now: clock.now)
    }

    /// Ticks the core every 200 ms (as the shard's timer does) for `duration`, answering its checks or not.
    func run(for duration: TimeAmount, answering: Bool) throws {
        var elapsed = TimeAmount.zero
        while elapsed < duration {
            clock.advance(.milliseconds(200))
            elapsed = elapsed + .milliseconds(200)
            core.tick(now: clock.now)
            let out = try written()
            if answering { _ = answerChecks(out) }
        }
    }
}

/// Consent, connect deadlines, pacing, repairs and adaptation on a manual clock: minutes of egress time in
/// milliseconds, no sleeps, the same result every run.
final class ManualClockEgressTests: XCTestCase {
    func testASessionThatNeverConnectsIsFreedAtTheConnectDeadline() throws {
        let egress = try ClockedEgress()
        try egress.join()
        egress.clock.advance(.milliseconds(9_900))
        egress.core.tick(now: egress.clock.now)
        XCTAssertNotNil(egress.core.sessions[egress.session], "still within the 10 s")
        egress.clock.advance(.milliseconds(200))
        egress.core.tick(now: egress.clock.now)
        XCTAssertNil(egress.core.sessions[egress.session], "freed at 10 s")
    }

    func testConsentLastsWhileTheViewerAnswersAndExpiresThirtySecondsAfterItStops() throws {
        let egress = try ClockedEgress()
        try egress.join()
        try egress.connect()
        // Answering the server's checks (every 4–6 s) keeps the session for two minutes.
        try egress.run(for: .seconds(120), answering: true)
        XCTAssertEqual(egress.core.sessions[egress.session]?.phase, .connected)
        // Silent from now on: consent runs out 30 s after the last answer, not before.
        try egress.run(for: .seconds(24), answering: false)
        XCTAssertNotNil(egress.core.sessions[egress.session], "within 30 s of the last answer")
        try egress.run(for: .seconds(8), answering: false)
        XCTAssertNil(egress.core.sessions[egress.session], "closed once 30 s passed without an answer")
    }

    func testAKeyframeIsSpreadByThePacerAndLeavesWholeAsTheClockAdvances() throws {
        let egress = try ClockedEgress()
        try egress.join()
        try egress.connect()
        // A 120 KB keyframe: about 100 packets, far more than 20 ms of the rung's paced rate.
        egress.frame("720p", size: 120_000, pts: 0, keyframe: true)
        let first = try egress.media().filter { $0.header.ssrc == egress.videoSSRC }
        XCTAssertFalse(first.isEmpty, "the burst allowance goes at once")
        XCTAssertFalse(first.contains { $0.header.marker }, "not the whole frame at once: \(first.count) packets")
        var total = first.count
        var drains = 0
        while total > 0, drains < 400 {
            egress.clock.advance(.milliseconds(5))
            egress.core.drainBacklog(now: egress.clock.now)
            let packets = try egress.media().filter { $0.header.ssrc == egress.videoSSRC }
            total += packets.count
            drains += 1
            if packets.contains(where: { $0.header.marker }) { break }
        }
        XCTAssertTrue(drains > 4, "spread over more than 20 ms: \(drains) drains of 5 ms")
        XCTAssertTrue(drains < 400, "the frame ends")
        XCTAssertTrue(total >= 100, "\(total) packets")
    }

    func testANackIsRepairedOverRTXOncePer50Milliseconds() throws {
        let egress = try ClockedEgress()
        try egress.join()
        try egress.connect()
        egress.frame("720p", size: 3_000, pts: 0, keyframe: true)
        var sent: [RTPPacket] = []
        for _ in 0..<50 where !sent.contains(where: { $0.header.marker }) {
            sent += try egress.media().filter { $0.header.ssrc == egress.videoSSRC }
            egress.clock.advance(.milliseconds(5))
            egress.core.drainBacklog(now: egress.clock.now)
        }
        let lost = try XCTUnwrap(sent.dropFirst().first).header.sequenceNumber
        let ssrc = egress.videoSSRC
        try egress.rtcp { RTCPWriter.writeNACK(senderSSRC: 1, mediaSSRC: ssrc, lost: [lost], into: &$0) }
        let repairs = try egress.media().filter { $0.header.ssrc == ssrc &+ 1 }
        XCTAssertFalse(repairs.isEmpty, "repaired as RTX")
        XCTAssertTrue(repairs.allSatisfy { $0.payload.getInteger(at: $0.payload.readerIndex, as: UInt16.self) == lost })
        // The same NACK again within 50 ms: not repeated; 60 ms later: repaired again.
        egress.clock.advance(.milliseconds(20))
        try egress.rtcp { RTCPWriter.writeNACK(senderSSRC: 1, mediaSSRC: ssrc, lost: [lost], into: &$0) }
        XCTAssertTrue(try egress.media().filter { $0.header.ssrc == ssrc &+ 1 }.isEmpty)
        egress.clock.advance(.milliseconds(60))
        try egress.rtcp { RTCPWriter.writeNACK(senderSSRC: 1, mediaSSRC: ssrc, lost: [lost], into: &$0) }
        XCTAssertFalse(try egress.media().filter { $0.header.ssrc == ssrc &+ 1 }.isEmpty)
    }

    func testAViewerWhoseREMBFallsFarBelowItsRungMovesDownAtTheNextRungsKeyframe() throws {
        let egress = try ClockedEgress()
        try egress.join()
        try egress.connect()
        XCTAssertEqual(egress.core.sessions[egress.session]?.consumer.layer, "720p")
        // Two seconds of both rungs at their target rates, so their costs are measured.
        for index in 0..<60 {
            egress.frame("720p", size: 10_400, pts: Int64(index) * 3000, keyframe: index == 0)
            egress.frame("360p", size: 3_300, pts: Int64(index) * 3000, keyframe: index == 0)
            egress.clock.advance(.milliseconds(33))
            egress.core.drainBacklog(now: egress.clock.now)
            egress.core.tick(now: egress.clock.now)
            _ = egress.answerChecks(try egress.written())
            _ = try egress.media()
        }
        XCTAssertEqual(egress.core.sessions[egress.session]?.consumer.layer, "720p", "nothing said about the path yet: no move")
        let ssrc = egress.videoSSRC
        try egress.rtcp { RTCPWriter.writeREMB(senderSSRC: 1, bitrate: 300_000, ssrcs: [ssrc], into: &$0) }
        let asked = egress.keyframes.count
        try egress.run(for: .milliseconds(600), answering: true)
        XCTAssertEqual(egress.core.sessions[egress.session]?.consumer.pendingLayer, "360p", "a switch down is pending")
        XCTAssertTrue(egress.keyframes.requests.withLockedValue { $0.dropFirst(asked).contains("cam/360p") })
        // It lands on the 360p keyframe.
        egress.frame("360p", size: 3_300, pts: 60 * 3000, keyframe: true)
        XCTAssertEqual(egress.core.sessions[egress.session]?.consumer.layer, "360p")
    }
}

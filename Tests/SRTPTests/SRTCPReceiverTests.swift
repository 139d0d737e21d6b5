import NIOCore
@testable import SRTP
import XCTest

/// The OpenSSL SRTCP receiver against libsrtp2 as the reference: packets libsrtp2 protected open to the same bytes
/// with both; the two refuse the same tampered, replayed and too-old packets; the replay window slides per SSRC.
final class SRTCPReceiverTests: XCTestCase {
    private let key: [UInt8] = (0..<16).map { UInt8(0x52 &+ $0 &* 11) }

    private func salt(_ profile: SRTPProfile) -> [UInt8] {
        (0..<profile.saltLength).map { UInt8(0x9D &- $0 &* 5) }
    }

    /// A compound RTCP packet of a viewer: a receiver report with one block, then a transport-cc-sized feedback.
    private func compound(ssrc: UInt32, seed: UInt8, feedbackWords: Int = 6) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x81))
        buffer.writeInteger(UInt8(201))
        buffer.writeInteger(UInt16(7))
        buffer.writeInteger(ssrc)
        buffer.writeBytes((0..<24).map { UInt8(truncatingIfNeeded: Int(seed) &+ $0 &* 3) })
        buffer.writeInteger(UInt8(0x8F))
        buffer.writeInteger(UInt8(205))
        buffer.writeInteger(UInt16(feedbackWords))
        buffer.writeInteger(ssrc)
        buffer.writeBytes((0..<feedbackWords * 4 - 4).map { UInt8(truncatingIfNeeded: Int(seed) &* 7 &+ $0) })
        return buffer
    }

    private func sessions(_ profile: SRTPProfile) throws -> (sender: SRTPSession, mine: SRTPSession, reference: SRTPSession) {
        (try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .outbound, openSSLForRTP: false),
         try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .inbound),
         try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .inbound, openSSLForRTP: false))
    }

    private func outcome(_ session: SRTPSession, _ packet: ByteBuffer) -> Result<[UInt8], SRTPError> {
        var copy = ByteBuffer(bytes: Array(packet.readableBytesView))
        do {
            try session.unprotectRTCP(&copy)
            return .success(Array(copy.readableBytesView))
        } catch {
            return .failure(error)
        }
    }

    func testOpensWhatLibsrtpProtectedToTheSameBytes() throws {
        for profile in SRTPProfile.allCases {
            let (sender, mine, reference) = try sessions(profile)
            // Two sender SSRCs (a viewer's audio and video receivers), each with its own index, sizes varying.
            for index in 0..<200 {
                let ssrc: UInt32 = index % 3 == 0 ? 0x0102_0304 : 0xCAFE_F00D
                let original = compound(ssrc: ssrc, seed: UInt8(truncatingIfNeeded: index), feedbackWords: 3 + index % 40)
                var protected = original
                try sender.protectRTCP(&protected)
                XCTAssertEqual(protected.readableBytes, original.readableBytes + 4 + profile.rtpOverhead)
                let opened = outcome(mine, protected)
                XCTAssertEqual(opened, outcome(reference, protected), "\(profile) packet \(index)")
                XCTAssertEqual(opened, .success(Array(original.readableBytesView)), "\(profile) packet \(index)")
            }
        }
    }

    func testRefusesWhatLibsrtpRefuses() throws {
        for profile in SRTPProfile.allCases {
            let (sender, mine, reference) = try sessions(profile)
            var packets: [ByteBuffer] = []
            for index in 0..<140 {
                var packet = compound(ssrc: 77, seed: UInt8(index))
                try sender.protectRTCP(&packet)
                packets.append(packet)
            }
            func both(_ packet: ByteBuffer, _ expected: Result<[UInt8], SRTPError>? = nil, _ what: String) {
                let opened = outcome(mine, packet)
                XCTAssertEqual(opened, outcome(reference, packet), "\(profile): \(what)")
                if let expected { XCTAssertEqual(opened, expected, "\(profile): \(what)") }
            }
            // Any flipped bit — header, payload, index, tag — fails authentication.
            for offset in [1, 9, packets[0].readableBytes - 16, packets[0].readableBytes - 1] {
                var tampered = packets[0]
                tampered.setInteger(tampered.getInteger(at: offset, as: UInt8.self)! ^ 0x04, at: offset)
                XCTAssertEqual(outcome(mine, tampered), .failure(.authenticationFailed), "\(profile): bit flipped at \(offset)")
            }
            both(packets[0], nil, "first sight")
            both(packets[0], .failure(.replayed), "the same packet again")
            // Out of order within the window is fine, once.
            both(packets[5], nil, "index 5")
            both(packets[3], nil, "index 3, late")
            both(packets[3], .failure(.replayed), "index 3 again")
            both(packets[139], nil, "index 139")
            // 139 − 128: index 11 has left the window; 12 is its oldest place.
            both(packets[11], .failure(.replayTooOld), "index 11, behind the window")
            both(packets[12], nil, "index 12, the window's oldest")
            both(packets[12], .failure(.replayed), "index 12 again")
            // A tampered copy of a packet not seen yet leaves its index free for the real one.
            var forged = packets[100]
            forged.setInteger(forged.getInteger(at: 12, as: UInt8.self)! ^ 0x01, at: 12)
            XCTAssertEqual(outcome(mine, forged), .failure(.authenticationFailed), "\(profile)")
            XCTAssertEqual(outcome(mine, packets[100]), .success(Array(compound(ssrc: 77, seed: 100).readableBytesView)))
        }
    }

    func testShortAndUnencryptedPacketsAreTypedErrors() throws {
        for profile in SRTPProfile.allCases {
            let (_, mine, _) = try sessions(profile)
            let tooShort = ByteBuffer(bytes: [UInt8](repeating: 0x81, count: 8 + 4 + profile.rtpOverhead - 1))
            XCTAssertEqual(outcome(mine, tooShort), .failure(.packetTooShort(length: tooShort.readableBytes)))
            // E flag clear: authenticated only, which no WebRTC peer sends.
            var plain = [UInt8](repeating: 0x20, count: 40)
            let flagOffset = profile == .aeadAES128GCM ? 36 : 40 - 14
            plain[flagOffset] = 0x00
            XCTAssertEqual(outcome(mine, ByteBuffer(bytes: plain)), .failure(.badParameter))
        }
    }

    func testTheReplayWindowSlidesPerSSRC() {
        var windows = SRTCPReplayWindows()
        XCTAssertNil(windows.check(ssrc: 1, index: 1000))
        windows.accept(ssrc: 1, index: 1000)
        XCTAssertEqual(windows.check(ssrc: 1, index: 1000), .replayed)
        XCTAssertNil(windows.check(ssrc: 2, index: 1000), "another SSRC has its own window")
        // A jump further than the window forgets everything before it.
        windows.accept(ssrc: 1, index: 1500)
        XCTAssertEqual(windows.check(ssrc: 1, index: 1372), .replayTooOld)
        XCTAssertNil(windows.check(ssrc: 1, index: 1373))
        // Steps of 1 to 127 keep what was seen in both halves of the window.
        windows.accept(ssrc: 1, index: 1430)  // 70 behind: the upper half
        windows.accept(ssrc: 1, index: 1501)
        windows.accept(ssrc: 1, index: 1565)
        XCTAssertEqual(windows.check(ssrc: 1, index: 1430), .replayTooOld, "135 behind: out of the window now")
        XCTAssertEqual(windows.check(ssrc: 1, index: 1500), .replayed)
        XCTAssertEqual(windows.check(ssrc: 1, index: 1501), .replayed)
        XCTAssertNil(windows.check(ssrc: 1, index: 1502))
    }
}

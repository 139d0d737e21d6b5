import NIOCore
@testable import SRTP
import XCTest

/// The OpenSSL SRTCP sender against libsrtp2 as the reference: the same compound packets, protected by both, are the
/// same bytes, per SSRC and index, and libsrtp2 opens what the sender wrote.
final class SRTCPSenderTests: XCTestCase {
    private let key: [UInt8] = (0..<16).map { UInt8(truncatingIfNeeded: 0x17 &+ $0 &* 29) }

    private func salt(_ profile: SRTPProfile) -> [UInt8] {
        (0..<profile.saltLength).map { UInt8(truncatingIfNeeded: 0xE1 &- $0 &* 13) }
    }

    /// A compound sender report: SR with no report block, then an SDES-sized chunk; `words` varies the length.
    private func senderReport(ssrc: UInt32, seed: UInt8, words: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x80))
        buffer.writeInteger(UInt8(200))
        buffer.writeInteger(UInt16(6))
        buffer.writeInteger(ssrc)
        buffer.writeBytes((0..<20).map { UInt8(truncatingIfNeeded: Int(seed) &+ $0 &* 5) })
        buffer.writeInteger(UInt8(0x81))
        buffer.writeInteger(UInt8(202))
        buffer.writeInteger(UInt16(words))
        buffer.writeInteger(ssrc)
        buffer.writeBytes((0..<words * 4 - 4).map { UInt8(truncatingIfNeeded: Int(seed) &* 3 &+ $0) })
        return buffer
    }

    func testWritesWhatLibsrtpWrites() throws {
        for profile in SRTPProfile.allCases {
            let mine = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .outbound)
            let reference = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .outbound,
                                            openSSLForRTP: false)
            let opener = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .inbound,
                                         openSSLForRTP: false)
            // Two SSRCs (video and audio sender reports) interleaved, each counting its own index; lengths varying.
            for index in 0..<300 {
                let ssrc: UInt32 = index % 4 == 0 ? 0x5EED_0001 : 0x0BAD_CAFE
                let original = senderReport(ssrc: ssrc, seed: UInt8(truncatingIfNeeded: index), words: 1 + index % 30)
                var protected = original
                var expected = original
                try mine.protectRTCP(&protected)
                try reference.protectRTCP(&expected)
                XCTAssertEqual(Array(protected.readableBytesView), Array(expected.readableBytesView), "\(profile) packet \(index)")
                XCTAssertEqual(protected.readableBytes, original.readableBytes + 4 + profile.rtpOverhead)
                try opener.unprotectRTCP(&protected)
                XCTAssertEqual(Array(protected.readableBytesView), Array(original.readableBytesView), "\(profile) packet \(index)")
            }
        }
    }

    func testProtectsAtAnOffsetAndGrowsTheBuffer() throws {
        for profile in SRTPProfile.allCases {
            let mine = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .outbound)
            let opener = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .inbound)
            let original = senderReport(ssrc: 42, seed: 9, words: 3)
            // Readable bytes that start inside the buffer, and no spare capacity for the trailer.
            var buffer = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE] + Array(original.readableBytesView))
            buffer.moveReaderIndex(forwardBy: 3)
            try mine.protectRTCP(&buffer)
            XCTAssertEqual(buffer.readableBytes, original.readableBytes + 4 + profile.rtpOverhead)
            try opener.unprotectRTCP(&buffer)
            XCTAssertEqual(Array(buffer.readableBytesView), Array(original.readableBytesView))
        }
    }

    func testTooShortIsATypedError() throws {
        for profile in SRTPProfile.allCases {
            let mine = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .outbound)
            var short = ByteBuffer(bytes: [0x80, 200, 0, 1, 0, 0, 0])
            XCTAssertThrowsError(try mine.protectRTCP(&short)) { error in
                XCTAssertEqual(error as? SRTPError, .packetTooShort(length: 7))
            }
        }
    }
}

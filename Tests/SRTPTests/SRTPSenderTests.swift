import NIOCore
@testable import SRTP
import XCTest

/// The OpenSSL sender against libsrtp2 as the reference: for the same key and the same packets both must write the
/// same bytes, through sequence-number wraps, retransmissions after a wrap, several SSRCs, CSRCs and extensions.
final class SRTPSenderTests: XCTestCase {
    private let key: [UInt8] = (0..<16).map { UInt8(0x31 &+ $0 &* 13) }

    private func salt(_ profile: SRTPProfile) -> [UInt8] {
        (0..<profile.saltLength).map { UInt8(0xC4 &- $0 &* 7) }
    }

    /// V=2; `csrcs` CSRCs; with `extensionWords` > 0 a one-byte-header extension block of that many words.
    private func packet(sequence: UInt16, ssrc: UInt32, payload: Int, csrcs: Int = 0, extensionWords: Int = 0) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x80 | (extensionWords > 0 ? 0x10 : 0) | UInt8(csrcs)))
        buffer.writeInteger(UInt8(96))
        buffer.writeInteger(sequence)
        buffer.writeInteger(UInt32(3000) &* UInt32(sequence))
        buffer.writeInteger(ssrc)
        for index in 0..<csrcs { buffer.writeInteger(UInt32(0xAA00 + index)) }
        if extensionWords > 0 {
            buffer.writeInteger(UInt16(0xBEDE))
            buffer.writeInteger(UInt16(extensionWords))
            buffer.writeBytes((0..<extensionWords * 4).map { UInt8(truncatingIfNeeded: $0 &+ 0x10) })
        }
        buffer.writeBytes((0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(sequence)) })
        return buffer
    }

    private func compare(_ profile: SRTPProfile, packets: [ByteBuffer], file: StaticString = #filePath, line: UInt = #line) throws {
        let fast = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .outbound)
        let reference = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .outbound, openSSLForRTP: false)
        let inbound = try SRTPSession(profile: profile, key: key, salt: salt(profile), direction: .inbound)
        for (index, original) in packets.enumerated() {
            var mine = original
            var theirs = original
            try fast.protect(&mine)
            try reference.protect(&theirs)
            XCTAssertEqual(Array(mine.readableBytesView), Array(theirs.readableBytesView),
                           "\(profile) packet \(index) (sequence \(original.getInteger(at: 2, as: UInt16.self)!))",
                           file: file, line: line)
            XCTAssertEqual(mine.readableBytes, original.readableBytes + profile.rtpOverhead, file: file, line: line)
            // Retransmissions repeat an index, which the inbound replay check refuses; decrypt first sightings only.
            if !packets[..<index].contains(original) {
                try inbound.unprotect(&mine)
                XCTAssertEqual(mine, original, "\(profile) packet \(index) decrypts", file: file, line: line)
            }
        }
    }

    func testSameBytesAsLibsrtpForPlainPackets() throws {
        for profile in SRTPProfile.allCases {
            try compare(profile, packets: (0..<20).map { packet(sequence: 1000 + UInt16($0), ssrc: 0x0102_0304, payload: 40 + $0 * 61) })
        }
    }

    func testSameBytesAsLibsrtpWithCSRCsAndExtensions() throws {
        for profile in SRTPProfile.allCases {
            try compare(profile, packets: [
                packet(sequence: 7, ssrc: 0xDEAD_BEEF, payload: 1100, extensionWords: 2),
                packet(sequence: 8, ssrc: 0xDEAD_BEEF, payload: 900, csrcs: 3, extensionWords: 1),
                packet(sequence: 9, ssrc: 0xDEAD_BEEF, payload: 1, csrcs: 15),
                packet(sequence: 10, ssrc: 0xDEAD_BEEF, payload: 0),
            ])
        }
    }

    /// Across 65535 → 0 the rollover counter goes to 1; a packet from before the wrap sent again afterwards (a
    /// retransmission) keeps counter 0, and a second SSRC has its own counter.
    func testSameBytesAsLibsrtpAcrossASequenceWrapAndRetransmissions() throws {
        for profile in SRTPProfile.allCases {
            var packets: [ByteBuffer] = []
            for sequence in UInt16(65_530)...UInt16.max { packets.append(packet(sequence: sequence, ssrc: 5, payload: 300)) }
            packets.append(packet(sequence: 40_000, ssrc: 6, payload: 200))
            for sequence in UInt16(0)..<6 { packets.append(packet(sequence: sequence, ssrc: 5, payload: 300)) }
            packets.append(packet(sequence: 65_533, ssrc: 5, payload: 300))
            packets.append(packet(sequence: 3, ssrc: 5, payload: 300))
            packets.append(packet(sequence: 40_001, ssrc: 6, payload: 200))
            try compare(profile, packets: packets)
        }
    }

    /// Every payload length from 0 to 80 bytes (each tail of a 16-byte block, with and without a whole 64-byte run of
    /// four blocks before it) and lengths around the packetizer's maximum, with headers of 12 to 40 bytes.
    func testSameBytesAsLibsrtpForEveryTailLength() throws {
        var packets = (0...80).map { packet(sequence: 2000 + UInt16($0), ssrc: 0x0A0B_0C0D, payload: $0, csrcs: $0 % 4) }
        packets += (1150...1170).map { packet(sequence: 3000 + UInt16($0 - 1150), ssrc: 0x0A0B_0C0D, payload: $0, extensionWords: 2) }
        try compare(.aeadAES128GCM, packets: packets)
    }

    func testRolloverCounterFollowsWrapsAndLatePackets() {
        var counters = RolloverCounters()
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 65_000), 0)
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 65_535), 0)
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 2), 1)
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 65_400), 0, "sent before the wrap")
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 1), 1, "older but after the wrap")
        XCTAssertEqual(counters.counter(ssrc: 2, sequenceNumber: 9), 0)
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 30_000), 1)
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 60_000), 1)
        XCTAssertEqual(counters.counter(ssrc: 1, sequenceNumber: 10), 2)
    }

    func testProtectIntoRawStorage() throws {
        let sender = try SRTPSender(profile: .aeadAES128GCM, key: key, salt: salt(.aeadAES128GCM))
        let original = packet(sequence: 77, ssrc: 9, payload: 500)
        var storage = [UInt8](repeating: 0, count: 600)
        original.withUnsafeReadableBytes { bytes in storage.withUnsafeMutableBytes { $0.copyMemory(from: bytes) } }
        let tooSmall = storage.withUnsafeMutableBytes { sender.protect($0.baseAddress!, length: original.readableBytes, capacity: 515) }
        XCTAssertThrowsError(try tooSmall.get(), "no room for the tag")
        let length = try storage.withUnsafeMutableBytes {
            try sender.protect($0.baseAddress!, length: original.readableBytes, capacity: $0.count).get()
        }
        XCTAssertEqual(length, original.readableBytes + 16)
        var check = ByteBuffer(bytes: storage[..<length])
        let inbound = try SRTPSession(profile: .aeadAES128GCM, key: key, salt: salt(.aeadAES128GCM), direction: .inbound)
        try inbound.unprotect(&check)
        XCTAssertEqual(check, original)
    }
}

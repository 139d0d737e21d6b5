import NIOCore
import SRTP
import XCTest

final class SRTPSessionTests: XCTestCase {
    private let gcmKey = Array<UInt8>(0x00...0x0F)
    private let gcmSalt = Array<UInt8>(0xA0...0xAB)
    private let cmKey: [UInt8] = [0xE1, 0xF9, 0x7A, 0x0D, 0x3E, 0x01, 0x8B, 0xE0, 0xD6, 0x4F, 0xA3, 0x2C, 0x06, 0xDE, 0x41, 0x39]
    private let cmSalt: [UInt8] = [0x0E, 0xC6, 0x75, 0xAD, 0x49, 0x8A, 0xFE, 0xEB, 0xB6, 0x96, 0x0B, 0x3A, 0xAB, 0xE6]

    private func keys(_ profile: SRTPProfile) -> (key: [UInt8], salt: [UInt8]) {
        switch profile {
        case .aeadAES128GCM: (gcmKey, gcmSalt)
        case .aes128CMHMACSHA1_80: (cmKey, cmSalt)
        }
    }

    private func pair(_ profile: SRTPProfile) throws -> (outbound: SRTPSession, inbound: SRTPSession) {
        let (key, salt) = keys(profile)
        return (try SRTPSession(profile: profile, key: key, salt: salt, direction: .outbound),
                try SRTPSession(profile: profile, key: key, salt: salt, direction: .inbound))
    }

    /// A VP8-sized RTP packet: V=2, PT 96, the given sequence number, SSRC 0x11223344.
    private func rtpPacket(sequence: UInt16, payloadLength: Int = 1000) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x80))
        buffer.writeInteger(UInt8(96))
        buffer.writeInteger(sequence)
        buffer.writeInteger(UInt32(90_000) &* UInt32(sequence))
        buffer.writeInteger(UInt32(0x1122_3344))
        buffer.writeBytes((0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        return buffer
    }

    /// An RTCP receiver report with one report block.
    private func rtcpReceiverReport() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x81))
        buffer.writeInteger(UInt8(201))
        buffer.writeInteger(UInt16(7))
        buffer.writeInteger(UInt32(1))
        buffer.writeBytes([UInt8](repeating: 0x5A, count: 24))
        return buffer
    }

    private func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = text.filter(\.isHexDigit).makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            bytes.append(UInt8(String([high, low]), radix: 16)!)
        }
        return bytes
    }

    func testProfilesHaveRFCKeyAndSaltLengths() {
        XCTAssertEqual(SRTPProfile.aeadAES128GCM.keyLength, 16)
        XCTAssertEqual(SRTPProfile.aeadAES128GCM.saltLength, 12)
        XCTAssertEqual(SRTPProfile.aes128CMHMACSHA1_80.keyLength, 16)
        XCTAssertEqual(SRTPProfile.aes128CMHMACSHA1_80.saltLength, 14)
        XCTAssertTrue(SRTPLibrary.initialize())
        XCTAssertTrue(SRTPLibrary.version.contains("2."), SRTPLibrary.version)
    }

    // Reference packets of libsrtp2's own validation driver (srtp_validate / srtp_validate_gcm).
    func testAESCMKnownAnswer() throws {
        let (outbound, inbound) = try pair(.aes128CMHMACSHA1_80)
        let plain = hex("800f1234decafbadcafebabe") + [UInt8](repeating: 0xAB, count: 16)
        var packet = ByteBuffer(bytes: plain)
        try outbound.protect(&packet)
        XCTAssertEqual(Array(packet.readableBytesView),
                       hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb"))
        try inbound.unprotect(&packet)
        XCTAssertEqual(Array(packet.readableBytesView), plain)

        let plainRTCP = hex("81c8000bcafebabe") + [UInt8](repeating: 0xAB, count: 16)
        var rtcp = ByteBuffer(bytes: plainRTCP)
        try outbound.protectRTCP(&rtcp)
        XCTAssertEqual(Array(rtcp.readableBytesView),
                       hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798"))
        try inbound.unprotectRTCP(&rtcp)
        XCTAssertEqual(Array(rtcp.readableBytesView), plainRTCP)
    }

    func testAESGCMKnownAnswer() throws {
        let (outbound, inbound) = try pair(.aeadAES128GCM)
        let plain = hex("800f1234decafbadcafebabe") + [UInt8](repeating: 0xAB, count: 16)
        var packet = ByteBuffer(bytes: plain)
        try outbound.protect(&packet)
        XCTAssertEqual(Array(packet.readableBytesView),
                       hex("800f1234decafbadcafebabe c5002ede04cfdd2eb91159e0880aa06e d2976826f796b201df3131a127e8a392"))
        try inbound.unprotect(&packet)
        XCTAssertEqual(Array(packet.readableBytesView), plain)

        let plainRTCP = hex("81c8000bcafebabe") + [UInt8](repeating: 0xAB, count: 16)
        var rtcp = ByteBuffer(bytes: plainRTCP)
        try outbound.protectRTCP(&rtcp)
        XCTAssertEqual(Array(rtcp.readableBytesView),
                       hex("81c8000bcafebabe c98b8b5df0392a55852b6c21ac8e7025 c52c6fbea2b3b446ea31123ba88ce61e 80000001"))
        try inbound.unprotectRTCP(&rtcp)
        XCTAssertEqual(Array(rtcp.readableBytesView), plainRTCP)
    }

    func testRTPRoundTripBothProfiles() throws {
        for profile in SRTPProfile.allCases {
            let (outbound, inbound) = try pair(profile)
            for sequence in UInt16(100)..<110 {
                let original = rtpPacket(sequence: sequence)
                var packet = original
                try outbound.protect(&packet)
                XCTAssertEqual(packet.readableBytes, original.readableBytes + profile.rtpOverhead, "\(profile)")
                XCTAssertEqual(packet.getBytes(at: packet.readerIndex, length: 12), original.getBytes(at: 0, length: 12))
                XCTAssertNotEqual(packet.getBytes(at: packet.readerIndex + 12, length: 32),
                                  original.getBytes(at: 12, length: 32), "payload must be encrypted")
                try inbound.unprotect(&packet)
                XCTAssertEqual(packet, original, "\(profile)")
            }
        }
    }

    func testRTCPRoundTripBothProfiles() throws {
        for profile in SRTPProfile.allCases {
            let (outbound, inbound) = try pair(profile)
            for _ in 0..<3 {
                let original = rtcpReceiverReport()
                var packet = original
                try outbound.protectRTCP(&packet)
                // SRTCP appends the E-flag/index word and the tag.
                XCTAssertEqual(packet.readableBytes, original.readableBytes + 4 + profile.rtpOverhead, "\(profile)")
                try inbound.unprotectRTCP(&packet)
                XCTAssertEqual(packet, original, "\(profile)")
            }
        }
    }

    func testProtectWorksInPlaceAfterAReaderOffset() throws {
        let (outbound, inbound) = try pair(.aeadAES128GCM)
        var buffer = ByteBuffer()
        buffer.writeBytes([0xFF, 0xFF, 0xFF])
        var rtp = rtpPacket(sequence: 7, payloadLength: 50)
        buffer.writeBuffer(&rtp)
        buffer.moveReaderIndex(forwardBy: 3)
        try outbound.protect(&buffer)
        XCTAssertEqual(buffer.readerIndex, 3)
        XCTAssertEqual(buffer.withVeryUnsafeBytes { Array($0[0..<3]) }, [0xFF, 0xFF, 0xFF], "bytes before the packet untouched")
        try inbound.unprotect(&buffer)
        XCTAssertEqual(Array(buffer.readableBytesView), Array(rtpPacket(sequence: 7, payloadLength: 50).readableBytesView))
    }

    func testProtectDoesNotReallocateWhenCapacityIsThere() throws {
        let (outbound, _) = try pair(.aes128CMHMACSHA1_80)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(1200 + SRTPSession.maximumTrailerLength)
        func storageAddress(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
            buffer.withVeryUnsafeBytes { $0.baseAddress }
        }
        let before = storageAddress(buffer)
        let capacity = buffer.capacity
        for sequence in UInt16(1)...20 {
            buffer.clear()
            var packet = rtpPacket(sequence: sequence, payloadLength: 1188)
            buffer.writeBuffer(&packet)
            try outbound.protect(&buffer)
            XCTAssertEqual(buffer.readableBytes, 1200 + 10)
        }
        XCTAssertEqual(buffer.capacity, capacity)
        XCTAssertEqual(storageAddress(buffer), before)
    }

    func testProtectGrowsATightBuffer() throws {
        let (outbound, inbound) = try pair(.aeadAES128GCM)
        let bytes = Array(rtpPacket(sequence: 9, payloadLength: 20).readableBytesView)
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try outbound.protect(&buffer)
        XCTAssertEqual(buffer.readableBytes, bytes.count + 16)
        try inbound.unprotect(&buffer)
        XCTAssertEqual(Array(buffer.readableBytesView), bytes)
    }

    func testTamperedPacketFailsAuthentication() throws {
        for profile in SRTPProfile.allCases {
            let (outbound, inbound) = try pair(profile)
            var packet = rtpPacket(sequence: 1)
            try outbound.protect(&packet)
            let index = packet.readerIndex + 40
            packet.setInteger(packet.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
            XCTAssertThrowsError(try inbound.unprotect(&packet)) { error in
                XCTAssertEqual(error as? SRTPError, .authenticationFailed, "\(profile)")
            }

            var rtcp = rtcpReceiverReport()
            try outbound.protectRTCP(&rtcp)
            rtcp.setInteger(rtcp.getInteger(at: 10, as: UInt8.self)! ^ 0x80, at: 10)
            XCTAssertThrowsError(try inbound.unprotectRTCP(&rtcp)) { error in
                XCTAssertEqual(error as? SRTPError, .authenticationFailed, "\(profile)")
            }
        }
    }

    func testReplayedPacketIsRejected() throws {
        for profile in SRTPProfile.allCases {
            let (outbound, inbound) = try pair(profile)
            var packet = rtpPacket(sequence: 500)
            try outbound.protect(&packet)
            var copy = packet
            try inbound.unprotect(&packet)
            XCTAssertThrowsError(try inbound.unprotect(&copy)) { error in
                XCTAssertEqual(error as? SRTPError, .replayed, "\(profile)")
            }

            var rtcp = rtcpReceiverReport()
            try outbound.protectRTCP(&rtcp)
            var rtcpCopy = rtcp
            try inbound.unprotectRTCP(&rtcp)
            XCTAssertThrowsError(try inbound.unprotectRTCP(&rtcpCopy)) { error in
                XCTAssertEqual(error as? SRTPError, .replayed, "\(profile)")
            }
        }
    }

    func testRetransmissionOfTheSameSequenceNumberIsAllowedOutbound() throws {
        let (outbound, inbound) = try pair(.aeadAES128GCM)
        var first = rtpPacket(sequence: 42)
        var resend = rtpPacket(sequence: 42)
        try outbound.protect(&first)
        try outbound.protect(&resend)
        XCTAssertEqual(first, resend, "same key, index and payload give the same SRTP packet")
        try inbound.unprotect(&first)
    }

    func testDifferentKeysDoNotInteroperate() throws {
        for profile in SRTPProfile.allCases {
            let (key, salt) = keys(profile)
            var otherKey = key
            otherKey[0] ^= 0xFF
            let outbound = try SRTPSession(profile: profile, key: key, salt: salt, direction: .outbound)
            let inbound = try SRTPSession(profile: profile, key: otherKey, salt: salt, direction: .inbound)
            var packet = rtpPacket(sequence: 3)
            try outbound.protect(&packet)
            XCTAssertThrowsError(try inbound.unprotect(&packet)) { error in
                XCTAssertEqual(error as? SRTPError, .authenticationFailed)
            }
        }
    }

    func testWrongKeyLengthsAreRefused() {
        XCTAssertThrowsError(try SRTPSession(profile: .aeadAES128GCM, key: gcmKey, salt: cmSalt, direction: .outbound)) {
            XCTAssertEqual($0 as? SRTPError, .invalidKeyLength(expected: 12, actual: 14))
        }
        XCTAssertThrowsError(try SRTPSession(profile: .aes128CMHMACSHA1_80, key: [1, 2, 3], salt: cmSalt, direction: .inbound)) {
            XCTAssertEqual($0 as? SRTPError, .invalidKeyLength(expected: 16, actual: 3))
        }
    }

    func testTooShortInputIsATypedError() throws {
        let (outbound, inbound) = try pair(.aes128CMHMACSHA1_80)
        var empty = ByteBuffer()
        XCTAssertThrowsError(try inbound.unprotect(&empty)) { XCTAssertEqual($0 as? SRTPError, .packetTooShort(length: 0)) }
        var short = ByteBuffer(bytes: [0x80, 0x60, 0x00])
        XCTAssertThrowsError(try outbound.protect(&short)) { XCTAssertEqual($0 as? SRTPError, .packetTooShort(length: 3)) }
        var shortRTCP = ByteBuffer(bytes: [0x81, 0xC9, 0x00, 0x01])
        XCTAssertThrowsError(try inbound.unprotectRTCP(&shortRTCP)) { XCTAssertEqual($0 as? SRTPError, .packetTooShort(length: 4)) }
        // A header alone has no room for the tag.
        var headerOnly = ByteBuffer(bytes: Array(rtpPacket(sequence: 1, payloadLength: 0).readableBytesView))
        XCTAssertThrowsError(try inbound.unprotect(&headerOnly))
    }

    func testGarbageIsRejectedWithoutCrashing() throws {
        var generator = SystemRandomNumberGenerator()
        for profile in SRTPProfile.allCases {
            let (_, inbound) = try pair(profile)
            for round in 0..<2000 {
                let length = Int.random(in: 0...300, using: &generator)
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if round.isMultiple(of: 2), !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
                var packet = ByteBuffer(bytes: bytes)
                XCTAssertThrowsError(try inbound.unprotect(&packet))
                var rtcp = ByteBuffer(bytes: bytes)
                XCTAssertThrowsError(try inbound.unprotectRTCP(&rtcp))
            }
        }
    }

    func testHeaderWithCSRCsLongerThanThePacketIsRejected() throws {
        let (outbound, _) = try pair(.aeadAES128GCM)
        // CC = 15 claims 60 bytes of CSRCs after a 12-byte header, but only 4 payload bytes follow.
        var packet = ByteBuffer(bytes: [0x8F, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4])
        XCTAssertThrowsError(try outbound.protect(&packet))
    }
}

import NIOCore
import STUN
import XCTest
import TestSupport

final class STUNHostileInputTests: XCTestCase {
    private func parseError(_ bytes: [UInt8]) -> STUNParseError? {
        do {
            _ = try STUNMessage(parsing: bytes)
            return nil
        } catch {
            return error
        }
    }

    func testHeaderChecks() {
        XCTAssertEqual(parseError([]), .truncatedHeader(available: 0))
        XCTAssertEqual(parseError(Array(RFC5769.request[0..<19])), .truncatedHeader(available: 19))
        var rtp = RFC5769.request
        rtp[0] = 0x80
        XCTAssertEqual(parseError(rtp), .notSTUN(firstByte: 0x80))
        var cookie = RFC5769.request
        cookie[4] = 0x22
        XCTAssertEqual(parseError(cookie), .badMagicCookie(0x2212_A442))
        var odd = RFC5769.request
        odd[3] = 0x57
        XCTAssertEqual(parseError(odd), .lengthNotMultipleOfFour(0x57))
        var long = RFC5769.request
        long[3] = 0x5C
        XCTAssertEqual(parseError(long), .lengthMismatch(declared: 0x5C, available: 0x58))
    }

    /// Every prefix of a valid message is refused with a typed error, never a crash.
    func testEveryTruncationIsRefused() {
        for vector in [RFC5769.request, RFC5769.ipv4Response, RFC5769.ipv6Response] {
            for length in 0..<vector.count {
                let error = parseError(Array(vector[0..<length]))
                XCTAssertNotNil(error, "prefix of \(length) bytes parsed")
                if length < 20 {
                    XCTAssertEqual(error, .truncatedHeader(available: length))
                } else {
                    XCTAssertEqual(error, .lengthMismatch(declared: vector.count - 20, available: length - 20))
                }
            }
        }
    }

    /// A header length fixed up to match a truncated body leaves the last attribute lying.
    func testLyingAttributeLength() {
        var bytes: [UInt8] = [0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42] + RFC5769.transactionID
        bytes += [0x00, 0x06, 0x00, 0x09, 0x61, 0x62, 0x63, 0x64] // USERNAME claims 9 bytes, 4 follow
        XCTAssertEqual(parseError(bytes), .attributeOverrunsMessage(type: 0x0006, offset: 20, declaredLength: 9))
        bytes[22] = 0xFF
        bytes[23] = 0xFF
        XCTAssertEqual(parseError(bytes), .attributeOverrunsMessage(type: 0x0006, offset: 20, declaredLength: 0xFFFF))
        bytes[22] = 0
        bytes[23] = 4
        XCTAssertNotNil(try? STUNMessage(parsing: bytes))
    }

    func testThousandTinyAttributesRefused() {
        var bytes: [UInt8] = [0x00, 0x01, 0x0F, 0xA0, 0x21, 0x12, 0xa4, 0x42] + RFC5769.transactionID
        for _ in 0..<1000 { bytes += [0x80, 0x22, 0x00, 0x00] }
        XCTAssertEqual(bytes.count - 20, 0x0FA0)
        XCTAssertEqual(parseError(bytes), .tooManyAttributes(limit: STUNMessage.maximumAttributeCount))
    }

    func testMalformedAttributeValuesGiveNil() throws {
        var bytes: [UInt8] = [0x00, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42] + RFC5769.transactionID
        bytes += [0x00, 0x24, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00] // PRIORITY with 2 bytes
        bytes += [0x00, 0x20, 0x00, 0x04, 0x00, 0x07, 0x00, 0x00] // XOR-MAPPED-ADDRESS, family 7
        bytes += [0x00, 0x06, 0x00, 0x02, 0xC3, 0x28, 0x00, 0x00] // USERNAME, invalid UTF-8
        let message = try STUNMessage(parsing: bytes)
        XCTAssertNil(message.priority)
        XCTAssertNil(message.xorMappedAddress)
        XCTAssertNil(message.username)
        XCTAssertFalse(message.verifyMessageIntegrity(password: "x"))
        XCTAssertFalse(message.verifyFingerprint())
    }

    /// Random bytes, and random bytes behind a valid header, must never crash the parser.
    func testRandomInputNeverCrashes() {
        var generator = SplitMix64(seed: 0x5354_554E)
        var parsed = 0
        for round in 0..<10_000 {
            let length = Int(generator.next() % 200)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if round % 2 == 0, length >= 20 {
                // Make the header plausible so the attribute walk is exercised too.
                bytes[0] &= 0x01
                bytes[2] = UInt8((length - 20) >> 8)
                bytes[3] = UInt8((length - 20) & 0xFC)
                bytes.removeLast((length - 20) % 4)
                bytes.replaceSubrange(4..<8, with: [0x21, 0x12, 0xa4, 0x42])
            }
            if let message = try? STUNMessage(parsing: bytes) {
                parsed += 1
                _ = message.username
                _ = message.priority
                _ = message.xorMappedAddress
                _ = message.errorCode
                _ = message.verifyMessageIntegrity(password: "pw")
                _ = message.verifyFingerprint()
            }
        }
        XCTAssertGreaterThan(parsed, 0, "the plausible-header rounds should sometimes parse")
    }
}

import NIOCore
import STUN
import XCTest

final class RFC5769VectorTests: XCTestCase {
    func testSampleRequestParses() throws {
        let message = try STUNMessage(parsing: RFC5769.request)
        XCTAssertEqual(message.messageClass, .request)
        XCTAssertEqual(message.method, .binding)
        XCTAssertEqual(message.transactionID.bytes, RFC5769.transactionID)
        XCTAssertEqual(message.username, "evtj:h6vY")
        XCTAssertEqual(message.software, "STUN test client")
        XCTAssertEqual(message.priority, 0x6e00_01ff)
        XCTAssertEqual(message.iceControlled, 0x932f_f9b1_5126_3b36)
        XCTAssertNil(message.iceControlling)
        XCTAssertFalse(message.useCandidate)
        XCTAssertEqual(message.attributes.map(\.type), [.software, .priority, .iceControlled, .username,
                                                       .messageIntegrity, .fingerprint])
    }

    func testSampleRequestIntegrityAndFingerprint() throws {
        let message = try STUNMessage(parsing: RFC5769.request)
        XCTAssertTrue(message.verifyMessageIntegrity(password: RFC5769.password))
        XCTAssertFalse(message.verifyMessageIntegrity(password: "VOkJxbRl1RmTxUk/WvJxBu"))
        XCTAssertFalse(message.verifyMessageIntegrity(password: ""))
        XCTAssertTrue(message.verifyFingerprint())
    }

    func testIPv4Response() throws {
        let message = try STUNMessage(parsing: ByteBuffer(bytes: RFC5769.ipv4Response))
        XCTAssertEqual(message.messageClass, .successResponse)
        XCTAssertEqual(message.method, .binding)
        XCTAssertEqual(message.software, "test vector")
        XCTAssertEqual(message.xorMappedAddress, try SocketAddress(ipAddress: "192.0.2.1", port: 32853))
        XCTAssertTrue(message.verifyMessageIntegrity(password: RFC5769.password))
        XCTAssertFalse(message.verifyMessageIntegrity(password: "wrong"))
        XCTAssertTrue(message.verifyFingerprint())
    }

    func testIPv6Response() throws {
        let message = try STUNMessage(parsing: RFC5769.ipv6Response)
        XCTAssertEqual(message.xorMappedAddress,
                       try SocketAddress(ipAddress: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853))
        XCTAssertTrue(message.verifyMessageIntegrity(password: RFC5769.password))
        XCTAssertFalse(message.verifyMessageIntegrity(password: "wrong"))
        XCTAssertTrue(message.verifyFingerprint())
    }

    /// Flipping any one byte after the header must break MESSAGE-INTEGRITY (bytes it covers) or
    /// FINGERPRINT (everything), or make the message unparsable.
    func testEveryTamperedByteIsCaught() throws {
        for index in 20..<RFC5769.request.count {
            var bytes = RFC5769.request
            bytes[index] ^= 0x01
            guard let message = try? STUNMessage(parsing: bytes) else { continue }
            XCTAssertFalse(message.verifyMessageIntegrity(password: RFC5769.password) && message.verifyFingerprint(),
                           "tampering byte \(index) went unnoticed")
            if index < 100 { // bytes before FINGERPRINT's own header are covered by the CRC
                XCTAssertFalse(message.verifyFingerprint(), "byte \(index)")
            }
        }
        var usernameTampered = RFC5769.request
        usernameTampered[64] = 0x66 // "evtj" -> "fvtj"
        let message = try STUNMessage(parsing: usernameTampered)
        XCTAssertFalse(message.verifyMessageIntegrity(password: RFC5769.password))
    }

    func testFingerprintMustBeLast() throws {
        // Append a SOFTWARE attribute after FINGERPRINT and fix the length.
        var bytes = RFC5769.request + [0x80, 0x22, 0x00, 0x00]
        bytes[3] += 4
        XCTAssertThrowsError(try STUNMessage(parsing: bytes)) { error in
            XCTAssertEqual(error as? STUNParseError, .attributeAfterFingerprint(type: 0x8022))
        }
    }
}

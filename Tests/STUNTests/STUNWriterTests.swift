import NIOCore
import STUN
import XCTest

final class STUNWriterTests: XCTestCase {
    let id = STUNTransactionID(bytes: RFC5769.transactionID)!

    func testTransactionIDBytes() {
        XCTAssertEqual(id.bytes, RFC5769.transactionID)
        XCTAssertEqual(id.description, "b7e7a701bc34d686fa87dfae")
        XCTAssertNil(STUNTransactionID(bytes: [1, 2, 3]))
        XCTAssertNotEqual(STUNTransactionID.random(), STUNTransactionID.random())
    }

    func testMessageTypeEncoding() {
        XCTAssertEqual(STUNMessageType(messageClass: .request, method: .binding).rawValue, 0x0001)
        XCTAssertEqual(STUNMessageType(messageClass: .indication, method: .binding).rawValue, 0x0011)
        XCTAssertEqual(STUNMessageType(messageClass: .successResponse, method: .binding).rawValue, 0x0101)
        XCTAssertEqual(STUNMessageType(messageClass: .errorResponse, method: .binding).rawValue, 0x0111)
        for raw in UInt16(0)...0x3FFF {
            XCTAssertEqual(STUNMessageType(rawValue: raw).rawValue, raw)
        }
    }

    /// Our writer must reproduce the XOR-MAPPED-ADDRESS bytes of RFC 5769 §2.2.
    func testIPv4SuccessResponseMatchesVectorAddressBytes() throws {
        let address = try SocketAddress(ipAddress: "192.0.2.1", port: 32853)
        let bytes = STUNMessage.bindingSuccessResponse(transactionID: id, mappedAddress: address, password: RFC5769.password)
        XCTAssertEqual(Array(bytes[0..<4]), [0x01, 0x01, 0x00, 0x2c]) // 12 + 24 + 8 bytes of attributes
        XCTAssertEqual(Array(bytes[20..<32]), [0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43])
        let message = try STUNMessage(parsing: bytes)
        XCTAssertEqual(message.messageClass, .successResponse)
        XCTAssertEqual(message.transactionID, id)
        XCTAssertEqual(message.xorMappedAddress, address)
        XCTAssertTrue(message.verifyMessageIntegrity(password: RFC5769.password))
        XCTAssertFalse(message.verifyMessageIntegrity(password: "other"))
        XCTAssertTrue(message.verifyFingerprint())
    }

    func testIPv6SuccessResponseRoundTrip() throws {
        let address = try SocketAddress(ipAddress: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853)
        let bytes = STUNMessage.bindingSuccessResponse(transactionID: id, mappedAddress: address, password: "pw")
        XCTAssertEqual(Array(bytes[24..<44]), [0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
                                               0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9])
        let message = try STUNMessage(parsing: bytes)
        XCTAssertEqual(message.xorMappedAddress, address)
        XCTAssertTrue(message.verifyMessageIntegrity(password: "pw"))
        XCTAssertTrue(message.verifyFingerprint())
    }

    func testErrorResponseRoundTrip() throws {
        for (code, reason) in [(400, "Bad Request"), (401, "Unauthorized"), (487, "Role Conflict")] {
            let signed = STUNMessage.bindingErrorResponse(transactionID: id, code: code, reason: reason, password: "pw")
            let message = try STUNMessage(parsing: signed)
            XCTAssertEqual(message.messageClass, .errorResponse)
            XCTAssertEqual(message.errorCode, STUNErrorCode(code: code, reason: reason))
            XCTAssertTrue(message.verifyMessageIntegrity(password: "pw"))
            XCTAssertTrue(message.verifyFingerprint())

            let unsigned = try STUNMessage(parsing: STUNMessage.bindingErrorResponse(
                transactionID: id, code: code, reason: reason, password: nil))
            XCTAssertFalse(unsigned.hasMessageIntegrity)
            XCTAssertFalse(unsigned.verifyMessageIntegrity(password: "pw"))
            XCTAssertTrue(unsigned.verifyFingerprint())
            XCTAssertEqual(unsigned.errorCode?.code, code)
        }
        // ERROR-CODE bytes for 487: class 4, number 87.
        let bytes = STUNMessage.bindingErrorResponse(transactionID: id, code: 487, reason: "", password: nil)
        XCTAssertEqual(Array(bytes[20..<28]), [0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x04, 87])
    }

    func testBindingRequestRoundTrip() throws {
        let bytes = STUNMessage.bindingRequest(transactionID: id, username: "abcd:efgh", password: "secretsecretsecretsecret",
                                               priority: 0x6e00_01ff, useCandidate: true,
                                               controlling: 0x0102_0304_0506_0708)
        let message = try STUNMessage(parsing: bytes)
        XCTAssertEqual(message.messageClass, .request)
        XCTAssertEqual(message.method, .binding)
        XCTAssertEqual(message.username, "abcd:efgh")
        XCTAssertEqual(message.priority, 0x6e00_01ff)
        XCTAssertEqual(message.iceControlling, 0x0102_0304_0506_0708)
        XCTAssertNil(message.iceControlled)
        XCTAssertTrue(message.useCandidate)
        XCTAssertTrue(message.verifyMessageIntegrity(password: "secretsecretsecretsecret"))
        XCTAssertFalse(message.verifyMessageIntegrity(password: "secretsecretsecretsecreT"))
        XCTAssertTrue(message.verifyFingerprint())
        XCTAssertEqual(bytes.count % 4, 0)

        let controlled = try STUNMessage(parsing: STUNMessage.bindingRequest(
            transactionID: id, username: "a:b", password: "p", priority: 1, useCandidate: false,
            controlling: nil, controlled: 42))
        XCTAssertEqual(controlled.iceControlled, 42)
        XCTAssertNil(controlled.iceControlling)
        XCTAssertFalse(controlled.useCandidate)
    }

    func testTamperedWriterOutputFailsIntegrity() throws {
        var bytes = STUNMessage.bindingRequest(transactionID: id, username: "abcd:efgh", password: "pw",
                                               priority: 7, useCandidate: false, controlling: 9)
        bytes[26] ^= 0x40 // inside USERNAME
        let message = try STUNMessage(parsing: bytes)
        XCTAssertFalse(message.verifyMessageIntegrity(password: "pw"))
        XCTAssertFalse(message.verifyFingerprint())
    }

    /// Attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are not trusted.
    func testAttributesAfterIntegrityAreIgnored() throws {
        var bytes = STUNMessage.bindingRequest(transactionID: id, username: "a:b", password: "pw",
                                               priority: 7, useCandidate: false, controlling: 9)
        bytes.removeLast(8) // drop FINGERPRINT
        bytes += [0x00, 0x25, 0x00, 0x00] // USE-CANDIDATE smuggled after MESSAGE-INTEGRITY
        bytes[3] = UInt8(bytes.count - 20)
        let message = try STUNMessage(parsing: bytes)
        XCTAssertFalse(message.useCandidate)
        XCTAssertTrue(message.verifyMessageIntegrity(password: "pw"))
        XCTAssertFalse(message.verifyFingerprint())
    }

    func testDemultiplexing() {
        XCTAssertTrue(STUNMessage.isSTUN(firstByte: 0))
        XCTAssertTrue(STUNMessage.isSTUN(firstByte: 3))
        XCTAssertFalse(STUNMessage.isSTUN(firstByte: 4))
        XCTAssertFalse(STUNMessage.isSTUN(firstByte: 22)) // DTLS handshake
        XCTAssertFalse(STUNMessage.isSTUN(firstByte: 0x80)) // RTP
    }
}

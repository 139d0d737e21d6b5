@testable import DTLS
import NIOCore
import XCTest

final class DTLSCertificateTests: XCTestCase {
    func testFingerprintIsThirtyTwoUppercaseHexPairs() throws {
        let certificate = try DTLSCertificate.generateSelfSigned()
        let fingerprint = certificate.fingerprintSHA256
        XCTAssertEqual(fingerprint.count, 95)
        let pairs = fingerprint.split(separator: ":", omittingEmptySubsequences: false)
        XCTAssertEqual(pairs.count, 32)
        for pair in pairs {
            XCTAssertEqual(pair.count, 2)
            XCTAssertTrue(pair.allSatisfy { $0.isHexDigit && !$0.isLowercase }, String(pair))
        }
        XCTAssertEqual(DTLSCertificate.fingerprint(ofDER: certificate.derEncoded), fingerprint)
    }

    func testFingerprintIsSHA256OfTheBytes() {
        // FIPS 180-2 example: SHA-256("abc").
        XCTAssertEqual(DTLSCertificate.fingerprint(ofDER: Array("abc".utf8)),
                       "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD")
    }

    func testEveryCertificateIsNew() throws {
        let first = try DTLSCertificate.generateSelfSigned()
        let second = try DTLSCertificate.generateSelfSigned()
        XCTAssertNotEqual(first.fingerprintSHA256, second.fingerprintSHA256)
        XCTAssertNotEqual(first.derEncoded, second.derEncoded)
    }

    func testCertificateCarriesTheCommonName() throws {
        let certificate = try DTLSCertificate.generateSelfSigned(commonName: "edge-7.liverelay")
        // The subject and issuer are both the common name, DER UTF8String/PrintableString bytes.
        let der = certificate.derEncoded
        let name = Array("edge-7.liverelay".utf8)
        var occurrences = 0
        for start in 0...(der.count - name.count) where Array(der[start..<(start + name.count)]) == name {
            occurrences += 1
        }
        XCTAssertEqual(occurrences, 2, "self-signed: subject and issuer")
        XCTAssertEqual(der.first, 0x30, "a DER SEQUENCE")
    }

    func testOverlongCommonNameIsAnOpenSSLError() {
        XCTAssertThrowsError(try DTLSCertificate.generateSelfSigned(commonName: String(repeating: "x", count: 100))) { error in
            guard case .openSSL(let reasons) = error as? DTLSError else { return XCTFail("\(error)") }
            XCTAssertFalse(reasons.isEmpty)
        }
    }

    func testFingerprintMatchIgnoresCaseAndSurroundingSpace() {
        XCTAssertTrue(DTLSCertificate.fingerprintsMatch("ab:cd", " AB:CD\r\n"))
        XCTAssertFalse(DTLSCertificate.fingerprintsMatch("AB:CD", "AB:CE"))
        XCTAssertFalse(DTLSCertificate.fingerprintsMatch("", "AB:CD"))
    }
}

final class DTLSDatagramPackerTests: XCTestCase {
    private func record(type: UInt8, bodyLength: Int, fill: UInt8) -> [UInt8] {
        [type, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, UInt8(bodyLength >> 8), UInt8(bodyLength & 0xFF)]
            + [UInt8](repeating: fill, count: bodyLength)
    }

    private func pack(_ bytes: [UInt8], mtu: Int) -> [[UInt8]] {
        bytes.withUnsafeBytes {
            DTLSDatagramPacker.pack($0, mtu: mtu, allocator: ByteBufferAllocator()).map { Array($0.readableBytesView) }
        }
    }

    func testRecordsArePackedUpToTheMTU() {
        let a = record(type: 22, bodyLength: 487, fill: 1)  // 500 bytes
        let b = record(type: 22, bodyLength: 487, fill: 2)
        let c = record(type: 20, bodyLength: 1, fill: 3)
        let d = record(type: 22, bodyLength: 987, fill: 4)  // 1000 bytes
        let datagrams = pack(a + b + c + d, mtu: 1200)
        XCTAssertEqual(datagrams, [a + b + c, d])
    }

    func testARecordLargerThanTheMTUTravelsAlone() {
        let big = record(type: 22, bodyLength: 1400, fill: 9)
        let small = record(type: 21, bodyLength: 2, fill: 1)
        XCTAssertEqual(pack(small + big + small, mtu: 1200), [small, big, small])
    }

    func testTruncatedTailIsKeptNotLost() {
        let a = record(type: 22, bodyLength: 10, fill: 1)
        let tail: [UInt8] = [22, 0xFE, 0xFD, 0, 0]
        XCTAssertEqual(pack(a + tail, mtu: 1200), [a + tail])
        XCTAssertEqual(pack([], mtu: 1200), [])
    }
}

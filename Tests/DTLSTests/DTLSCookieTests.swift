import DTLS
import NIOCore
import XCTest

/// The stateless cookie exchange (RFC 6347 §4.2.1) in front of the server's handshake: a ClientHello without the
/// cookie for its address is answered with one HelloVerifyRequest, smaller than itself; one that echoes the cookie
/// goes on to a complete handshake; a cookie is good only for the address it was given to.
final class DTLSCookieTests: XCTestCase {
    private static let serverCertificate = try! DTLSCertificate.generateSelfSigned(commonName: "server")
    private static let clientCertificate = try! DTLSCertificate.generateSelfSigned(commonName: "client")
    let peer = Array("192.0.2.1:5000".utf8)

    func makeClient() throws -> DTLSConnection {
        try DTLSConnection(role: .client, certificate: Self.clientCertificate,
                           expectedPeerFingerprint: Self.serverCertificate.fingerprintSHA256)
    }

    func testCookieExchangeThenHandshake() throws {
        let context = try DTLSContext(role: .server, certificate: Self.serverCertificate)
        let gate = try DTLSConnection(context: context, expectedPeerFingerprint: nil)
        let client = try makeClient()
        _ = client.handshake()
        let hello = try XCTUnwrap(client.takeOutgoing().first)

        gate.receive(hello)
        XCTAssertEqual(gate.verifyCookie(peer: peer), .challenged)
        let challenge = gate.takeOutgoing()
        XCTAssertEqual(challenge.count, 1)
        XCTAssertLessThan(challenge[0].readableBytes, hello.readableBytes, "no amplification")
        XCTAssertEqual(challenge[0].getInteger(at: challenge[0].readerIndex + 13, as: UInt8.self), 3, "HelloVerifyRequest")

        // The same ClientHello again (a spoofed one, or a retransmission): challenged again, nothing kept.
        gate.receive(hello)
        XCTAssertEqual(gate.verifyCookie(peer: peer), .challenged)
        _ = gate.takeOutgoing()

        client.receive(challenge[0])
        _ = client.handshake()
        let withCookie = try XCTUnwrap(client.takeOutgoing().first)
        // The cookie was made for another address: refused there.
        gate.receive(withCookie)
        XCTAssertEqual(gate.verifyCookie(peer: Array("198.51.100.7:53".utf8)), .challenged)
        _ = gate.takeOutgoing()

        gate.receive(withCookie)
        XCTAssertEqual(gate.verifyCookie(peer: peer), .verified)
        gate.expect(peerFingerprint: Self.clientCertificate.fingerprintSHA256)
        var serverResult = gate.handshake()
        var clientResult = DTLSHandshakeResult.incomplete
        for _ in 0..<10 {
            for datagram in gate.takeOutgoing() { client.receive(datagram) }
            clientResult = client.handshake()
            for datagram in client.takeOutgoing() { gate.receive(datagram) }
            serverResult = gate.handshake()
        }
        guard case .complete(let serverKeys) = serverResult, case .complete(let clientKeys) = clientResult else {
            return XCTFail("handshake after the cookie: server \(serverResult), client \(clientResult)")
        }
        XCTAssertEqual(serverKeys.localKey, clientKeys.remoteKey)
        XCTAssertEqual(gate.peerFingerprint, Self.clientCertificate.fingerprintSHA256)
    }

    func testWhatIsNotAClientHelloIsDropped() throws {
        let context = try DTLSContext(role: .server, certificate: Self.serverCertificate)
        let gate = try DTLSConnection(context: context, expectedPeerFingerprint: nil)
        gate.receive(ByteBuffer(bytes: [22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]))
        XCTAssertEqual(gate.verifyCookie(peer: peer), .dropped)
        XCTAssertTrue(gate.takeOutgoing().isEmpty)
        gate.receive(ByteBuffer(bytes: Array(repeating: 23, count: 40)))
        XCTAssertEqual(gate.verifyCookie(peer: peer), .dropped)
        // Still usable for a real client afterwards.
        let client = try makeClient()
        _ = client.handshake()
        gate.receive(try XCTUnwrap(client.takeOutgoing().first))
        XCTAssertEqual(gate.verifyCookie(peer: peer), .challenged)
    }
}

import DTLS
import NIOCore
import XCTest

/// Moves datagrams between two in-memory connections, as the UDP socket would.
private struct Link {
    let client: DTLSConnection
    let server: DTLSConnection
    var clientResult: DTLSHandshakeResult = .incomplete
    var serverResult: DTLSHandshakeResult = .incomplete
    var largestDatagram = 0

    init(client: DTLSConnection, server: DTLSConnection) {
        self.client = client
        self.server = server
    }

    /// One round: the client speaks, then the server answers. `deliver` may drop a datagram.
    mutating func step(deliverToServer: (ByteBuffer) -> Bool = { _ in true },
                       deliverToClient: (ByteBuffer) -> Bool = { _ in true }) -> Bool {
        var moved = false
        clientResult = client.handshake()
        for datagram in client.takeOutgoing() {
            moved = true
            largestDatagram = max(largestDatagram, datagram.readableBytes)
            if deliverToServer(datagram) { server.receive(datagram) }
        }
        serverResult = server.handshake()
        for datagram in server.takeOutgoing() {
            moved = true
            largestDatagram = max(largestDatagram, datagram.readableBytes)
            if deliverToClient(datagram) { client.receive(datagram) }
        }
        return moved
    }

    /// Runs rounds until neither side has anything left to say.
    mutating func run(maxRounds: Int = 20) {
        var rounds = 0
        while step(), rounds < maxRounds { rounds += 1 }
        clientResult = client.handshake()
        serverResult = server.handshake()
    }
}

private func completedKeys(_ result: DTLSHandshakeResult, file: StaticString = #filePath, line: UInt = #line) -> SRTPKeyingMaterial? {
    guard case .complete(let keys) = result else {
        XCTFail("handshake not complete: \(result)", file: file, line: line)
        return nil
    }
    return keys
}

final class DTLSHandshakeTests: XCTestCase {
    // Key generation costs a few milliseconds; share certificates across tests.
    private static let serverCertificate = try! DTLSCertificate.generateSelfSigned(commonName: "server")
    private static let clientCertificate = try! DTLSCertificate.generateSelfSigned(commonName: "client")
    private static let otherCertificate = try! DTLSCertificate.generateSelfSigned(commonName: "other")

    private func makeLink(serverExpects: String? = DTLSHandshakeTests.clientCertificate.fingerprintSHA256,
                          clientExpects: String? = DTLSHandshakeTests.serverCertificate.fingerprintSHA256,
                          clientCertificate: DTLSCertificate = DTLSHandshakeTests.clientCertificate,
                          mtu: Int = 1200) throws -> Link {
        let server = try DTLSConnection(role: .server, certificate: Self.serverCertificate,
                                        expectedPeerFingerprint: serverExpects, mtu: mtu)
        let client = try DTLSConnection(role: .client, certificate: clientCertificate,
                                        expectedPeerFingerprint: clientExpects, mtu: mtu)
        return Link(client: client, server: server)
    }

    func testHandshakeDerivesMirroredKeysWithGCMPreferred() throws {
        var link = try makeLink()
        link.run()
        let serverKeys = try XCTUnwrap(completedKeys(link.serverResult))
        let clientKeys = try XCTUnwrap(completedKeys(link.clientResult))

        XCTAssertEqual(serverKeys.profile, .aeadAES128GCM)
        XCTAssertEqual(clientKeys.profile, .aeadAES128GCM)
        XCTAssertEqual(serverKeys.localKey, clientKeys.remoteKey)
        XCTAssertEqual(serverKeys.localSalt, clientKeys.remoteSalt)
        XCTAssertEqual(serverKeys.remoteKey, clientKeys.localKey)
        XCTAssertEqual(serverKeys.remoteSalt, clientKeys.localSalt)
        XCTAssertEqual(serverKeys.localKey.count, 16)
        XCTAssertEqual(serverKeys.localSalt.count, 12)
        XCTAssertNotEqual(serverKeys.localKey, serverKeys.remoteKey)
        XCTAssertNotEqual(serverKeys.localKey, [UInt8](repeating: 0, count: 16))

        XCTAssertTrue(link.server.isEstablished)
        XCTAssertTrue(link.client.isEstablished)
        XCTAssertFalse(link.server.isClosed)
        XCTAssertEqual(link.server.peerFingerprint, Self.clientCertificate.fingerprintSHA256)
        XCTAssertEqual(link.client.peerFingerprint, Self.serverCertificate.fingerprintSHA256)
        XCTAssertEqual(link.server.negotiatedCipher, link.client.negotiatedCipher)
        XCTAssertTrue(link.server.negotiatedCipher?.hasPrefix("ECDHE-ECDSA") == true, "\(link.server.negotiatedCipher ?? "nil")")
        XCTAssertLessThanOrEqual(link.largestDatagram, 1200)
        XCTAssertNil(link.server.nextTimeout(), "no retransmission timer once established")
        XCTAssertFalse(serverKeys.description.contains("\(serverKeys.localKey)"), "keys must not reach logs")
    }

    func testSmallMTUFragmentsFlightsIntoDatagramsThatFit() throws {
        var link = try makeLink(mtu: 300)
        link.run(maxRounds: 40)
        let serverKeys = try XCTUnwrap(completedKeys(link.serverResult))
        let clientKeys = try XCTUnwrap(completedKeys(link.clientResult))
        XCTAssertEqual(serverKeys.localKey, clientKeys.remoteKey)
        XCTAssertLessThanOrEqual(link.largestDatagram, 300)
        XCTAssertGreaterThan(link.largestDatagram, 0)
    }

    func testServerRejectsClientWhoseCertificateIsNotTheOfferedOne() throws {
        var link = try makeLink(clientCertificate: Self.otherCertificate)
        link.run()
        XCTAssertEqual(link.serverResult, .failed(.fingerprintMismatch(
            expected: Self.clientCertificate.fingerprintSHA256,
            actual: Self.otherCertificate.fingerprintSHA256)))
        XCTAssertTrue(link.server.isClosed)
        // The server's close_notify follows its Finished, so the client does not keep the association either.
        XCTAssertEqual(link.client.handshake(), .failed(.closed))
    }

    func testClientRejectsServerWithWrongFingerprint() throws {
        var link = try makeLink(clientExpects: Self.otherCertificate.fingerprintSHA256)
        link.run()
        XCTAssertEqual(link.clientResult, .failed(.fingerprintMismatch(
            expected: Self.otherCertificate.fingerprintSHA256,
            actual: Self.serverCertificate.fingerprintSHA256)))
    }

    func testFingerprintComparisonIgnoresHexCase() throws {
        var link = try makeLink(serverExpects: " " + Self.clientCertificate.fingerprintSHA256.lowercased())
        link.run()
        XCTAssertNotNil(completedKeys(link.serverResult))
    }

    func testDroppedServerFlightIsRetransmittedAfterTheTimeout() throws {
        var link = try makeLink()
        // ClientHello reaches the server; the server's whole first flight is lost.
        _ = link.step(deliverToClient: { _ in false })
        XCTAssertEqual(link.serverResult, .incomplete)
        let timeout = try XCTUnwrap(link.server.nextTimeout(), "server must arm a retransmission timer")
        XCTAssertGreaterThan(timeout, .zero)
        XCTAssertEqual(link.server.handleTimeout(), .incomplete)
        XCTAssertTrue(link.server.takeOutgoing().isEmpty, "nothing to resend before the timer expires")

        Thread.sleep(forTimeInterval: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18 + 0.05)
        XCTAssertEqual(link.server.handleTimeout(), .incomplete)
        let resent = link.server.takeOutgoing()
        XCTAssertFalse(resent.isEmpty, "the timer must resend the server's flight")
        for datagram in resent { link.client.receive(datagram) }
        link.run()
        let serverKeys = try XCTUnwrap(completedKeys(link.serverResult))
        XCTAssertEqual(serverKeys.localKey, completedKeys(link.clientResult)?.remoteKey)
    }

    func testGarbageBeforeClientHelloDoesNotStopTheHandshake() throws {
        var link = try makeLink()
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var bytes = (0..<Int.random(in: 1...1500, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round.isMultiple(of: 3), bytes.count >= 3 {
                // Looks like a DTLS 1.2 handshake record header, with a random body.
                bytes[0] = 22; bytes[1] = 0xFE; bytes[2] = 0xFD
            }
            link.server.receive(ByteBuffer(bytes: bytes))
            let result = link.server.handshake()
            switch result {
            case .incomplete, .failed: break
            case .complete: XCTFail("garbage completed a handshake")
            }
            _ = link.server.takeOutgoing()
            if link.server.isClosed {
                // A garbage record that parses far enough can end the association; start over for the real one.
                link = try makeLink()
            }
        }
        link.run()
        XCTAssertNotNil(completedKeys(link.serverResult))
    }

    func testGarbageAfterTheHandshakeIsDropped() throws {
        var link = try makeLink()
        link.run()
        let serverKeys = try XCTUnwrap(completedKeys(link.serverResult))
        for length in [1, 13, 50, 500] {
            var bytes = [UInt8](repeating: 0xA5, count: length)
            bytes[0] = 23  // application data record of epoch garbage
            link.server.receive(ByteBuffer(bytes: bytes))
            XCTAssertEqual(link.server.handshake(), .complete(serverKeys))
        }
        XCTAssertEqual(link.server.discardedApplicationBytes, 0)
    }

    func testCloseNotifyClosesThePeer() throws {
        var link = try makeLink()
        link.run()
        XCTAssertNotNil(completedKeys(link.serverResult))
        link.client.close()
        XCTAssertTrue(link.client.isClosed)
        let alerts = link.client.takeOutgoing()
        XCTAssertFalse(alerts.isEmpty, "close() must write close_notify")
        for datagram in alerts { link.server.receive(datagram) }
        XCTAssertEqual(link.server.handshake(), .failed(.closed))
        XCTAssertTrue(link.server.isClosed)
        XCTAssertFalse(link.server.isEstablished)
    }

    func testOneServerContextServesManyViewers() throws {
        let context = try DTLSContext(role: .server, certificate: Self.serverCertificate)
        var serverKeys: [[UInt8]] = []
        for _ in 0..<3 {
            let server = try DTLSConnection(context: context, expectedPeerFingerprint: Self.clientCertificate.fingerprintSHA256)
            let client = try DTLSConnection(role: .client, certificate: Self.clientCertificate, expectedPeerFingerprint: nil)
            var link = Link(client: client, server: server)
            link.run()
            let keys = try XCTUnwrap(completedKeys(link.serverResult))
            XCTAssertEqual(keys.remoteKey, completedKeys(link.clientResult).map(\.localKey) ?? [])
            serverKeys.append(keys.localKey)
        }
        XCTAssertEqual(Set(serverKeys).count, 3, "every viewer gets its own keys")
    }

    func testUnusableMTUIsRefused() {
        XCTAssertThrowsError(try DTLSConnection(role: .server, certificate: Self.serverCertificate,
                                                expectedPeerFingerprint: nil, mtu: 100)) { error in
            XCTAssertEqual(error as? DTLSError, .invalidMTU(100))
        }
    }

    func testOversizedAndExcessDatagramsAreDroppedNotBuffered() throws {
        let server = try DTLSConnection(role: .server, certificate: Self.serverCertificate, expectedPeerFingerprint: nil)
        server.receive(ByteBuffer(bytes: [UInt8](repeating: 22, count: DTLSConnection.maximumDatagramLength + 1)))
        XCTAssertEqual(server.droppedDatagrams, 1)
        for _ in 0..<(DTLSConnection.maximumQueuedDatagrams + 5) {
            server.receive(ByteBuffer(bytes: [1, 2, 3]))
        }
        XCTAssertEqual(server.droppedDatagrams, 6)
        XCTAssertEqual(server.handshake(), .incomplete)
    }
}

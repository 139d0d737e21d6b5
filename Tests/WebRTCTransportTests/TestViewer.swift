import DTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTP
import SRTP
import STUN

/// A minimal WebRTC viewer on loopback for the egress tests: STUN as the controlling ICE agent, a DTLS client,
/// SRTP decrypting what arrives. Datagrams are collected for the test to look at.
final class TestViewer: @unchecked Sendable {
    let channel: any Channel
    let certificate: DTLSCertificate
    let ufrag = "viewerufrag"
    static let icePassword = "viewerpasswordviewerpassword"
    let password = TestViewer.icePassword
    private let received = NIOLockedValueBox<[ByteBuffer]>([])
    let server: SocketAddress
    var dtls: DTLSConnection?
    var inbound: SRTPSession?
    var outbound: SRTPSession?

    /// - Parameter answersChecks: whether the server's connectivity checks are answered, as a full ICE agent does;
    ///   the server sends media only to an address that answers.
    init(serverPort: Int, certificate: DTLSCertificate? = nil, answersChecks: Bool = true, host: String = "127.0.0.1") async throws {
        self.certificate = try certificate ?? DTLSCertificate.generateSelfSigned(commonName: "viewer")
        self.server = try SocketAddress(ipAddress: "127.0.0.1", port: serverPort)
        let box = received
        let answerPassword = answersChecks ? Self.icePassword : nil
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(box: box, password: answerPassword))
                }
            }
            .bind(host: host, port: 0).get()
    }

    /// An offer in the shape aiortc makes (recvonly VP8 + RTX and Opus, BUNDLE), with this viewer's credentials.
    func offer(fingerprint: String? = nil, rtx: Bool = true) -> String {
        TestViewerOffer.make(fingerprint: fingerprint ?? certificate.fingerprintSHA256, ufrag: ufrag, password: password, rtx: rtx)
    }

    func send(_ bytes: [UInt8]) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await send(buffer)
    }

    func send(_ buffer: ByteBuffer) async throws {
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: buffer))
    }

    func bindingRequest(serverUfrag: String, serverPassword: String, nominate: Bool = true) -> (STUNTransactionID, [UInt8]) {
        let id = STUNTransactionID.random()
        return (id, STUNMessage.bindingRequest(transactionID: id, username: "\(serverUfrag):\(ufrag)", password: serverPassword,
                                              priority: 0x6E00_1EFF, useCandidate: nominate, controlling: 0x1234_5678))
    }

    /// Everything received so far, emptied.
    func drain() -> [ByteBuffer] {
        received.withLockedValue { buffers in
            defer { buffers = [] }
            return buffers
        }
    }

    /// Waits (bounded) until `condition` holds over newly received datagrams, keeping what it did not consume.
    func waitFor(timeout: Duration = .seconds(5), _ condition: (ByteBuffer) -> Bool) async -> ByteBuffer? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            for datagram in drain() where condition(datagram) { return datagram }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Runs the DTLS client handshake against the server; returns the result.
    func handshake(timeout: Duration = .seconds(10)) async throws -> DTLSHandshakeResult {
        let context = try DTLSContext(role: .client, certificate: certificate)
        let dtls = try DTLSConnection(context: context, expectedPeerFingerprint: nil)
        self.dtls = dtls
        var result = dtls.handshake()
        for datagram in dtls.takeOutgoing() { try await send(datagram) }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if case .incomplete = result {} else { break }
            let datagrams = drain()
            for datagram in datagrams {
                guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self), (20...63).contains(first) else { continue }
                dtls.receive(datagram)
            }
            if datagrams.isEmpty {
                try await Task.sleep(for: .milliseconds(10))
                if let wait = dtls.nextTimeout(), wait <= .zero { result = dtls.handleTimeout() }
            } else {
                result = dtls.handshake()
            }
            for datagram in dtls.takeOutgoing() { try await send(datagram) }
        }
        if case .complete(let keys) = result {
            let profile: SRTPProfile = keys.profile == .aeadAES128GCM ? .aeadAES128GCM : .aes128CMHMACSHA1_80
            inbound = try SRTPSession(profile: profile, key: keys.remoteKey, salt: keys.remoteSalt, direction: .inbound)
            outbound = try SRTPSession(profile: profile, key: keys.localKey, salt: keys.localSalt, direction: .outbound)
        }
        return result
    }

    func close() async {
        try? await channel.close()
    }
}

/// The offer `TestViewer` makes: in the shape aiortc makes (recvonly VP8 + RTX and Opus, BUNDLE), with the viewer's
/// credentials.
enum TestViewerOffer {
    static func make(fingerprint: String, ufrag: String = "viewerufrag", password: String = TestViewer.icePassword,
                     rtx: Bool = true) -> String {
        let lines = [
            "v=0", "o=- 3912345678 3912345678 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1", "a=msid-semantic:WMS *",
            "m=video 9 UDP/TLS/RTP/SAVPF 97 98", "c=IN IP4 0.0.0.0", "a=recvonly", "a=mid:0", "a=msid:- -",
            "a=rtcp:9 IN IP4 0.0.0.0", "a=rtcp-mux",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "a=rtpmap:97 VP8/90000", "a=rtcp-fb:97 nack", "a=rtcp-fb:97 nack pli", "a=rtcp-fb:97 goog-remb",
            "a=rtpmap:98 rtx/90000", "a=fmtp:98 apt=97",
            "a=ice-ufrag:\(ufrag)", "a=ice-pwd:\(password)", "a=fingerprint:sha-256 \(fingerprint)", "a=setup:actpass",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=recvonly", "a=mid:1", "a=msid:- -",
            "a=rtcp:9 IN IP4 0.0.0.0", "a=rtcp-mux", "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=rtpmap:111 opus/48000/2", "a=ice-ufrag:\(ufrag)", "a=ice-pwd:\(password)",
            "a=fingerprint:sha-256 \(fingerprint)", "a=setup:actpass", "",
        ]
        guard !rtx else { return lines.joined(separator: "\r\n") }
        return lines.filter { !$0.contains("rtx/90000") && !$0.contains("apt=97") }.joined(separator: "\r\n")
            .replacingOccurrences(of: "SAVPF 97 98", with: "SAVPF 97")
    }
}

private final class Collector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let box: NIOLockedValueBox<[ByteBuffer]>
    /// The viewer's ICE password, to answer the server's checks with; nil: they are not answered.
    let password: String?

    init(box: NIOLockedValueBox<[ByteBuffer]>, password: String?) {
        self.box = box
        self.password = password
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let password, let message = try? STUNMessage(parsing: envelope.data), message.messageClass == .request,
           message.method == .binding, message.verifyMessageIntegrity(password: password) {
            let answer = STUNMessage.bindingSuccessResponse(transactionID: message.transactionID,
                                                            mappedAddress: envelope.remoteAddress, password: password)
            var buffer = context.channel.allocator.buffer(capacity: answer.count)
            buffer.writeBytes(answer)
            context.writeAndFlush(NIOAny(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
        }
        box.withLockedValue { $0.append(envelope.data) }
    }
}

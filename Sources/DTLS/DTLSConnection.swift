internal import COpenSSL
import NIOCore

/// One DTLS 1.2 association with one peer, over memory BIOs: no sockets, the owner moves datagrams.
///
/// The owner's loop is: `receive(datagram)`, `handshake()`, send everything `takeOutgoing()` returns, and
/// arm a timer for `nextTimeout()` that calls `handleTimeout()` (then `takeOutgoing()` again). Once the
/// handshake is complete, `handshake()` keeps returning the keys and drains what the peer sends, so the
/// same loop notices a close_notify or alert and answers a peer that retransmits its last flight.
///
/// Confined to one event loop: OpenSSL's SSL object and error queue are not shared across threads.
public final class DTLSConnection {
    private enum State {
        case handshaking
        case established(SRTPKeyingMaterial)
        case failed(DTLSError)
        case closed
    }

    /// A datagram larger than this cannot be a DTLS record from a WebRTC peer; OpenSSL's read buffer
    /// would also split it and run the pieces together.
    public static let maximumDatagramLength = 16_384
    /// Datagrams waiting for the next `handshake()`; beyond this a flood is dropped, not buffered.
    public static let maximumQueuedDatagrams = 32

    public let role: DTLSRole
    public let mtu: Int
    /// Set at creation, or by `expect(peerFingerprint:)` on a connection that came out of a `DTLSCookieGate`.
    public private(set) var expectedPeerFingerprint: String?
    private let context: DTLSContext
    /// SSL *, owned; it owns both BIOs.
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private let allocator: ByteBufferAllocator
    private let writeBoundaries = WriteBoundaries()
    private var state: State = .handshaking
    private var incoming = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    /// The server's cookie secret and the peer address being checked, read by OpenSSL's cookie callbacks.
    private let cookieInput: UnsafeMutablePointer<lr_dtls_cookie_input>

    /// The negotiated cipher suite (e.g. "ECDHE-ECDSA-AES128-GCM-SHA256"), for logs.
    public private(set) var negotiatedCipher: String?
    /// The peer certificate's SHA-256 fingerprint, once the handshake has seen it.
    public private(set) var peerFingerprint: String?
    /// Application data the peer sent after the handshake; WebRTC media never travels inside DTLS, so it is
    /// counted and discarded (SCTP data channels are not offered).
    public private(set) var discardedApplicationBytes = 0
    /// Datagrams dropped for being oversized or arriving faster than the handshake consumed them.
    public private(set) var droppedDatagrams = 0

    /// - Parameter expectedPeerFingerprint: the SHA-256 `a=fingerprint` of the peer's SDP; `nil` accepts any
    ///   certificate (tests and the load generator), though one must still be presented.
    /// - Parameter mtu: the largest datagram we send; 1200 bytes fits every path WebRTC runs over, with room
    ///   for TURN and IPv6 headers.
    public init(context: DTLSContext, expectedPeerFingerprint: String?, mtu: Int = 1200,
                allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(DTLSError) {
        guard (256...Self.maximumDatagramLength).contains(mtu) else { throw .invalidMTU(mtu) }
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.context) else { throw OpenSSLErrorQueue.error(fallback: "SSL_new failed") }
        guard let readBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw OpenSSLErrorQueue.error(fallback: "BIO_new failed")
        }
        guard let writeBIO = BIO_new(BIO_s_mem()) else {
            BIO_free(readBIO)
            SSL_free(ssl)
            throw OpenSSLErrorQueue.error(fallback: "BIO_new failed")
        }
        // An empty memory BIO must read as "retry later", not as end of file.
        lr_bio_set_mem_eof_return(readBIO, -1)
        lr_bio_set_mem_eof_return(writeBIO, -1)
        let boundaries = writeBoundaries
        BIO_set_callback_arg(writeBIO, UnsafeMutableRawPointer(Unmanaged.passUnretained(boundaries).toOpaque())
            .assumingMemoryBound(to: CChar.self))
        BIO_set_callback_ex(writeBIO, recordWriteLength)
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_options(ssl, lr_ssl_op_no_query_mtu())
        // Returns the MTU it accepted, 0 when below what DTLS records need.
        guard lr_ssl_set_mtu(ssl, mtu) > 0 else {
            SSL_free(ssl)
            throw OpenSSLErrorQueue.error(fallback: "SSL_set_mtu(\(mtu)) rejected")
        }
        // Takes precedence over SSL_set_mtu once OpenSSL first asks for the MTU; a memory BIO adds no overhead.
        lr_dtls_set_link_mtu(ssl, mtu)
        // No record we send is larger than a datagram, so the write buffer need not hold 16 KB (−15 KB per viewer).
        guard lr_ssl_set_max_send_fragment(ssl, max(512, mtu)) == 1 else {  // 512: OpenSSL's least
            SSL_free(ssl)
            throw OpenSSLErrorQueue.error(fallback: "SSL_set_max_send_fragment rejected")
        }
        switch context.role {
        case .server: SSL_set_accept_state(ssl)
        case .client: SSL_set_connect_state(ssl)
        }
        OpenSSLErrorQueue.clear()
        cookieInput = .allocate(capacity: 1)
        cookieInput.initialize(to: lr_dtls_cookie_input())
        withUnsafeMutableBytes(of: &cookieInput.pointee.secret) { $0.copyBytes(from: context.cookieSecret) }
        _ = lr_ssl_set_cookie_input(ssl, cookieInput)

        self.role = context.role
        self.mtu = mtu
        self.expectedPeerFingerprint = expectedPeerFingerprint
        self.context = context
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.allocator = allocator
    }

    /// A connection with its own context; the server should share one `DTLSContext` across viewers instead.
    public convenience init(role: DTLSRole, certificate: DTLSCertificate, expectedPeerFingerprint: String?,
                            mtu: Int = 1200) throws(DTLSError) {
        try self.init(context: DTLSContext(role: role, certificate: certificate),
                      expectedPeerFingerprint: expectedPeerFingerprint, mtu: mtu)
    }

    deinit {
        SSL_free(ssl)
        cookieInput.deallocate()
    }

    /// The fingerprint the peer's certificate must have, for a connection created before its peer was known.
    public func expect(peerFingerprint: String) {
        expectedPeerFingerprint = peerFingerprint
    }

    /// Server, before the handshake: the stateless cookie exchange of RFC 6347 §4.2.1 over the next queued
    /// datagram. A ClientHello without a valid cookie for `peer` is answered with a HelloVerifyRequest (collect it
    /// with `takeOutgoing()`) and forgotten; one that echoes it leaves this connection ready to go on with
    /// `handshake()`. `peer` is the sender's address in any stable form.
    public func verifyCookie(peer: [UInt8]) -> DTLSCookieCheck {
        guard role == .server, case .handshaking = state, !incoming.isEmpty else { return .dropped }
        withUnsafeMutableBytes(of: &cookieInput.pointee.peer) { bytes in
            let count = min(bytes.count, peer.count)
            bytes.copyBytes(from: peer.prefix(count))
            cookieInput.pointee.peer_length = count
        }
        feedNextDatagram()
        OpenSSLErrorQueue.clear()
        guard let address = BIO_ADDR_new() else { return .dropped }
        defer { BIO_ADDR_free(address) }
        let result = DTLSv1_listen(ssl, address)
        OpenSSLErrorQueue.clear()
        if result > 0 { return .verified }
        if BIO_ctrl_pending(readBIO) > 0 { BIO_ctrl(readBIO, BIO_CTRL_RESET, 0, nil) }
        if result < 0 { return .dropped }
        return BIO_ctrl_pending(writeBIO) > 0 ? .challenged : .dropped
    }

    /// True once either side closed the association or it failed; nothing more will be accepted.
    public var isClosed: Bool {
        switch state {
        case .handshaking, .established: false
        case .failed, .closed: true
        }
    }

    /// True once the handshake completed and until the association closes.
    public var isEstablished: Bool {
        if case .established = state { return true }
        return false
    }

    /// Queues one incoming datagram (a DTLS packet demultiplexed by its first byte, RFC 7983).
    /// Nothing is processed until `handshake()`.
    public func receive(_ datagram: ByteBuffer) {
        guard !isClosed, datagram.readableBytes > 0 else { return }
        guard datagram.readableBytes <= Self.maximumDatagramLength,
              incoming.count < Self.maximumQueuedDatagrams
        else {
            droppedDatagrams += 1
            return
        }
        incoming.append(datagram)
    }

    /// Advances the handshake with the queued datagrams; after completion, processes what the peer sends.
    public func handshake() -> DTLSHandshakeResult {
        switch state {
        case .handshaking:
            return advanceHandshake()
        case .established(let keys):
            readApplicationData()
            if case .established = state { return .complete(keys) }
            return currentFailure()
        case .failed(let error):
            return .failed(error)
        case .closed:
            return .failed(.closed)
        }
    }

    /// Drains records the peer sent after the handshake, so close_notify and alerts take effect and a
    /// retransmitted final flight is answered. Returns the application bytes discarded by this call.
    @discardableResult
    public func readApplicationData() -> Int {
        guard case .established = state else { return 0 }
        var discarded = 0
        withUnsafeTemporaryAllocation(byteCount: 2048, alignment: 1) { scratch in
            repeat {
                feedNextDatagram()
                reading: while true {
                    OpenSSLErrorQueue.clear()
                    let count = SSL_read(ssl, scratch.baseAddress, Int32(scratch.count))
                    if count > 0 {
                        discarded += Int(count)
                        discardedApplicationBytes += Int(count)
                        continue
                    }
                    switch SSL_get_error(ssl, count) {
                    case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                        OpenSSLErrorQueue.clear()
                        break reading
                    case SSL_ERROR_ZERO_RETURN:
                        OpenSSLErrorQueue.clear()
                        // Answer the peer's close_notify with ours, as TLS requires.
                        SSL_shutdown(ssl)
                        OpenSSLErrorQueue.clear()
                        state = .closed
                        incoming.removeAll()
                        return
                    default:
                        state = .failed(OpenSSLErrorQueue.error(fallback: "SSL_read failed"))
                        incoming.removeAll()
                        return
                    }
                }
            } while !incoming.isEmpty
        }
        return discarded
    }

    /// Everything OpenSSL wants sent, one datagram per OpenSSL write, none larger than `mtu`.
    ///
    /// The write boundaries matter: OpenSSL drops the rest of a datagram after a record it considers a
    /// retransmission, so a retransmitted ClientHello run together with the next flight would lose the flight.
    public func takeOutgoing() -> [ByteBuffer] {
        let pending = BIO_ctrl_pending(writeBIO)
        guard pending > 0 else {
            writeBoundaries.lengths.removeAll(keepingCapacity: true)
            return []
        }
        let datagrams = withUnsafeTemporaryAllocation(byteCount: pending, alignment: 1) { scratch -> [ByteBuffer] in
            let read = Int(BIO_read(writeBIO, scratch.baseAddress, Int32(scratch.count)))
            guard read > 0 else {
                OpenSSLErrorQueue.clear()
                return []
            }
            let bytes = UnsafeRawBufferPointer(rebasing: scratch[0..<read])
            var datagrams: [ByteBuffer] = []
            var offset = 0
            for length in writeBoundaries.lengths where length > 0 && offset + length <= read {
                datagrams += DTLSDatagramPacker.pack(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]),
                                                     mtu: mtu, allocator: allocator)
                offset += length
            }
            if offset < read {
                // Writes the callback did not see; records still carry their lengths.
                datagrams += DTLSDatagramPacker.pack(UnsafeRawBufferPointer(rebasing: bytes[offset..<read]),
                                                     mtu: mtu, allocator: allocator)
            }
            return datagrams
        }
        writeBoundaries.lengths.removeAll(keepingCapacity: true)
        return datagrams
    }

    /// Time until OpenSSL wants to retransmit its last flight, or nil when no flight is outstanding.
    public func nextTimeout() -> Duration? {
        guard case .handshaking = state else { return nil }
        var remaining = timeval()
        guard lr_dtls_get_timeout(ssl, &remaining) == 1 else { return nil }
        return .seconds(Int64(remaining.tv_sec)) + .microseconds(Int64(remaining.tv_usec))
    }

    /// Retransmits the last flight if its timer ran out (RFC 6347 §4.2.4); call `takeOutgoing()` after.
    @discardableResult
    public func handleTimeout() -> DTLSHandshakeResult {
        guard case .handshaking = state else { return handshake() }
        OpenSSLErrorQueue.clear()
        if lr_dtls_handle_timeout(ssl) < 0 {
            // OpenSSL gives up after 12 unanswered retransmissions ("read timeout expired").
            OpenSSLErrorQueue.clear()
            return fail(.handshakeTimeout)
        }
        OpenSSLErrorQueue.clear()
        return .incomplete
    }

    /// Sends close_notify (collect it with `takeOutgoing()`) and stops accepting datagrams.
    public func close() {
        switch state {
        case .handshaking, .established:
            OpenSSLErrorQueue.clear()
            SSL_shutdown(ssl)
            OpenSSLErrorQueue.clear()
            state = .closed
            incoming.removeAll()
        case .failed, .closed:
            break
        }
    }

    // MARK: - Handshake

    private func advanceHandshake() -> DTLSHandshakeResult {
        repeat {
            feedNextDatagram()
            OpenSSLErrorQueue.clear()
            let result = SSL_do_handshake(ssl)
            if result == 1 { return finishHandshake() }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                // Not an error: OpenSSL needs the peer's next flight (or skipped a garbage datagram).
                OpenSSLErrorQueue.clear()
            case SSL_ERROR_ZERO_RETURN:
                OpenSSLErrorQueue.clear()
                state = .closed
                incoming.removeAll()
                return .failed(.closed)
            default:
                return fail(OpenSSLErrorQueue.error(fallback: "SSL_do_handshake failed"))
            }
        } while !incoming.isEmpty
        return .incomplete
    }

    private func finishHandshake() -> DTLSHandshakeResult {
        guard let peer = SSL_get1_peer_certificate(ssl) else { return reject(.noPeerCertificate) }
        let der: [UInt8]
        do throws(DTLSError) {
            der = try DTLSCertificate.encodeDER(peer)
        } catch {
            X509_free(peer)
            return reject(error)
        }
        X509_free(peer)
        let actual = DTLSCertificate.fingerprint(ofDER: der)
        peerFingerprint = actual
        if let expected = expectedPeerFingerprint, !DTLSCertificate.fingerprintsMatch(expected, actual) {
            return reject(.fingerprintMismatch(expected: expected, actual: actual))
        }
        if let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) {
            negotiatedCipher = String(cString: name)
        }

        guard let selected = SSL_get_selected_srtp_profile(ssl),
              let profile = DTLSSRTPProfile(protectionProfileID: selected.pointee.id)
        else { return reject(.noSRTPProfile) }
        var exported = [UInt8](repeating: 0, count: 2 * (profile.keyLength + profile.saltLength))
        let label = "EXTRACTOR-dtls_srtp"
        let status = exported.withUnsafeMutableBufferPointer { output in
            SSL_export_keying_material(ssl, output.baseAddress, output.count, label, label.utf8.count, nil, 0, 0)
        }
        guard status == 1, let keys = SRTPKeyingMaterial(exported: exported, profile: profile, role: role) else {
            return reject(OpenSSLErrorQueue.error(fallback: "SSL_export_keying_material failed"))
        }
        OpenSSLErrorQueue.clear()
        state = .established(keys)
        // Records that arrived behind the final flight (an early alert, say) are handled now.
        if !incoming.isEmpty {
            readApplicationData()
            if case .established = state {} else { return currentFailure() }
        }
        return .complete(keys)
    }

    /// A handshake OpenSSL accepted but we do not: tell the peer we are done with it, then fail.
    private func reject(_ error: DTLSError) -> DTLSHandshakeResult {
        OpenSSLErrorQueue.clear()
        SSL_shutdown(ssl)
        return fail(error)
    }

    private func fail(_ error: DTLSError) -> DTLSHandshakeResult {
        OpenSSLErrorQueue.clear()
        state = .failed(error)
        incoming.removeAll()
        return .failed(error)
    }

    private func currentFailure() -> DTLSHandshakeResult {
        switch state {
        case .failed(let error): .failed(error)
        case .closed: .failed(.closed)
        case .handshaking: .incomplete
        case .established(let keys): .complete(keys)
        }
    }

    /// One datagram per OpenSSL call keeps a garbage datagram from swallowing the records queued after it.
    private func feedNextDatagram() {
        guard let datagram = incoming.popFirst() else { return }
        // Whatever OpenSSL left of the previous datagram is stale.
        if BIO_ctrl_pending(readBIO) > 0 {
            BIO_ctrl(readBIO, BIO_CTRL_RESET, 0, nil)
        }
        datagram.withUnsafeReadableBytes { bytes in
            _ = BIO_write(readBIO, bytes.baseAddress, Int32(bytes.count))
        }
    }
}

@available(*, unavailable)
extension DTLSConnection: Sendable {}

/// What `DTLSConnection.verifyCookie(peer:)` made of a datagram.
public enum DTLSCookieCheck: Equatable, Sendable {
    /// A ClientHello with the cookie this peer was given: the handshake may go on.
    case verified
    /// A ClientHello without it: a HelloVerifyRequest waits in `takeOutgoing()`; nothing else was kept.
    case challenged
    /// Not a ClientHello (or not one OpenSSL could read): ignored.
    case dropped
}

/// The sizes of OpenSSL's writes into the outgoing memory BIO, each one datagram as OpenSSL cut it
/// (a memory BIO alone concatenates them; `BIO_s_dgram_mem` only arrived in OpenSSL 3.2).
final class WriteBoundaries {
    var lengths: [Int] = []
}

/// BIO callback recording each completed write's length; it returns `ret` so the write itself is unchanged.
private func recordWriteLength(
    bio: OpaquePointer?, operation: Int32, argp: UnsafePointer<CChar>?, length: Int, argi: Int32, argl: Int,
    ret: Int32, processed: UnsafeMutablePointer<Int>?
) -> Int {
    if operation == (BIO_CB_WRITE | BIO_CB_RETURN), ret > 0, let processed,
       let argument = BIO_get_callback_arg(bio) {
        let boundaries = Unmanaged<WriteBoundaries>.fromOpaque(UnsafeRawPointer(argument)).takeUnretainedValue()
        boundaries.lengths.append(processed.pointee)
    }
    return operation & BIO_CB_RETURN != 0 ? Int(ret) : 1
}

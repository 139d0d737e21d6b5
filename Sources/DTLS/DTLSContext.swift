internal import COpenSSL

/// Which end of the handshake we are. LiveRelay answers `a=setup:passive`, so it is the server; the
/// client role exists for tests and the load generator.
public enum DTLSRole: Sendable, Hashable {
    case server
    case client
}

/// The OpenSSL configuration shared by every connection of one role and certificate.
///
/// The server makes one connection per viewer; building an `SSL_CTX` (certificate, cipher and curve lists)
/// once keeps each new viewer to an `SSL_new`. Immutable once built, which is what OpenSSL requires of a
/// context that connections on several threads are created from.
public final class DTLSContext: @unchecked Sendable {
    public let role: DTLSRole
    public let certificate: DTLSCertificate
    /// SSL_CTX *, owned.
    let context: OpaquePointer
    /// The server's key for HelloVerifyRequest cookies, random per context (cookies do not outlive the process).
    let cookieSecret: [UInt8]

    /// ECDHE only (forward secrecy), AEAD first; the ECDSA suites are what our P-256 certificate can use,
    /// the RSA ones let the client role talk to servers with RSA certificates.
    static let cipherList = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
    ].joined(separator: ":")

    /// Browsers offer X25519 and P-256 for DTLS; P-384 for older stacks.
    static let groupList = "X25519:P-256:P-384"

    public init(role: DTLSRole, certificate: DTLSCertificate) throws(DTLSError) {
        OpenSSLErrorQueue.clear()
        guard let context = SSL_CTX_new(DTLS_method()) else {
            throw OpenSSLErrorQueue.error(fallback: "SSL_CTX_new failed")
        }
        do throws(DTLSError) {
            try Self.configure(context, certificate: certificate)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        if role == .server { lr_ssl_ctx_enable_cookies(context) }
        var secret = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&secret, Int32(secret.count)) == 1 else {
            SSL_CTX_free(context)
            throw OpenSSLErrorQueue.error(fallback: "RAND_bytes failed")
        }
        self.role = role
        self.certificate = certificate
        self.context = context
        self.cookieSecret = secret
    }

    deinit {
        SSL_CTX_free(context)
    }

    private static func configure(_ context: OpaquePointer, certificate: DTLSCertificate) throws(DTLSError) {
        // DTLS 1.0 lacks AEAD suites and is refused by every current browser.
        guard lr_ssl_ctx_set_min_proto_version(context, DTLS1_2_VERSION) == 1 else {
            throw OpenSSLErrorQueue.error(fallback: "minimum version DTLS 1.2 rejected")
        }
        guard SSL_CTX_use_certificate(context, certificate.certificate) == 1,
              SSL_CTX_use_PrivateKey(context, certificate.privateKey) == 1,
              SSL_CTX_check_private_key(context) == 1
        else { throw OpenSSLErrorQueue.error(fallback: "certificate or key rejected") }
        guard SSL_CTX_set_cipher_list(context, cipherList) == 1 else {
            throw OpenSSLErrorQueue.error(fallback: "cipher list rejected")
        }
        guard lr_ssl_ctx_set1_groups_list(context, groupList) == 1 else {
            throw OpenSSLErrorQueue.error(fallback: "group list rejected")
        }
        // The one OpenSSL setter that returns 0 on success.
        guard SSL_CTX_set_tlsext_use_srtp(context, DTLSSRTPProfile.openSSLOfferList) == 0 else {
            throw OpenSSLErrorQueue.error(fallback: "SRTP profiles rejected")
        }
        // Ask for the peer's certificate and accept any: there is no chain to check, the fingerprint from
        // the SDP offer is compared once the handshake is done.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) { _, _ in 1 }
        // We set the MTU ourselves (a memory BIO has no path MTU to query); renegotiation over UDP only
        // gives a peer a way to make us redo expensive handshakes; WebRTC never resumes a session, so a
        // ticket would only add a ~500-byte message to the server's last flight.
        SSL_CTX_set_options(context, lr_ssl_op_no_query_mtu() | lr_ssl_op_no_renegotiation() | lr_ssl_op_no_ticket())
        _ = lr_ssl_ctx_set_release_buffers(context)
        OpenSSLErrorQueue.clear()
    }
}

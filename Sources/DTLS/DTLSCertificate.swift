internal import COpenSSL

/// The certificate and key a LiveRelay process answers DTLS handshakes with.
///
/// WebRTC peers do not check the certificate chain; they check that its SHA-256 fingerprint is the one
/// in our SDP answer (`a=fingerprint:sha-256 …`). So a short-lived self-signed ECDSA P-256 certificate is
/// enough, and P-256 keeps the handshake flight small enough for one 1200-byte datagram.
///
/// Immutable after creation; OpenSSL reference-counts the key and certificate atomically, so contexts on
/// several event loops may share one.
public final class DTLSCertificate: @unchecked Sendable {
    /// X509 *, owned.
    let certificate: OpaquePointer
    /// EVP_PKEY *, owned.
    let privateKey: OpaquePointer
    /// The certificate in DER, as hashed for the fingerprint.
    public let derEncoded: [UInt8]
    /// "AB:CD:…" — 32 uppercase hex pairs, the value of `a=fingerprint:sha-256`.
    public let fingerprintSHA256: String

    private init(certificate: OpaquePointer, privateKey: OpaquePointer, derEncoded: [UInt8]) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.derEncoded = derEncoded
        self.fingerprintSHA256 = Self.fingerprint(ofDER: derEncoded)
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(privateKey)
    }

    /// A fresh key and a self-signed X.509 v3 certificate valid from a day ago (peer clock skew) for 30 days.
    public static func generateSelfSigned(commonName: String = "LiveRelay") throws(DTLSError) -> DTLSCertificate {
        OpenSSLErrorQueue.clear()
        guard let key = lr_evp_pkey_generate_p256() else {
            throw OpenSSLErrorQueue.error(fallback: "P-256 key generation failed")
        }
        guard let x509 = X509_new() else {
            EVP_PKEY_free(key)
            throw OpenSSLErrorQueue.error(fallback: "X509_new failed")
        }
        do throws(DTLSError) {
            try build(x509, key: key, commonName: commonName)
            let der = try encodeDER(x509)
            return DTLSCertificate(certificate: x509, privateKey: key, derEncoded: der)
        } catch {
            X509_free(x509)
            EVP_PKEY_free(key)
            throw error
        }
    }

    private static func build(_ x509: OpaquePointer, key: OpaquePointer, commonName: String) throws(DTLSError) {
        // Version field 2 means X.509 v3.
        guard X509_set_version(x509, 2) == 1 else { throw OpenSSLErrorQueue.error(fallback: "X509_set_version failed") }

        // A random positive serial of at most 63 bits (RFC 5280 §4.1.2.2 allows up to 20 octets).
        var serial: UInt64 = 0
        let random = withUnsafeMutableBytes(of: &serial) { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }
        guard random == 1 else { throw OpenSSLErrorQueue.error(fallback: "RAND_bytes failed") }
        serial = max(1, serial & 0x7FFF_FFFF_FFFF_FFFF)
        guard ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial) == 1 else {
            throw OpenSSLErrorQueue.error(fallback: "serial number rejected")
        }

        let day = 24 * 60 * 60
        guard X509_gmtime_adj(X509_getm_notBefore(x509), -day) != nil,
              X509_gmtime_adj(X509_getm_notAfter(x509), 30 * day) != nil
        else { throw OpenSSLErrorQueue.error(fallback: "validity period rejected") }

        guard X509_set_pubkey(x509, key) == 1 else { throw OpenSSLErrorQueue.error(fallback: "X509_set_pubkey failed") }
        guard let name = X509_get_subject_name(x509) else { throw OpenSSLErrorQueue.error(fallback: "no subject name") }
        let added = Array(commonName.utf8).withUnsafeBufferPointer { bytes in
            X509_NAME_add_entry_by_txt(name, "CN", lr_mbstring_asc(), bytes.baseAddress, Int32(bytes.count), -1, 0)
        }
        guard added == 1 else { throw OpenSSLErrorQueue.error(fallback: "common name rejected") }
        guard X509_set_issuer_name(x509, name) == 1 else { throw OpenSSLErrorQueue.error(fallback: "issuer name rejected") }
        guard X509_sign(x509, key, EVP_sha256()) > 0 else { throw OpenSSLErrorQueue.error(fallback: "X509_sign failed") }
    }

    static func encodeDER(_ x509: OpaquePointer) throws(DTLSError) -> [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { throw OpenSSLErrorQueue.error(fallback: "i2d_X509 failed") }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(x509, &cursor)
        }
        guard written == length else { throw OpenSSLErrorQueue.error(fallback: "i2d_X509 wrote \(written) of \(length) bytes") }
        return der
    }

    /// The SDP form of a SHA-256 fingerprint of DER bytes: uppercase hex pairs joined by colons (RFC 8122 §5).
    public static func fingerprint(ofDER der: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var digestLength: UInt32 = 0
        let ok = der.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &digestLength, EVP_sha256(), nil)
            }
        }
        // SHA-256 over memory cannot fail short of memory exhaustion.
        precondition(ok == 1 && digestLength == 32, "EVP_Digest(SHA-256) failed")
        return formatFingerprint(digest[0..<32])
    }

    static func formatFingerprint(_ bytes: some Collection<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 3)
        for byte in bytes {
            if !text.isEmpty { text.append(UInt8(ascii: ":")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// SDP producers differ in hex case and may pad with spaces; the bytes are what must agree.
    public static func fingerprintsMatch(_ lhs: String, _ rhs: String) -> Bool {
        func normalized(_ value: String) -> String {
            value.trimmingCharacters(in: " \t\r\n").uppercased()
        }
        return normalized(lhs) == normalized(rhs)
    }
}

extension String {
    fileprivate func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        var view = Substring(self)
        while let first = view.first, set.contains(first) { view.removeFirst() }
        while let last = view.last, set.contains(last) { view.removeLast() }
        return String(view)
    }
}

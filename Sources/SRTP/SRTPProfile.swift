/// The SRTP protection profiles LiveRelay negotiates over DTLS-SRTP (RFC 5764, RFC 7714).
///
/// AEAD_AES_128_GCM is preferred: it is about five times cheaper per packet than AES-CM with HMAC-SHA1
/// in libsrtp2, and every current browser offers it. AES_CM_128_HMAC_SHA1_80 stays for older peers.
public enum SRTPProfile: Sendable, Hashable, CaseIterable {
    case aeadAES128GCM
    case aes128CMHMACSHA1_80

    /// Master key length in bytes.
    public var keyLength: Int { 16 }

    /// Master salt length in bytes: RFC 7714 uses a 96-bit salt, RFC 3711 a 112-bit one.
    public var saltLength: Int {
        switch self {
        case .aeadAES128GCM: 12
        case .aes128CMHMACSHA1_80: 14
        }
    }

    /// Bytes an SRTP packet grows by: the GCM tag or the truncated HMAC.
    public var rtpOverhead: Int {
        switch self {
        case .aeadAES128GCM: 16
        case .aes128CMHMACSHA1_80: 10
        }
    }
}

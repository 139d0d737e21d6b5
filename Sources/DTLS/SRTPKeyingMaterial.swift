/// The SRTP protection profiles offered in the use_srtp extension, in preference order.
///
/// Mirrors the SRTP module's profiles without depending on it: the transport maps one to the other.
public enum DTLSSRTPProfile: Sendable, Hashable, CaseIterable {
    /// SRTP_AEAD_AES_128_GCM {0x00, 0x07} (RFC 7714 §14.2).
    case aeadAES128GCM
    /// SRTP_AES128_CM_HMAC_SHA1_80 {0x00, 0x01} (RFC 5764 §4.1.2).
    case aes128CMSHA1_80

    /// The profile names OpenSSL's `SSL_CTX_set_tlsext_use_srtp` understands, most preferred first.
    static let openSSLOfferList = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

    init?(protectionProfileID: UInt) {
        switch protectionProfileID {
        case 0x0007: self = .aeadAES128GCM
        case 0x0001: self = .aes128CMSHA1_80
        default: return nil
        }
    }

    public var keyLength: Int { 16 }

    public var saltLength: Int {
        switch self {
        case .aeadAES128GCM: 12
        case .aes128CMSHA1_80: 14
        }
    }
}

/// SRTP master keys exported from a finished DTLS handshake (RFC 5764 §4.2).
///
/// `local` protects what this side sends; `remote` unprotects what the peer sends. For the server that
/// is the server half and the client half respectively.
public struct SRTPKeyingMaterial: Sendable, Hashable {
    public let profile: DTLSSRTPProfile
    public let localKey: [UInt8]
    public let localSalt: [UInt8]
    public let remoteKey: [UInt8]
    public let remoteSalt: [UInt8]

    public init(profile: DTLSSRTPProfile, localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8]) {
        self.profile = profile
        self.localKey = localKey
        self.localSalt = localSalt
        self.remoteKey = remoteKey
        self.remoteSalt = remoteSalt
    }

    /// Splits the exporter output, laid out as client key | server key | client salt | server salt.
    init?(exported: [UInt8], profile: DTLSSRTPProfile, role: DTLSRole) {
        let keyLength = profile.keyLength
        let saltLength = profile.saltLength
        guard exported.count == 2 * (keyLength + saltLength) else { return nil }
        let clientKey = Array(exported[0..<keyLength])
        let serverKey = Array(exported[keyLength..<(2 * keyLength)])
        let clientSalt = Array(exported[(2 * keyLength)..<(2 * keyLength + saltLength)])
        let serverSalt = Array(exported[(2 * keyLength + saltLength)...])
        switch role {
        case .server:
            self.init(profile: profile, localKey: serverKey, localSalt: serverSalt, remoteKey: clientKey, remoteSalt: clientSalt)
        case .client:
            self.init(profile: profile, localKey: clientKey, localSalt: clientSalt, remoteKey: serverKey, remoteSalt: serverSalt)
        }
    }
}

extension SRTPKeyingMaterial: CustomStringConvertible {
    /// Keys never reach a log line.
    public var description: String { "SRTPKeyingMaterial(\(profile), keys redacted)" }
}

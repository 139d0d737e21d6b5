internal import COpenSSL

/// Why a DTLS handshake or connection ended.
///
/// A handshake that merely needs the peer's next flight is `.incomplete`, never an error.
public enum DTLSError: Error, Sendable, Hashable {
    /// OpenSSL refused; `reasons` is its error queue, oldest first (`ERR_error_string_n` text).
    case openSSL(reasons: [String])
    /// The peer's certificate is not the one its SDP offer announced in `a=fingerprint`.
    case fingerprintMismatch(expected: String, actual: String)
    /// The peer completed the handshake without presenting a certificate.
    case noPeerCertificate
    /// The peer did not agree on any SRTP protection profile we offer (use_srtp, RFC 5764 §4.1.1).
    case noSRTPProfile
    /// OpenSSL gave up retransmitting a flight.
    case handshakeTimeout
    /// Either side sent close_notify.
    case closed
    /// The configured MTU is outside what DTLS records and UDP can carry.
    case invalidMTU(Int)
}

extension DTLSError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .openSSL(let reasons): "OpenSSL: " + (reasons.isEmpty ? "unknown error" : reasons.joined(separator: "; "))
        case .fingerprintMismatch(let expected, let actual): "peer fingerprint \(actual) does not match \(expected)"
        case .noPeerCertificate: "peer presented no certificate"
        case .noSRTPProfile: "no common SRTP protection profile"
        case .handshakeTimeout: "DTLS handshake timed out"
        case .closed: "DTLS connection closed"
        case .invalidMTU(let mtu): "invalid DTLS MTU \(mtu)"
        }
    }
}

/// OpenSSL reports failures on a per-thread queue; anything left there would be blamed on the next
/// unrelated call on this thread, so every failure path drains it.
enum OpenSSLErrorQueue {
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            let reason = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer -> String in
                guard let base = buffer.baseAddress else { return "error \(code)" }
                ERR_error_string_n(code, base, buffer.count)
                return String(cString: base)
            }
            reasons.append(reason)
        }
        return reasons
    }

    /// The drained queue as an error, with `fallback` when OpenSSL failed without queueing a reason.
    static func error(fallback: String) -> DTLSError {
        let reasons = drain()
        return .openSSL(reasons: reasons.isEmpty ? [fallback] : reasons)
    }

    static func clear() {
        ERR_clear_error()
    }
}

internal import CSRTP

/// Why libsrtp2 refused a session or a packet.
///
/// Per-packet failures (`authenticationFailed`, `replayed`, `replayTooOld`) are expected on a hostile
/// network: callers count and drop them rather than tearing the session down.
public enum SRTPError: Error, Sendable, Hashable {
    /// `srtp_init()` failed, so no session can exist.
    case libraryUnavailable
    /// The master key or salt has the wrong length for the profile.
    case invalidKeyLength(expected: Int, actual: Int)
    /// The packet cannot be an (S)RTP or (S)RTCP packet of this length.
    case packetTooShort(length: Int)
    case packetTooLong(length: Int)
    /// The packet's tag did not verify: tampered, wrong key, or not SRTP at all.
    case authenticationFailed
    /// The packet index was already seen (replay window).
    case replayed
    /// The packet index fell behind the replay window.
    case replayTooOld
    /// libsrtp2 rejected a parameter (also returned for malformed headers).
    case badParameter
    case allocationFailed
    case cipherFailed
    case noContext
    case parseError
    case keyExpired
    /// Any other `srtp_err_status_t`, kept as its raw value for logs.
    case libsrtp(status: Int)

    init(status: srtp_err_status_t) {
        switch status {
        case srtp_err_status_auth_fail: self = .authenticationFailed
        case srtp_err_status_replay_fail: self = .replayed
        case srtp_err_status_replay_old: self = .replayTooOld
        case srtp_err_status_bad_param: self = .badParameter
        case srtp_err_status_alloc_fail: self = .allocationFailed
        case srtp_err_status_cipher_fail: self = .cipherFailed
        case srtp_err_status_no_ctx: self = .noContext
        case srtp_err_status_parse_err: self = .parseError
        case srtp_err_status_key_expired: self = .keyExpired
        case srtp_err_status_init_fail: self = .libraryUnavailable
        default: self = .libsrtp(status: Int(status.rawValue))
        }
    }
}

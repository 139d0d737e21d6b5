internal import CSRTP

/// libsrtp2 wants `srtp_init()` once per process before any session exists.
public enum SRTPLibrary {
    private static let initialized: Bool = srtp_init() == srtp_err_status_ok

    /// Initializes libsrtp2 (once); false if the library refused.
    @discardableResult
    public static func initialize() -> Bool { initialized }

    /// The linked libsrtp2 version, e.g. "libsrtp2 2.5.0".
    public static var version: String { String(cString: srtp_get_version_string()) }
}

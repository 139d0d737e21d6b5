internal import COpenSSL

public enum OpenSSLLibrary {
    /// The linked OpenSSL version, e.g. "OpenSSL 3.0.19 ...".
    public static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}

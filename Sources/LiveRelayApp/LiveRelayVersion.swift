import DTLS
import SRTP
import Codecs

public enum LiveRelayVersion {
    public static let version = "0.1.0"

    public static func describe() -> String {
        """
        LiveRelay \(version)
        \(NativeLibraryVersions.current)
        \(SRTPLibrary.version), \(OpenSSLLibrary.version)
        """
    }
}

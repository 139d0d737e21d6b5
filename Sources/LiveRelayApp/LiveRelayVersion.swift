import DTLS
import SRTP
import Transcode

public enum LiveRelayVersion {
    public static let version = "0.1.0"

    public static func describe() -> String {
        """
        LiveRelay \(version)
        libavcodec \(NativeLibraryVersions.libavcodec), libavformat \(NativeLibraryVersions.libavformat)
        \(NativeLibraryVersions.libvpx), libopus \(NativeLibraryVersions.libopus)
        \(SRTPLibrary.version), \(OpenSSLLibrary.version)
        """
    }
}

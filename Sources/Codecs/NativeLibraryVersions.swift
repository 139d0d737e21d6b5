internal import CFFmpeg
internal import COpus
internal import CVPX

/// Versions of the C media libraries this process linked, for the startup log and bug reports: codec behaviour
/// (and its bugs) follows the Debian package in use, not LiveRelay's version.
public struct NativeLibraryVersions: Sendable, Equatable, CustomStringConvertible {
    /// FFmpeg release the libav* libraries come from, e.g. "5.1.6-0+deb12u1".
    public let ffmpeg: String
    public let libavcodec: String
    public let libavformat: String
    public let libavutil: String
    public let libswscale: String
    public let libswresample: String
    public let libvpx: String
    public let libopus: String

    /// The versions of the libraries loaded now (run time, which may differ from the headers built against).
    public static var current: NativeLibraryVersions {
        NativeLibraryVersions(
            ffmpeg: String(cString: av_version_info()),
            libavcodec: dotted(avcodec_version()),
            libavformat: dotted(avformat_version()),
            libavutil: dotted(avutil_version()),
            libswscale: dotted(swscale_version()),
            libswresample: dotted(swresample_version()),
            libvpx: String(cString: vpx_codec_version_str()),
            libopus: String(cString: opus_get_version_string()))
    }

    public var description: String {
        "ffmpeg \(ffmpeg) (libavcodec \(libavcodec), libavformat \(libavformat), libavutil \(libavutil), "
            + "libswscale \(libswscale), libswresample \(libswresample)), libvpx \(libvpx), \(libopus)"
    }

    /// Fields for a structured log line.
    public var logFields: [String: String] {
        ["ffmpeg": ffmpeg, "libavcodec": libavcodec, "libavformat": libavformat, "libavutil": libavutil,
         "libswscale": libswscale, "libswresample": libswresample, "libvpx": libvpx, "libopus": libopus]
    }

    /// libav* packs versions as major << 16 | minor << 8 | micro (AV_VERSION_INT).
    private static func dotted(_ version: UInt32) -> String {
        "\(version >> 16).\((version >> 8) & 0xFF).\(version & 0xFF)"
    }
}

import MediaCore
import NIOCore

/// What an init segment and a manifest need to know about one CMAF track (one track per file, as CMAF requires).
public struct CMAFTrack: Sendable, Equatable {
    public enum Codec: Sendable, Equatable {
        /// H.264 with its AVCDecoderConfigurationRecord (the `avcC` body).
        case avc(width: Int, height: Int, configuration: ByteBuffer)
        /// AAC with its AudioSpecificConfig.
        case aac(sampleRate: Int, channels: Int, audioSpecificConfig: ByteBuffer)
    }

    public var trackID: UInt32
    /// Ticks per second of `tfdt`, `trun` and the manifests' timelines.
    public var timescale: UInt32
    public var codec: Codec

    public init(trackID: UInt32 = 1, timescale: UInt32, codec: Codec) {
        self.trackID = trackID
        self.timescale = timescale
        self.codec = codec
    }

    public var kind: MediaKind {
        switch codec {
        case .avc: return .video
        case .aac: return .audio
        }
    }

    /// RFC 6381 codecs parameter: `avc1.PPCCLL` from the avcC, `mp4a.40.AOT` from the AudioSpecificConfig.
    public var codecsString: String {
        switch codec {
        case .avc(_, _, let configuration):
            let bytes = Array(configuration.readableBytesView.dropFirst().prefix(3))
            guard bytes.count == 3 else { return "avc1" }
            return "avc1." + bytes.map(Self.hexByte).joined()
        case .aac(_, _, let asc):
            let objectType = (try? AudioSpecificConfig.parse(asc))?.audioObjectType ?? 2
            return "mp4a.40.\(objectType)"
        }
    }

    public static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

import NIOCore

/// What a decoder needs to start decoding a video track, plus what operators want to see about it.
public struct VideoTrackConfig: Sendable, Equatable {
    public var codec: MediaCodec
    public var width: Int
    public var height: Int
    /// Frame rate announced by the publisher (metadata or SPS timing), if any.
    public var declaredFrameRate: Double?
    /// Codec-specific configuration: for H.264 the AVCDecoderConfigurationRecord (ISO/IEC 14496-15).
    public var decoderConfiguration: ByteBuffer

    public init(codec: MediaCodec, width: Int, height: Int, declaredFrameRate: Double? = nil, decoderConfiguration: ByteBuffer) {
        self.codec = codec
        self.width = width
        self.height = height
        self.declaredFrameRate = declaredFrameRate
        self.decoderConfiguration = decoderConfiguration
    }
}

/// What a decoder needs to start decoding an audio track.
public struct AudioTrackConfig: Sendable, Equatable {
    public var codec: MediaCodec
    public var sampleRate: Int
    public var channels: Int
    /// Codec-specific configuration: for AAC the AudioSpecificConfig (ISO/IEC 14496-3).
    public var decoderConfiguration: ByteBuffer

    public init(codec: MediaCodec, sampleRate: Int, channels: Int, decoderConfiguration: ByteBuffer) {
        self.codec = codec
        self.sampleRate = sampleRate
        self.channels = channels
        self.decoderConfiguration = decoderConfiguration
    }
}

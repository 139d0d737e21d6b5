/// Bounds on what a peer can make the chunk decoder hold. Each is checked before any bytes are buffered.
public struct RTMPChunkLimits: Sendable, Equatable {
    /// Largest chunk size a peer may set. The protocol allows up to 2^31−1, but a chunk is parsed in one piece, so
    /// this bounds the per-read buffer; encoders use 4096 (OBS, ffmpeg) to 60000 (some hardware encoders).
    public var maximumChunkSize: Int
    /// Largest message accepted. The biggest messages are video keyframes: 1080p60 at 12 Mb/s gives keyframes of
    /// roughly 0.3–1 MB, a 4K keyframe at 50 Mb/s 2–4 MB; 8 MiB leaves headroom without letting one peer pin much
    /// memory.
    public var maximumMessageLength: Int
    /// Encoders use 3–6 chunk streams (control, command, audio, video, data); 64 is generous.
    public var maximumChunkStreams: Int
    /// Bytes of incomplete messages held across all chunk streams at once.
    public var maximumBufferedBytes: Int

    public init(maximumChunkSize: Int = 65536, maximumMessageLength: Int = 8 << 20, maximumChunkStreams: Int = 64,
                maximumBufferedBytes: Int = 16 << 20) {
        self.maximumChunkSize = maximumChunkSize
        self.maximumMessageLength = maximumMessageLength
        self.maximumChunkStreams = maximumChunkStreams
        self.maximumBufferedBytes = maximumBufferedBytes
    }
}

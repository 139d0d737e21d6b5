import RTMP

public struct RTMPIngestConfiguration: Sendable {
    public var host: String
    /// 1935 by default; 0 picks a free port (tests).
    public var port: Int
    /// The application name encoders connect to (`rtmp://host:port/APPLICATION`, stream key after it).
    public var application: String
    /// Largest Set Chunk Size accepted from a publisher; larger claims close the connection.
    public var maximumChunkSize: Int
    /// Largest RTMP message (in practice: video keyframe) accepted.
    public var maximumMessageLength: Int
    public var maximumChunkStreams: Int
    /// Bytes of partially received messages held per connection.
    public var maximumBufferedBytes: Int
    /// A connection that sends nothing for this long is closed and its stream ends. Encoders send audio every
    /// ~20 ms, so 4 s of silence means the publisher is gone — and a dropped publisher is offline within 5 s.
    public var idleTimeout: Duration
    /// Time allowed from accept to a completed handshake, so that half-open probes do not hold slots.
    public var handshakeTimeout: Duration
    /// Time allowed from accept to an accepted `publish`. Until then a connection is unauthenticated, so it may not
    /// hold a slot (and the few megabytes its chunk streams may buffer) for long: encoders publish within a second.
    public var publishTimeout: Duration
    /// Connections served at once; more are closed on accept.
    public var maximumConnections: Int
    /// Connections served at once from one IP address; more from it are closed on accept, so that one host cannot
    /// fill `maximumConnections` and lock real encoders out.
    public var maximumConnectionsPerAddress: Int

    public init(host: String = "0.0.0.0", port: Int = 1935, application: String = "live", maximumChunkSize: Int = 65536,
                maximumMessageLength: Int = 8 << 20, maximumChunkStreams: Int = 64, maximumBufferedBytes: Int = 16 << 20,
                idleTimeout: Duration = .seconds(4), handshakeTimeout: Duration = .seconds(5),
                publishTimeout: Duration = .seconds(10), maximumConnections: Int = 256,
                maximumConnectionsPerAddress: Int = 16) {
        self.host = host
        self.port = port
        self.application = application
        self.maximumChunkSize = maximumChunkSize
        self.maximumMessageLength = maximumMessageLength
        self.maximumChunkStreams = maximumChunkStreams
        self.maximumBufferedBytes = maximumBufferedBytes
        self.idleTimeout = idleTimeout
        self.handshakeTimeout = handshakeTimeout
        self.publishTimeout = publishTimeout
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerAddress = maximumConnectionsPerAddress
    }

    var sessionConfiguration: RTMPSessionConfiguration {
        RTMPSessionConfiguration(
            application: application,
            chunkLimits: RTMPChunkLimits(maximumChunkSize: maximumChunkSize, maximumMessageLength: maximumMessageLength,
                                         maximumChunkStreams: maximumChunkStreams, maximumBufferedBytes: maximumBufferedBytes))
    }
}

/// What the operator sets about WebRTC egress.
public struct WebRTCSettings: Sendable, Equatable {
    /// Address the media socket binds; every viewer of the node shares this one UDP port.
    public var bindHost: String
    public var port: Int
    /// Event loops the viewers are spread over, each with a socket of its own on the port (SO_REUSEPORT).
    public var threads: Int
    /// Addresses announced as host candidates. Empty: every local interface address (loopback included).
    /// Behind NAT or in a cloud, set the public addresses here.
    public var publicAddresses: [String]
    /// A viewer that answers none of the server's consent checks (sent every 4–6 s) for this long is dropped (RFC 7675 says 30 s).
    public var consentTimeout: Duration
    /// A session that has not completed ICE and DTLS this long after its offer was answered is freed.
    public var connectTimeout: Duration
    /// Sessions one client address may hold that have not connected yet; beyond it WHEP answers 429.
    public var maximumPendingPerClient: Int
    /// After the publisher stops, viewers are kept this long for a reconnecting publisher, then released.
    public var offlineGrace: Duration
    /// Viewers per node; beyond it WHEP answers 503.
    public var maximumViewers: Int
    /// Frames waiting for the media loop before new ones are dropped (the loop never queues without bound). Small, so
    /// a saturated loop sheds media instead of answering connectivity checks and feedback seconds late.
    public var maximumPendingFrames: Int
    /// Largest RTP packet written, headers included (before the SRTP tag).
    public var maximumPacketSize: Int
    /// A viewer already on the bottom rung whose estimate stays under half of that rung's cost for this long is
    /// closed (`too_slow`): it cannot be served, and feeding it only fills a queue on its path.
    public var slowViewerTimeout: Duration
    /// Each viewer is paced at this many times what its path is estimated to carry (or what its rung costs, when
    /// that is more: the layer choice, not the pacer, keeps a viewer within its path). libwebrtc paces at 2.5 ×.
    /// 0: not paced (a frame's packets go back to back).
    public var pacingFactor: Double
    /// What a viewer idle for a moment may be sent at once: this long at its pacing rate. A delta frame goes out
    /// whole; a keyframe is spread over several.
    public var pacingBurst: Duration
    /// Video frames that have waited for the pacer this long are dropped, and the viewer waits for a keyframe: a
    /// live picture late by more than this is better restarted than delivered.
    public var maximumPacingDelay: Duration

    public init(bindHost: String = "0.0.0.0", port: Int = 10000, threads: Int = 1, publicAddresses: [String] = [],
                consentTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10),
                maximumPendingPerClient: Int = 10, offlineGrace: Duration = .seconds(10),
                maximumViewers: Int = 5000, maximumPendingFrames: Int = 48, maximumPacketSize: Int = 1200,
                slowViewerTimeout: Duration = .seconds(10), pacingFactor: Double = 2.5, pacingBurst: Duration = .milliseconds(20),
                maximumPacingDelay: Duration = .milliseconds(500)) {
        self.bindHost = bindHost
        self.port = port
        self.threads = threads
        self.publicAddresses = publicAddresses
        self.consentTimeout = consentTimeout
        self.connectTimeout = connectTimeout
        self.maximumPendingPerClient = maximumPendingPerClient
        self.offlineGrace = offlineGrace
        self.maximumViewers = maximumViewers
        self.maximumPendingFrames = maximumPendingFrames
        self.maximumPacketSize = maximumPacketSize
        self.slowViewerTimeout = slowViewerTimeout
        self.pacingFactor = pacingFactor
        self.pacingBurst = pacingBurst
        self.maximumPacingDelay = maximumPacingDelay
    }
}

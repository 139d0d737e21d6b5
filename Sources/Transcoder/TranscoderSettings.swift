/// One rung of the ladder: the largest picture it may have, its frame-rate cap and its video bitrate.
public struct Rung: Sendable, Equatable, Hashable, Codable {
    public var name: String
    public var width: Int
    public var height: Int
    public var fps: Int
    public var videoKbps: Int

    public init(name: String, width: Int, height: Int, fps: Int = 30, videoKbps: Int) {
        self.name = name
        self.width = width
        self.height = height
        self.fps = fps
        self.videoKbps = videoKbps
    }

    /// 720p 2500k, 360p 800k, 180p 200k.
    public static let defaultLadder: [Rung] = [
        Rung(name: "720p", width: 1280, height: 720, fps: 30, videoKbps: 2500),
        Rung(name: "360p", width: 640, height: 360, fps: 30, videoKbps: 800),
        Rung(name: "180p", width: 320, height: 180, fps: 30, videoKbps: 200),
    ]
    /// The default ladder's H.264 rungs for DASH/HLS: the top one is the source passthrough.
    public static let defaultCMAFRungs: Set<String> = ["360p", "180p"]
}

/// What the application configures about live transcoding.
public struct TranscoderSettings: Sendable, Equatable {
    /// The ladder, largest first. Every rung gets a VP8 layer for WebRTC; rungs smaller than the source also get an
    /// H.264 rendition for DASH/HLS when `cmafRenditions` is on.
    public var ladder: [Rung]
    /// Produce VP8 layers and Opus audio (WebRTC).
    public var webRTCEnabled: Bool
    /// Produce CMAF renditions: the source passthrough plus re-encoded H.264 rungs.
    public var cmafEnabled: Bool
    /// Names of the rungs re-encoded to H.264 for CMAF; nil means every rung smaller than the source.
    public var cmafRungs: Set<String>?
    /// Opus bitrate in bits per second.
    public var opusBitrate: Int
    /// Longest VP8 keyframe interval; viewers ask for keyframes when they need them.
    public var vp8KeyframeIntervalSeconds: Double
    /// Keyframe requests per rung are honoured at most once per this interval (PLI/FIR storms coalesce).
    public var keyframeRequestInterval: Duration
    /// H.264 decoder frame threads (each adds a frame of latency); nil = one up to 1080p60, else min(2, cores).
    public var decoderThreads: Int?
    /// x264 preset of the re-encoded CMAF rungs.
    public var cmafPreset: String
    /// Pictures an H.264 (CMAF) encoder may have waiting; when it is behind, the oldest waiting picture is dropped.
    public var encoderQueueDepth: Int
    /// The same for the VP8 (WebRTC) encoders, kept short: every waiting picture is a frame interval of glass-to-glass
    /// latency, so a VP8 encoder that falls behind drops a picture (as libwebrtc's frame dropper does) instead of
    /// letting a backlog grow (a deep queue lets a loaded host's 720p latency swing by hundreds of milliseconds).
    public var vp8EncoderQueueDepth: Int
    /// Compressed video frames waiting for the decoder before the transcoder drops up to the next keyframe.
    public var decoderQueueDepth: Int
    /// AAC frames waiting for the audio thread (≈ 21 ms each) before the oldest is dropped.
    public var audioQueueDepth: Int
    /// Encode consecutive VP8 rungs that are exact scalings of each other (the default ladder: 720p / 360p / 180p)
    /// together on libvpx's multi-resolution encoder, as libwebrtc does: 9–17 % less VP8 CPU, a keyframe on one is a
    /// keyframe on all. Off: one independent encoder per rung.
    public var vp8Simulcast: Bool

    public init(ladder: [Rung] = Rung.defaultLadder, webRTCEnabled: Bool = true, cmafEnabled: Bool = true,
                cmafRungs: Set<String>? = nil, opusBitrate: Int = 96_000, vp8KeyframeIntervalSeconds: Double = 2,
                keyframeRequestInterval: Duration = .milliseconds(300), decoderThreads: Int? = nil,
                cmafPreset: String = "veryfast", encoderQueueDepth: Int = 8, vp8EncoderQueueDepth: Int = 2,
                decoderQueueDepth: Int = 90, audioQueueDepth: Int = 100, vp8Simulcast: Bool = true) {
        self.ladder = ladder
        self.webRTCEnabled = webRTCEnabled
        self.cmafEnabled = cmafEnabled
        self.cmafRungs = cmafRungs
        self.opusBitrate = opusBitrate
        self.vp8KeyframeIntervalSeconds = vp8KeyframeIntervalSeconds
        self.keyframeRequestInterval = keyframeRequestInterval
        self.decoderThreads = decoderThreads
        self.cmafPreset = cmafPreset
        self.encoderQueueDepth = encoderQueueDepth
        self.vp8EncoderQueueDepth = vp8EncoderQueueDepth
        self.decoderQueueDepth = decoderQueueDepth
        self.audioQueueDepth = audioQueueDepth
        self.vp8Simulcast = vp8Simulcast
    }
}

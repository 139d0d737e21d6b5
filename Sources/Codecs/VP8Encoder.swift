internal import CVPX
import NIOCore

/// Settings for `VP8Encoder`, defaulting to how libwebrtc sets up a real-time simulcast layer.
public struct VP8EncoderConfiguration: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var framesPerSecond: Int
    /// Target bitrate in bits per second (CBR).
    public var bitrate: Int
    /// Longest distance between keyframes in seconds; viewers that join or switch layers ask for one anyway.
    public var keyframeIntervalSeconds: Double
    /// Encoder threads (default 1). libwebrtc uses 2 above VGA, but libvpx's VP8 row threads synchronise by
    /// spinning, which on a loaded host costs far more than it gains (docs/benchmarks.md, "Live transcoder"). The ladder
    /// already runs one thread per layer, which spreads the cores better.
    public var threads: Int
    /// libvpx speed: −6 on desktop, −4 for small pictures (libwebrtc); negative means "real-time, this speed".
    public var cpuUsed: Int?

    public init(width: Int, height: Int, framesPerSecond: Int = 30, bitrate: Int, keyframeIntervalSeconds: Double = 2,
                threads: Int = 1, cpuUsed: Int? = nil) {
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.bitrate = bitrate
        self.keyframeIntervalSeconds = keyframeIntervalSeconds
        self.threads = threads
        self.cpuUsed = cpuUsed
    }

    var effectiveThreads: Int { max(1, threads) }
    var effectiveCPUUsed: Int { cpuUsed ?? (width * height < 352 * 288 ? -4 : -6) }
}

/// VP8 encoder on libvpx in real-time mode, for WebRTC layers.
///
/// One-pass CBR, no lag frames (a picture in, its packet out in the same call), undershoot 100 % / overshoot 15 %,
/// rate-control buffers 500/600/1000 ms, quantizer 2–56, error resilient (a lost packet corrupts less), a keyframe at
/// least every `keyframeIntervalSeconds`, and a keyframe on the next picture after `requestKeyframe()`.
/// Timestamps are in 90 kHz ticks (the RTP clock of VP8), taken as given.
///
/// Not Sendable: one encoder per layer, used from that layer's encoding thread.
public final class VP8Encoder {
    public let configuration: VP8EncoderConfiguration
    /// The RTP clock: pts given to `encode` and returned in packets are in these ticks per second.
    public static let timescale: Int32 = 90_000

    private let codec: UnsafeMutablePointer<vpx_codec_ctx_t>
    private var image = vpx_image_t()
    private var keyframeRequested = false
    private var lastPTS: Int64?

    public init(configuration: VP8EncoderConfiguration) throws(TranscodeError) {
        try Self.validate(configuration)
        self.configuration = configuration
        var settings = try Self.settings(for: configuration)
        let codec = UnsafeMutablePointer<vpx_codec_ctx_t>.allocate(capacity: 1)
        codec.initialize(to: vpx_codec_ctx_t())
        let result = lr_vpx_enc_init(codec, &settings, 0)
        guard result == VPX_CODEC_OK else {
            let failure = Self.error(result, "vpx_codec_enc_init", codec)
            codec.deallocate()
            throw failure
        }
        self.codec = codec
        // From here on deinit destroys the codec.
        try Self.applyControls(configuration, to: codec)

        vpx_img_wrap(&image, VPX_IMG_FMT_I420, UInt32(configuration.width), UInt32(configuration.height), 1, nil)
    }

    deinit {
        vpx_codec_destroy(codec)
        codec.deallocate()
    }

    /// Makes the next encoded picture a keyframe.
    public func requestKeyframe() {
        keyframeRequested = true
    }

    /// Encodes one picture shown at `pts` (90 kHz) for `duration` ticks; returns its packet (none if libvpx chose to
    /// drop the picture, which CBR without frame dropping does not do).
    public func encode(frame picture: PlanarYUVFrame, pts: Int64, duration: Int64) throws(TranscodeError) -> [EncodedPacket] {
        guard picture.width == configuration.width, picture.height == configuration.height else {
            throw .frameSizeMismatch(expectedWidth: configuration.width, expectedHeight: configuration.height,
                                     width: picture.width, height: picture.height)
        }
        if let lastPTS, pts <= lastPTS { throw .nonIncreasingTimestamp(previous: lastPTS, current: pts) }
        lastPTS = pts
        let flags: vpx_enc_frame_flags_t = keyframeRequested ? vpx_enc_frame_flags_t(VPX_EFLAG_FORCE_KF) : 0
        keyframeRequested = false
        let result: vpx_codec_err_t = picture.y.withUnsafeBufferPointer { y in
            picture.u.withUnsafeBufferPointer { u in
                picture.v.withUnsafeBufferPointer { v in
                    // The image points at the Swift planes for the duration of the call only (no lag frames, so
                    // libvpx keeps no reference); libvpx reads, never writes, its input.
                    image.planes.0 = UnsafeMutablePointer(mutating: y.baseAddress)
                    image.planes.1 = UnsafeMutablePointer(mutating: u.baseAddress)
                    image.planes.2 = UnsafeMutablePointer(mutating: v.baseAddress)
                    image.stride.0 = Int32(picture.width)
                    image.stride.1 = Int32(picture.chromaWidth)
                    image.stride.2 = Int32(picture.chromaWidth)
                    defer { image.planes = (nil, nil, nil, nil) }
                    return vpx_codec_encode(codec, &image, pts, UInt(max(1, duration)), flags, UInt(VPX_DL_REALTIME))
                }
            }
        }
        guard result == VPX_CODEC_OK else { throw Self.error(result, "vpx_codec_encode", codec) }
        return drain()
    }

    /// Drains what libvpx still holds (nothing without lag frames, but the call completes the stream).
    public func flush() throws(TranscodeError) -> [EncodedPacket] {
        let result = vpx_codec_encode(codec, nil, 0, 1, 0, UInt(VPX_DL_REALTIME))
        guard result == VPX_CODEC_OK else { throw Self.error(result, "vpx_codec_encode(flush)", codec) }
        return drain()
    }

    private func drain() -> [EncodedPacket] {
        Self.drain(codec)
    }

    /// The frame packets libvpx has ready on `codec`.
    static func drain(_ codec: UnsafeMutablePointer<vpx_codec_ctx_t>) -> [EncodedPacket] {
        var packets: [EncodedPacket] = []
        var iterator: vpx_codec_iter_t?
        while let packet = vpx_codec_get_cx_data(codec, &iterator) {
            guard packet.pointee.kind == VPX_CODEC_CX_FRAME_PKT else { continue }
            let frame = packet.pointee.data.frame
            let bytes = UnsafeRawBufferPointer(start: frame.buf, count: frame.sz)
            packets.append(EncodedPacket(data: ByteBuffer(bytes: bytes), pts: frame.pts, dts: frame.pts,
                                         duration: Int64(frame.duration), timescale: timescale,
                                         isKeyframe: frame.flags & vpx_codec_frame_flags_t(VPX_FRAME_IS_KEY) != 0))
        }
        return packets
    }

    static func validate(_ configuration: VP8EncoderConfiguration) throws(TranscodeError) {
        let width = configuration.width
        let height = configuration.height
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0, width <= 16383, height <= 16383 else {
            throw .invalidDimensions(width: width, height: height)
        }
        guard (1...240).contains(configuration.framesPerSecond) else {
            throw .invalidParameter("frames per second \(configuration.framesPerSecond)")
        }
        guard configuration.bitrate >= 10_000 else { throw .invalidParameter("bitrate \(configuration.bitrate) b/s") }
        guard configuration.keyframeIntervalSeconds > 0 else {
            throw .invalidParameter("keyframe interval \(configuration.keyframeIntervalSeconds) s")
        }
    }

    /// libvpx's configuration for one layer (shared with `VP8SimulcastEncoder`).
    static func settings(for configuration: VP8EncoderConfiguration) throws(TranscodeError) -> vpx_codec_enc_cfg_t {
        var settings = vpx_codec_enc_cfg_t()
        let result = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &settings, 0)
        guard result == VPX_CODEC_OK else { throw error(result, "vpx_codec_enc_config_default", nil) }
        settings.g_w = UInt32(configuration.width)
        settings.g_h = UInt32(configuration.height)
        settings.g_timebase = vpx_rational(num: 1, den: timescale)
        settings.g_threads = UInt32(configuration.effectiveThreads)
        settings.g_lag_in_frames = 0
        settings.g_pass = VPX_RC_ONE_PASS
        settings.g_error_resilient = vpx_codec_er_flags_t(VPX_ERROR_RESILIENT_DEFAULT)
        settings.rc_end_usage = VPX_CBR
        settings.rc_target_bitrate = UInt32(configuration.bitrate / 1000)
        settings.rc_min_quantizer = 2
        settings.rc_max_quantizer = 56
        settings.rc_undershoot_pct = 100
        settings.rc_overshoot_pct = 15
        settings.rc_buf_initial_sz = 500
        settings.rc_buf_optimal_sz = 600
        settings.rc_buf_sz = 1000
        settings.rc_dropframe_thresh = 0
        settings.rc_resize_allowed = 0
        settings.kf_mode = VPX_KF_AUTO
        settings.kf_min_dist = 0
        settings.kf_max_dist = UInt32(max(1, (configuration.keyframeIntervalSeconds * Double(configuration.framesPerSecond)).rounded()))
        return settings
    }

    /// The per-layer controls, set once the codec is open (shared with `VP8SimulcastEncoder`).
    static func applyControls(_ configuration: VP8EncoderConfiguration,
                              to codec: UnsafeMutablePointer<vpx_codec_ctx_t>) throws(TranscodeError) {
        func control(_ id: vp8e_enc_control_id, _ value: Int, _ name: String) throws(TranscodeError) {
            let result = lr_vpx_control_int(codec, Int32(id.rawValue), Int32(value))
            guard result == VPX_CODEC_OK else { throw error(result, name, codec) }
        }
        try control(VP8E_SET_CPUUSED, configuration.effectiveCPUUsed, "VP8E_SET_CPUUSED")
        try control(VP8E_SET_NOISE_SENSITIVITY, 0, "VP8E_SET_NOISE_SENSITIVITY")
        // Skip encoding of blocks that barely changed (libwebrtc uses 1 for screen-like content too).
        try control(VP8E_SET_STATIC_THRESHOLD, 1, "VP8E_SET_STATIC_THRESHOLD")
        // Token partitions let the decoder (and the encoder's threads) work on rows in parallel.
        try control(VP8E_SET_TOKEN_PARTITIONS, configuration.effectiveThreads > 1 ? 1 : 0, "VP8E_SET_TOKEN_PARTITIONS")
        // libwebrtc caps a keyframe at optimal buffer × fps / 20 percent of a frame's budget, so one keyframe does
        // not stall the link for a whole second: 600 ms × 30 / 20 = 900 %.
        try control(VP8E_SET_MAX_INTRA_BITRATE_PCT, max(300, 600 * configuration.framesPerSecond / 20),
                    "VP8E_SET_MAX_INTRA_BITRATE_PCT")
    }

    static func error(_ code: vpx_codec_err_t, _ operation: String,
                              _ codec: UnsafeMutablePointer<vpx_codec_ctx_t>?) -> TranscodeError {
        var message = String(cString: vpx_codec_err_to_string(code))
        if let codec, let detail = vpx_codec_error_detail(codec) { message += ": " + String(cString: detail) }
        return .library(operation: operation, code: Int32(code.rawValue), message: message)
    }
}

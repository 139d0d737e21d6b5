internal import CFFmpeg
import MediaCore
import NIOCore

/// Settings for `H264Encoder`. Defaults suit a live 720p30 rung: no B-frames, fixed two-second GOP, constrained bitrate.
public struct H264EncoderConfiguration: Sendable, Equatable {
    /// x264 speed presets LiveRelay uses; slower ones cost more CPU than a live server can spend per rung.
    public enum Preset: String, Sendable, CaseIterable {
        case ultrafast, superfast, veryfast, faster
    }

    public var width: Int
    public var height: Int
    public var framesPerSecond: Int
    /// Ticks per second of the `pts` passed to `encode`. The default (the frame rate, so pts = frame number) also
    /// makes x264 write the true frame rate into the SPS timing info, which demuxers report as the declared rate.
    public var timescale: Int32
    /// Average bitrate in bits per second; also the VBV maximum rate over a one-second buffer.
    public var bitrate: Int
    /// Frames from one IDR to the next. Scene-cut detection is off, so every GOP has exactly this length and
    /// segmenters (CMAF) and layer switches find keyframes where they expect them.
    public var keyframeInterval: Int
    public var preset: Preset
    /// Encoder threads; 1 keeps a rung on one core and its latency to one frame (`tune=zerolatency` uses slices).
    public var threads: Int

    public init(width: Int, height: Int, framesPerSecond: Int = 30, timescale: Int32? = nil, bitrate: Int = 2_500_000,
                keyframeInterval: Int? = nil, preset: Preset = .veryfast, threads: Int = 1) {
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.timescale = timescale ?? Int32(clamping: framesPerSecond)
        self.bitrate = bitrate
        self.keyframeInterval = keyframeInterval ?? framesPerSecond * 2
        self.preset = preset
        self.threads = threads
    }
}

/// H.264 encoder on libavcodec's libx264 wrapper, emitting AVCC (length-prefixed) access units.
///
/// Tuned for live relay: `tune=zerolatency` (no lookahead, no frame delay), no B-frames (WebRTC-style players and
/// the FLV/CMAF paths then never see composition offsets), fixed GOP. Opened with a global header, so the SPS/PPS
/// are available before the first frame as `decoderConfiguration` (an AVCDecoderConfigurationRecord) instead of
/// being repeated in the stream.
///
/// Not Sendable: use one encoder from one thread (or task) at a time.
public final class H264Encoder {
    public let configuration: H264EncoderConfiguration
    /// The AVCDecoderConfigurationRecord (ISO/IEC 14496-15) for the stream this encoder produces.
    public let decoderConfiguration: ByteBuffer

    private let context: EncoderContext
    private let frame: CodecFrame
    private var lastPTS: Int64?
    private var keyframeRequested = false
    private var flushed = false

    public init(configuration: H264EncoderConfiguration) throws(TranscodeError) {
        let width = configuration.width
        let height = configuration.height
        // x264 works on whole 4:2:0 chroma samples, so sizes must be even; 16384 is H.264's practical level limit.
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0, width <= 16384, height <= 16384 else {
            throw .invalidDimensions(width: width, height: height)
        }
        guard configuration.framesPerSecond > 0, configuration.framesPerSecond <= 240 else {
            throw .invalidParameter("frames per second \(configuration.framesPerSecond)")
        }
        guard configuration.timescale > 0 else { throw .invalidParameter("timescale \(configuration.timescale)") }
        guard configuration.bitrate >= 10_000 else { throw .invalidParameter("bitrate \(configuration.bitrate) b/s") }
        guard configuration.keyframeInterval > 0 else {
            throw .invalidParameter("keyframe interval \(configuration.keyframeInterval)")
        }
        guard configuration.threads >= 0 else { throw .invalidParameter("threads \(configuration.threads)") }

        self.configuration = configuration
        context = try EncoderContext(encoderName: "libx264") { encoder throws(TranscodeError) in
            let codec = encoder.context
            codec.pointee.width = Int32(width)
            codec.pointee.height = Int32(height)
            codec.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            codec.pointee.time_base = AVRational(num: 1, den: configuration.timescale)
            codec.pointee.framerate = AVRational(num: Int32(configuration.framesPerSecond), den: 1)
            codec.pointee.bit_rate = Int64(configuration.bitrate)
            codec.pointee.rc_max_rate = Int64(configuration.bitrate)
            codec.pointee.rc_buffer_size = Int32(clamping: configuration.bitrate)
            codec.pointee.gop_size = Int32(configuration.keyframeInterval)
            codec.pointee.keyint_min = Int32(configuration.keyframeInterval)
            codec.pointee.max_b_frames = 0
            codec.pointee.thread_count = Int32(configuration.threads)
            codec.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
            try encoder.setOption("preset", configuration.preset.rawValue)
            try encoder.setOption("tune", "zerolatency")
            // Fixed GOP: no extra IDRs on scene cuts; a requested keyframe is a real IDR, not a recovery point.
            try encoder.setOption("x264-params", "scenecut=0:open-gop=0")
            try encoder.setOption("forced-idr", "1")
        }
        frame = try CodecFrame(width: width, height: height)
        decoderConfiguration = try Self.decoderConfigurationRecord(fromExtradata: context.extradata)
    }

    /// Makes the next encoded frame an IDR (a viewer joined, a layer switch, a segment boundary).
    public func requestKeyframe() {
        keyframeRequested = true
    }

    /// Encodes one picture shown at `pts` (in `configuration.timescale` ticks). With zerolatency the packet for the
    /// picture normally comes out of this same call; an empty result only means the encoder is still buffering.
    public func encode(frame picture: PlanarYUVFrame, pts: Int64) throws(TranscodeError) -> [EncodedPacket] {
        guard !flushed else { throw .alreadyFlushed }
        guard picture.width == configuration.width, picture.height == configuration.height else {
            throw .frameSizeMismatch(expectedWidth: configuration.width, expectedHeight: configuration.height,
                                     width: picture.width, height: picture.height)
        }
        if let lastPTS, pts <= lastPTS { throw .nonIncreasingTimestamp(previous: lastPTS, current: pts) }
        lastPTS = pts
        try frame.fill(from: picture, pts: pts, forceKeyframe: keyframeRequested)
        keyframeRequested = false
        return try context.encode(frame, convert: packet)
    }

    /// Drains pictures still inside the encoder; the encoder takes no frames afterwards.
    public func flush() throws(TranscodeError) -> [EncodedPacket] {
        guard !flushed else { return [] }
        flushed = true
        return try context.encode(nil, convert: packet)
    }

    private func packet(_ raw: EncoderContext.RawPacket) -> EncodedPacket {
        let avcc = H264AnnexB.lengthPrefixed(Array(raw.bytes))
        var data = ByteBuffer()
        data.writeBytes(avcc)
        return EncodedPacket(data: data, pts: raw.pts, dts: raw.dts, duration: raw.duration,
                             timescale: configuration.timescale, isKeyframe: raw.isKeyframe)
    }

    /// libx264 puts SPS and PPS into extradata as Annex B (start codes) — not as an avcC record, unlike encoders
    /// that target MP4 directly — so the record is assembled here. An extradata that already is a record
    /// (configurationVersion 1) is taken as it is.
    static func decoderConfigurationRecord(fromExtradata extradata: [UInt8]) throws(TranscodeError) -> ByteBuffer {
        if extradata.first == 1 {
            return ByteBuffer(bytes: extradata)
        }
        let units = H264AnnexB.nalUnits(extradata)
        let sequenceParameterSets = units.filter { H264AnnexB.type(of: $0) == H264AnnexB.sequenceParameterSetType }
        let pictureParameterSets = units.filter { H264AnnexB.type(of: $0) == H264AnnexB.pictureParameterSetType }
        guard let sps = sequenceParameterSets.first, sps.count >= 4, !pictureParameterSets.isEmpty else {
            throw .library(operation: "libx264 global header", code: 0,
                           message: "extradata without SPS and PPS (\(extradata.count) bytes)")
        }
        let record = AVCDecoderConfigurationRecord(
            profileIndication: sps[sps.startIndex + 1], profileCompatibility: sps[sps.startIndex + 2],
            levelIndication: sps[sps.startIndex + 3], nalUnitLengthSize: 4,
            sequenceParameterSets: sequenceParameterSets.map { ByteBuffer(bytes: $0) },
            pictureParameterSets: pictureParameterSets.map { ByteBuffer(bytes: $0) })
        var buffer = ByteBuffer()
        record.write(to: &buffer)
        return buffer
    }
}

import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import Codecs

/// A scaled picture on its way to the encoders of one size; the planes are shared (copy-on-write), not copied.
struct ScaledPicture: Sendable {
    var picture: PlanarYUVFrame
    /// Source presentation time in milliseconds.
    var ptsMilliseconds: Int64
    var durationMilliseconds: Int64
    /// The source picture was an IDR: CMAF rungs put their keyframe here so segments align across renditions.
    var sourceKeyframe: Bool
}

enum EncoderInput: Sendable {
    case picture(ScaledPicture)
    case end
}

/// One rung's encoder (VP8 for WebRTC or H.264 for CMAF) on its own thread behind a bounded inbox.
///
/// The encoder follows the size of the pictures it is given: a different size (the source changed resolution)
/// closes the old encoder and opens a new one, which starts with a keyframe.
final class RungEncoder: @unchecked Sendable {
    // @unchecked: `vp8`, `h264`, `size`, `lastPTS` are touched only by `encode`/`finish`, which run on the worker
    // thread; the other stored properties are immutable or locked.
    enum Codec: String, Sendable {
        case vp8, h264
    }

    let rung: Rung
    let codec: Codec
    private let settings: TranscoderSettings
    private let emit: @Sendable (RenditionEvent) -> Void
    private let output: RungOutput
    private let keyframeRequested = NIOLockedValueBox(false)
    private let logger: Logger
    private var worker: BoundedWorker<EncoderInput>!

    private var vp8: VP8Encoder?
    private var h264: H264Encoder?
    private var size: PictureSize?
    private var lastPTS: Int64?

    init(rung: Rung, codec: Codec, stream: String, settings: TranscoderSettings,
         statistics: NIOLockedValueBox<TranscoderStatistics>, logger: Logger,
         emit: @escaping @Sendable (RenditionEvent) -> Void, finished: @escaping @Sendable () -> Void) {
        self.rung = rung
        self.codec = codec
        self.settings = settings
        self.emit = emit
        self.logger = logger
        let output = RungOutput(rung: rung, codec: codec, stream: stream, statistics: statistics, emit: emit)
        self.output = output
        worker = BoundedWorker(name: "\(codec.rawValue) \(rung.name)", capacity: codec == .vp8 ? settings.vp8EncoderQueueDepth : settings.encoderQueueDepth,
                               batchScheduling: true,
                               process: { [weak self] input in
            // Weak: the worker thread may still drain its last items after the encoder was released.
            guard let self else { return true }
            switch input {
            case .picture(let picture):
                self.encode(picture)
                return false
            case .end:
                self.finish()
                finished()
                return true
            }
        }, onDrop: { dropped, next in
            output.countDrop()
            // The aligned keyframe must not be lost with the picture that carried it.
            if case .picture(let droppedPicture) = dropped, droppedPicture.sourceKeyframe,
               case .picture(var following) = next {
                following.sourceKeyframe = true
                next = .picture(following)
            }
        })
    }

    func submit(_ picture: ScaledPicture) {
        worker.submit(.picture(picture), droppable: true)
    }

    func end() {
        worker.finish(with: .end)
    }

    /// Makes the next encoded picture a keyframe (already rate-limited by the caller).
    func requestKeyframe() {
        keyframeRequested.withLockedValue { $0 = true }
    }

    private func takeKeyframeRequest() -> Bool {
        keyframeRequested.withLockedValue { requested in
            defer { requested = false }
            return requested
        }
    }

    private func encode(_ scaled: ScaledPicture) {
        let pictureSize = PictureSize(width: scaled.picture.width, height: scaled.picture.height)
        let pts = scaled.ptsMilliseconds * 90
        if let lastPTS, pts <= lastPTS { return }
        do {
            if pictureSize != size || (vp8 == nil && h264 == nil) {
                try open(for: pictureSize)
            }
            let started = ContinuousClock.now
            let packets: [EncodedPacket]
            switch codec {
            case .vp8:
                guard let vp8 else { return }
                if takeKeyframeRequest() { vp8.requestKeyframe() }
                packets = try vp8.encode(frame: scaled.picture, pts: pts, duration: max(1, scaled.durationMilliseconds * 90))
            case .h264:
                guard let h264 else { return }
                let requested = takeKeyframeRequest()
                if scaled.sourceKeyframe || requested { h264.requestKeyframe() }
                packets = try h264.encode(frame: scaled.picture, pts: pts)
            }
            let elapsed = (ContinuousClock.now - started).nanoseconds
            lastPTS = pts
            output.deliver(packets, encodeNanoseconds: elapsed)
        } catch {
            logger.warning("encoder failed; reopening on the next picture",
                           metadata: ["rung": "\(rung.name)", "codec": "\(codec.rawValue)", "error": "\(error)"])
            output.countEncodeError()
            vp8 = nil
            h264 = nil
        }
    }

    private func open(for pictureSize: PictureSize) throws {
        flushEncoder()
        switch codec {
        case .vp8:
            vp8 = try VP8Encoder(configuration: VP8EncoderConfiguration(
                width: pictureSize.width, height: pictureSize.height, framesPerSecond: rung.fps,
                bitrate: rung.videoKbps * 1000, keyframeIntervalSeconds: settings.vp8KeyframeIntervalSeconds))
        case .h264:
            let preset = H264EncoderConfiguration.Preset(rawValue: settings.cmafPreset) ?? .veryfast
            // Keyframes come from the source's (forced); the encoder's own interval is only a long backstop.
            let encoder = try H264Encoder(configuration: H264EncoderConfiguration(
                width: pictureSize.width, height: pictureSize.height, framesPerSecond: rung.fps, timescale: 90_000,
                bitrate: rung.videoKbps * 1000, keyframeInterval: rung.fps * 60, preset: preset, threads: 1))
            h264 = encoder
            emit(.cmafVideoConfiguration(rendition: rung.name, VideoTrackConfig(
                codec: .h264, width: pictureSize.width, height: pictureSize.height,
                declaredFrameRate: Double(rung.fps), decoderConfiguration: encoder.decoderConfiguration)))
        }
        size = pictureSize
        lastPTS = nil
        output.opened(pictureSize)
    }

    private func flushEncoder() {
        do {
            if let vp8 { output.deliver(try vp8.flush()) }
            if let h264 { output.deliver(try h264.flush()) }
        } catch {
            output.countEncodeError()
        }
        vp8 = nil
        h264 = nil
    }

    private func finish() {
        flushEncoder()
    }
}

/// Where one rung's encoded pictures go: the transcoder's output, `/metrics` and the statistics.
struct RungOutput: Sendable {
    let rung: Rung
    let codec: RungEncoder.Codec
    private let metrics: RungMetrics
    private let statistics: NIOLockedValueBox<TranscoderStatistics>
    private let emit: @Sendable (RenditionEvent) -> Void

    init(rung: Rung, codec: RungEncoder.Codec, stream: String, statistics: NIOLockedValueBox<TranscoderStatistics>,
         emit: @escaping @Sendable (RenditionEvent) -> Void) {
        self.rung = rung
        self.codec = codec
        self.metrics = RungMetrics(stream: stream, rung: rung.name, codec: codec.rawValue)
        self.statistics = statistics
        self.emit = emit
    }

    /// A picture dropped from the encoder's inbox.
    func countDrop() {
        metrics.dropped.increment()
        statistics.withLockedValue { $0.update(codec, rung.name) { $0.dropped += 1 } }
    }

    func countEncodeError() {
        statistics.withLockedValue { $0.update(codec, rung.name) { $0.encodeErrors += 1 } }
    }

    /// An encoder opened (again) at this size.
    func opened(_ size: PictureSize) {
        statistics.withLockedValue {
            $0.update(codec, rung.name) { layer in
                layer.width = size.width
                layer.height = size.height
                layer.reconfigurations += 1
            }
        }
    }

    func deliver(_ packets: [EncodedPacket], encodeNanoseconds: Int64? = nil) {
        if let encodeNanoseconds { metrics.encodeLatency.recordNanoseconds(encodeNanoseconds) }
        guard !packets.isEmpty else {
            if let encodeNanoseconds {
                statistics.withLockedValue { $0.update(codec, rung.name) { $0.recordEncodeLatency(nanoseconds: encodeNanoseconds) } }
            }
            return
        }
        var bytes = 0
        var keyframes = 0
        for packet in packets {
            bytes += packet.data.readableBytes
            if packet.isKeyframe { keyframes += 1 }
            let frame = EncodedFrame(codec: codec == .vp8 ? .vp8 : .h264, pts: packet.pts, dts: packet.dts,
                                     timescale: packet.timescale, isKeyframe: packet.isKeyframe, data: packet.data)
            switch codec {
            case .vp8: emit(.webRTCVideo(layer: rung.name, frame: frame))
            case .h264: emit(.cmafVideo(rendition: rung.name, frame: frame))
            }
        }
        metrics.frames.increment(by: packets.count)
        metrics.bytes.increment(by: bytes)
        statistics.withLockedValue {
            $0.update(codec, rung.name) { layer in
                if let encodeNanoseconds { layer.recordEncodeLatency(nanoseconds: encodeNanoseconds) }
                layer.frames += packets.count
                layer.keyframes += keyframes
                layer.bytes += bytes
            }
        }
    }
}

extension TranscoderStatistics {
    mutating func update(_ codec: RungEncoder.Codec, _ rung: String, _ change: (inout Layer) -> Void) {
        switch codec {
        case .vp8: change(&webRTC[rung, default: Layer()])
        case .h264: change(&cmaf[rung, default: Layer()])
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

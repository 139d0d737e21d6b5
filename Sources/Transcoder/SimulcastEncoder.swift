import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import Codecs

/// The VP8 layers of rungs that libvpx can encode together (`VP8SimulcastEncoder`: each the one above made smaller
/// by one exact ratio, one frame rate), on one thread behind one bounded inbox. Each item is the set of one source
/// picture's scaled pictures, largest first; each rung keeps its own output, metrics and statistics.
///
/// A keyframe request for any of the rungs makes the next picture a keyframe on all of them (libvpx ties the
/// layers' frame types together, as libwebrtc's simulcast does); requests are coalesced per rung by the caller and
/// here into one. A dropped item counts as a dropped picture on every rung. Pictures of other sizes than the
/// encoder's (the source changed resolution) reopen it, starting with a keyframe.
final class SimulcastEncoder: @unchecked Sendable {
    // @unchecked: `encoder`, `sizes` and `lastPTS` are touched only on the worker thread; the other stored properties
    // are immutable or locked.
    enum Input: Sendable {
        case pictures([ScaledPicture])
        case end
    }

    let rungs: [Rung]
    private let settings: TranscoderSettings
    private let outputs: [RungOutput]
    private let keyframeRequested = NIOLockedValueBox(false)
    private let logger: Logger
    private var worker: BoundedWorker<Input>!

    private var encoder: VP8SimulcastEncoder?
    private var sizes: [PictureSize] = []
    private var lastPTS: Int64?

    init(rungs: [Rung], stream: String, settings: TranscoderSettings, statistics: NIOLockedValueBox<TranscoderStatistics>,
         logger: Logger, emit: @escaping @Sendable (RenditionEvent) -> Void, finished: @escaping @Sendable () -> Void) {
        self.rungs = rungs
        self.settings = settings
        self.logger = logger
        let outputs = rungs.map { RungOutput(rung: $0, codec: .vp8, stream: stream, statistics: statistics, emit: emit) }
        self.outputs = outputs
        worker = BoundedWorker(name: "vp8 \(rungs.map(\.name).joined(separator: "+"))", capacity: settings.vp8EncoderQueueDepth,
                               batchScheduling: true,
                               process: { [weak self] input in
            // Weak: the worker thread may still drain its last items after the encoder was released.
            guard let self else { return true }
            switch input {
            case .pictures(let pictures):
                self.encode(pictures)
                return false
            case .end:
                self.flush()
                finished()
                return true
            }
        }, onDrop: { _, _ in
            // Every VP8 keyframe is asked for (or due to the interval): nothing to carry to the next picture.
            for output in outputs { output.countDrop() }
        })
    }

    /// Whether libvpx can encode these rungs' VP8 layers, at these sizes, together.
    static func canEncodeTogether(_ rungs: [Rung], sizes: [PictureSize], settings: TranscoderSettings) -> Bool {
        VP8SimulcastEncoder.canEncodeTogether(zip(rungs, sizes).map { configuration($0, $1, settings) })
    }

    private static func configuration(_ rung: Rung, _ size: PictureSize, _ settings: TranscoderSettings) -> VP8EncoderConfiguration {
        VP8EncoderConfiguration(width: size.width, height: size.height, framesPerSecond: rung.fps,
                                bitrate: rung.videoKbps * 1000, keyframeIntervalSeconds: settings.vp8KeyframeIntervalSeconds)
    }

    /// One source picture at every rung's size, largest first.
    func submit(_ pictures: [ScaledPicture]) {
        worker.submit(.pictures(pictures), droppable: true)
    }

    func end() {
        worker.finish(with: .end)
    }

    /// Makes the next encoded picture a keyframe on every rung (already rate-limited per rung by the caller).
    func requestKeyframe() {
        keyframeRequested.withLockedValue { $0 = true }
    }

    private func encode(_ pictures: [ScaledPicture]) {
        guard let first = pictures.first, pictures.count == rungs.count else { return }
        let pictureSizes = pictures.map { PictureSize(width: $0.picture.width, height: $0.picture.height) }
        let pts = first.ptsMilliseconds * 90
        if let lastPTS, pts <= lastPTS { return }
        do {
            if pictureSizes != sizes || encoder == nil { try open(for: pictureSizes) }
            guard let encoder else { return }
            if keyframeRequested.withLockedValue({ requested in defer { requested = false }; return requested }) {
                encoder.requestKeyframe()
            }
            let started = ContinuousClock.now
            let packets = try encoder.encode(frames: pictures.map(\.picture), pts: pts,
                                             duration: max(1, first.durationMilliseconds * 90))
            // Every layer's packets leave when the call returns: each rung's latency is the whole call's.
            let elapsed = (ContinuousClock.now - started).nanoseconds
            lastPTS = pts
            for (output, layerPackets) in zip(outputs, packets) { output.deliver(layerPackets, encodeNanoseconds: elapsed) }
        } catch {
            logger.warning("simulcast encoder failed; reopening on the next pictures",
                           metadata: ["rungs": "\(rungs.map(\.name))", "error": "\(error)"])
            for output in outputs { output.countEncodeError() }
            encoder = nil
        }
    }

    private func open(for pictureSizes: [PictureSize]) throws {
        flush()
        encoder = try VP8SimulcastEncoder(configurations: zip(rungs, pictureSizes).map { Self.configuration($0, $1, settings) })
        sizes = pictureSizes
        lastPTS = nil
        for (output, size) in zip(outputs, pictureSizes) { output.opened(size) }
    }

    private func flush() {
        do {
            if let encoder {
                for (output, packets) in zip(outputs, try encoder.flush()) { output.deliver(packets) }
            }
        } catch {
            for output in outputs { output.countEncodeError() }
        }
        encoder = nil
    }
}

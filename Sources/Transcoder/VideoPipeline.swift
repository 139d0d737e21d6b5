import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import Codecs

/// A publication's video: H.264 decoded once, each rung size scaled once per picture, the pictures handed to the rung
/// encoders (each on its own thread behind a small dropping queue). Everything below is touched only on the decoding
/// thread, except the keyframe requesters, which are locked.
final class VideoPipeline: @unchecked Sendable {
    enum Input: Sendable {
        case configuration(VideoTrackConfig)
        case frame(EncodedFrame, afterDrop: Bool)
        case end
    }

    let stream: String
    let settings: TranscoderSettings
    let statistics: NIOLockedValueBox<TranscoderStatistics>
    private let emit: @Sendable (RenditionEvent) -> Void
    private let logger: Logger
    private let metrics: DecoderMetrics
    private let completion: Completion
    private let limiter: NIOLockedValueBox<KeyframeRequestLimiter>
    /// Who makes each WebRTC rung's next keyframe, and the key its requests are coalesced under: the rung's own, or
    /// for rungs encoded together the group's (one keyframe serves them all, so at most one per interval for all).
    private let keyframeRequesters = NIOLockedValueBox([String: (coalescing: String, request: @Sendable () -> Void)]())
    private var worker: BoundedWorker<Input>!

    // Video worker thread only.
    private var decoder: H264Decoder?
    private var layout: LadderLayout?
    private var targets: [Target] = []
    private var groups: [SimulcastGroup] = []
    private var encoders: [String: RungEncoder] = [:]
    private var simulcastEncoders: [String: SimulcastEncoder] = [:]
    private var lastPicturePTS: Int64?
    private var nominalFrameDuration: Int64 = 33

    /// A rung size: its scaler and the encoders fed from it, each with its frame-rate cap, and the VP8 simulcast
    /// group whose `position`-th layer it is, if any.
    private struct Target {
        var size: PictureSize
        var scaler: Scaler
        var encoders: [(encoder: RungEncoder, limiter: FrameRateLimiter)]
        var group: (index: Int, position: Int)?
    }

    /// VP8 layers encoded together (`SimulcastEncoder`), with the frame-rate cap they share.
    private struct SimulcastGroup {
        var encoder: SimulcastEncoder
        var limiter: FrameRateLimiter
        var layers: Int
    }

    init(stream: String, settings: TranscoderSettings, logger: Logger, metrics: DecoderMetrics,
         statistics: NIOLockedValueBox<TranscoderStatistics>, completion: Completion,
         emit: @escaping @Sendable (RenditionEvent) -> Void) {
        self.stream = stream
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.statistics = statistics
        self.completion = completion
        self.emit = emit
        self.limiter = NIOLockedValueBox(KeyframeRequestLimiter(interval: settings.keyframeRequestInterval))
        worker = BoundedWorker(name: "decode \(stream)", capacity: settings.decoderQueueDepth, batchScheduling: true,
                               process: { [weak self] input in self?.processVideo(input) ?? true },
                               onDrop: { _, next in
            metrics.decoderDrops.increment()
            statistics.withLockedValue { $0.decoderQueueDrops += 1 }
            // Later frames refer to the dropped one: the decoder must wait for the next keyframe.
            if case .frame(let frame, _) = next { next = .frame(frame, afterDrop: true) }
        })
    }

    func submit(_ input: Input, droppable: Bool) {
        worker.submit(input, droppable: droppable)
    }

    func finish() {
        worker.finish(with: .end)
    }

    /// Returns whether the request went through the coalescing (false: a keyframe is already on its way).
    func requestKeyframe(rung: String) -> Bool {
        guard let requester = keyframeRequesters.withLockedValue({ $0[rung] }) else { return false }
        guard limiter.withLockedValue({ $0.admit(rung: requester.coalescing) }) else { return false }
        requester.request()
        return true
    }

    private func processVideo(_ input: Input) -> Bool {
        switch input {
        case .configuration(let config):
            if let decoder { handle(decoder.flush()) }
            do {
                let threads = settings.decoderThreads
                    ?? Self.decoderThreads(width: config.width, height: config.height, fps: config.declaredFrameRate)
                decoder = try H264Decoder(decoderConfiguration: config.decoderConfiguration, threads: threads)
            } catch {
                decoder = nil
                countVideoErrors(1)
                logger.warning("unusable H.264 configuration; waiting for the next one",
                               metadata: ["stream": "\(stream)", "error": "\(error)"])
            }
            if let fps = config.declaredFrameRate, fps > 0 { nominalFrameDuration = Int64((1000 / fps).rounded()) }
            return false
        case .frame(let frame, let afterDrop):
            guard let decoder else {
                statistics.withLockedValue { $0.videoFramesSkipped += 1 }
                return false
            }
            if afterDrop { decoder.skipUntilKeyframe() }
            let errorsBefore = decoder.errorCount
            let skippedBefore = decoder.skippedCount
            let pictures = decoder.decode(frame.data, pts: TranscodingPipeline.milliseconds(frame.pts, frame.timescale),
                                          dts: TranscodingPipeline.milliseconds(frame.dts, frame.timescale), isKeyframe: frame.isKeyframe)
            if decoder.errorCount != errorsBefore { countVideoErrors(decoder.errorCount - errorsBefore) }
            if decoder.skippedCount != skippedBefore {
                statistics.withLockedValue { $0.videoFramesSkipped += decoder.skippedCount - skippedBefore }
            }
            handle(pictures)
            return false
        case .end:
            if let decoder { handle(decoder.flush()) }
            decoder = nil
            let all = Array(encoders.values)
            let simulcast = Array(simulcastEncoders.values)
            completion.add(all.count + simulcast.count)
            for encoder in all { encoder.end() }
            for encoder in simulcast { encoder.end() }
            completion.done()
            return true
        }
    }

    /// One decoding thread up to 1080p60: one core decodes that faster than real time, and a second frame thread
    /// costs a frame of latency and more decoding CPU (docs/benchmarks.md, "Live transcoder"). Larger sources get two
    /// (at most one per core).
    static func decoderThreads(width: Int, height: Int, fps: Double?) -> Int {
        let pixelsPerSecond = Double(width * height) * max(fps ?? 30, 30)
        return pixelsPerSecond <= 1920 * 1080 * 60 ? 1 : min(2, System.coreCount)
    }

    private func countVideoErrors(_ count: Int) {
        metrics.videoErrors.increment(by: count)
        statistics.withLockedValue { $0.videoDecodeErrors += count }
    }

    private func handle(_ pictures: [DecodedVideoFrame]) {
        for picture in pictures {
            statistics.withLockedValue { $0.decodedPictures += 1 }
            let size = PictureSize(width: picture.width, height: picture.height)
            if layout?.source != size { relayout(for: size) }
            if let lastPicturePTS, picture.pts <= lastPicturePTS { continue }
            let duration = lastPicturePTS.map { min(picture.pts - $0, 1000) } ?? nominalFrameDuration
            lastPicturePTS = picture.pts
            // Each rung is scaled from the smallest picture already made at twice its size or more (720p → 360p →
            // 180p), else from the source: libswscale's cost follows its input's area.
            var scaledFromThisPicture: [PlanarYUVFrame] = []
            var groupAdmitted: [Bool] = []
            for index in groups.indices { groupAdmitted.append(groups[index].limiter.admit(picture.pts)) }
            var groupPictures = groups.map { [ScaledPicture?](repeating: nil, count: $0.layers) }
            for index in targets.indices {
                var wanted: [RungEncoder] = []
                for slot in targets[index].encoders.indices {
                    // A CMAF rung never skips a source keyframe: its segments must start where the source's do.
                    let aligned = picture.isKeyframe && targets[index].encoders[slot].encoder.codec == .h264
                    if targets[index].encoders[slot].limiter.admit(picture.pts, force: aligned) {
                        wanted.append(targets[index].encoders[slot].encoder)
                    }
                }
                let group = targets[index].group
                let inAdmittedGroup = group.map { groupAdmitted[$0.index] } ?? false
                guard !wanted.isEmpty || inAdmittedGroup else { continue }
                do {
                    let size = targets[index].size
                    let larger = scaledFromThisPicture
                        .filter { $0.width >= 2 * size.width && $0.height >= 2 * size.height }
                        .min { $0.width * $0.height < $1.width * $1.height }
                    let scaler = targets[index].scaler
                    let output = try larger.map { larger throws(TranscodeError) in try scaler.scale(larger) }
                        ?? scaler.scale(picture)
                    scaledFromThisPicture.append(output)
                    let scaled = ScaledPicture(picture: output, ptsMilliseconds: picture.pts,
                                               durationMilliseconds: duration, sourceKeyframe: picture.isKeyframe)
                    for encoder in wanted { encoder.submit(scaled) }
                    if let group, inAdmittedGroup { groupPictures[group.index][group.position] = scaled }
                } catch {
                    countVideoErrors(1)
                }
            }
            for index in groups.indices where groupAdmitted[index] {
                let pictures = groupPictures[index].compactMap { $0 }
                if !pictures.isEmpty, pictures.count == groups[index].layers { groups[index].encoder.submit(pictures) }
            }
        }
    }

    /// The source size changed (or is first known): fit the ladder to it and route each size to its encoders.
    private func relayout(for source: PictureSize) {
        let layout = LadderLayout(source: source, ladder: settings.ladder)
        self.layout = layout
        statistics.withLockedValue { $0.sourceSizeChanges += 1 }
        var targets: [Target] = []
        var webRTCLayers: [RenditionLayout.Layer] = []
        var cmafRenditions: [RenditionLayout.Layer] = []
        if settings.cmafEnabled {
            cmafRenditions.append(RenditionLayout.Layer(rung: LiveTranscoder.passthroughRendition, width: source.width,
                                                         height: source.height, fps: 0, bitrate: 0))
        }
        let chains = settings.webRTCEnabled && settings.vp8Simulcast ? simulcastChains(layout.entries) : []
        var groups: [SimulcastGroup] = []
        var groupOfEntry: [Int: (index: Int, position: Int)] = [:]
        for chain in chains {
            let rungs = chain.map { layout.entries[$0].rung }
            let encoder = simulcastEncoder(rungs)
            for (position, entry) in chain.enumerated() { groupOfEntry[entry] = (groups.count, position) }
            groups.append(SimulcastGroup(encoder: encoder, limiter: FrameRateLimiter(fps: rungs[0].fps), layers: rungs.count))
        }
        for (entryIndex, entry) in layout.entries.enumerated() {
            var slots: [(encoder: RungEncoder, limiter: FrameRateLimiter)] = []
            let layer = RenditionLayout.Layer(rung: entry.rung.name, width: entry.size.width, height: entry.size.height,
                                               fps: entry.rung.fps, bitrate: entry.rung.videoKbps * 1000)
            let group = groupOfEntry[entryIndex]
            if settings.webRTCEnabled {
                if group == nil {
                    let encoder = encoder(entry.rung, .vp8)
                    slots.append((encoder, FrameRateLimiter(fps: entry.rung.fps)))
                    keyframeRequesters.withLockedValue { $0[entry.rung.name] = (entry.rung.name, { encoder.requestKeyframe() }) }
                }
                webRTCLayers.append(layer)
            }
            let smallerThanSource = entry.size.width < source.width || entry.size.height < source.height
            if settings.cmafEnabled, smallerThanSource, settings.cmafRungs?.contains(entry.rung.name) ?? true {
                slots.append((encoder(entry.rung, .h264), FrameRateLimiter(fps: entry.rung.fps)))
                cmafRenditions.append(layer)
            }
            guard !slots.isEmpty || group != nil,
                  let scaler = try? Scaler(width: entry.size.width, height: entry.size.height) else {
                if let group { groups[group.index].layers = 0 }  // a layer cannot be made: the group is not fed
                continue
            }
            targets.append(Target(size: entry.size, scaler: scaler, encoders: slots, group: group))
        }
        self.targets = targets
        self.groups = groups
        logger.info("transcoding ladder", metadata: [
            "stream": "\(stream)", "source": "\(source)",
            "layers": "\(webRTCLayers.map { "\($0.rung)=\($0.width)x\($0.height)" }.joined(separator: ","))",
        ])
        emit(.layout(RenditionLayout(webRTCLayers: webRTCLayers, cmafRenditions: cmafRenditions)))
    }

    private func encoder(_ rung: Rung, _ codec: RungEncoder.Codec) -> RungEncoder {
        let key = "\(codec.rawValue):\(rung.name)"
        if let existing = encoders[key] { return existing }
        let completion = completion
        let encoder = RungEncoder(rung: rung, codec: codec, stream: stream, settings: settings, statistics: statistics,
                                  logger: logger, emit: emit, finished: { completion.done() })
        encoders[key] = encoder
        return encoder
    }

    /// Runs of consecutive ladder entries (indices, largest first) whose VP8 layers libvpx can encode together.
    private func simulcastChains(_ entries: [LadderLayout.Entry]) -> [[Int]] {
        var chains: [[Int]] = []
        var start = 0
        while start < entries.count {
            var end = start + 1
            while end < entries.count, SimulcastEncoder.canEncodeTogether(
                entries[start...end].map(\.rung), sizes: entries[start...end].map(\.size), settings: settings) {
                end += 1
            }
            if end - start >= 2 { chains.append(Array(start..<end)) }
            start = end
        }
        return chains
    }

    /// The simulcast encoder of these rungs (one per set of rungs for the stream's life, like `encoder(_:_:)`),
    /// and each rung's keyframe requests routed to it.
    private func simulcastEncoder(_ rungs: [Rung]) -> SimulcastEncoder {
        let key = rungs.map(\.name).joined(separator: "+")
        let encoder = simulcastEncoders[key] ?? SimulcastEncoder(
            rungs: rungs, stream: stream, settings: settings, statistics: statistics, logger: logger, emit: emit,
            finished: { [completion] in completion.done() })
        simulcastEncoders[key] = encoder
        keyframeRequesters.withLockedValue { requesters in
            for rung in rungs { requesters[rung.name] = (key, { encoder.requestKeyframe() }) }
        }
        return encoder
    }
}

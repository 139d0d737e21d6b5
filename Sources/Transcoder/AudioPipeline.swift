import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import Codecs

/// A publication's audio: AAC decoded, resampled to 48 kHz stereo and encoded to Opus, on one thread that alone
/// touches the decoder, the resampler and the encoder.
final class AudioPipeline: @unchecked Sendable {
    enum Input: Sendable {
        case configuration(AudioTrackConfig)
        case frame(EncodedFrame)
        case end
    }

    let settings: TranscoderSettings
    let statistics: NIOLockedValueBox<TranscoderStatistics>
    private let emit: @Sendable (RenditionEvent) -> Void
    private let metrics: DecoderMetrics
    private let completion: Completion
    private var worker: BoundedWorker<Input>!

    // Worker thread only.
    private var aacDecoder: AACDecoder?
    private let resampler = Resampler()
    private var opus: OpusEncoder?

    init(stream: String, settings: TranscoderSettings, metrics: DecoderMetrics, statistics: NIOLockedValueBox<TranscoderStatistics>,
         completion: Completion, emit: @escaping @Sendable (RenditionEvent) -> Void) {
        self.settings = settings
        self.metrics = metrics
        self.statistics = statistics
        self.completion = completion
        self.emit = emit
        worker = BoundedWorker(name: "audio \(stream)", capacity: settings.audioQueueDepth,
                               process: { [weak self] input in self?.processAudio(input) ?? true },
                               onDrop: { _, _ in
            // The Opus clock re-anchors on the source time after the gap.
            metrics.audioDrops.increment()
        })
    }

    func submit(_ input: Input, droppable: Bool) {
        worker.submit(input, droppable: droppable)
    }

    func finish() {
        worker.finish(with: .end)
    }

    private func processAudio(_ input: Input) -> Bool {
        switch input {
        case .configuration(let config):
            statistics.withLockedValue { $0.audioConfigurations += 1 }
            guard settings.webRTCEnabled else { return false }
            do {
                aacDecoder = try AACDecoder(audioSpecificConfig: config.decoderConfiguration)
            } catch {
                aacDecoder = nil
                countAudioErrors(1)
            }
            return false
        case .frame(let frame):
            guard let aacDecoder else {
                countAudioErrors(1)
                return false
            }
            let errorsBefore = aacDecoder.errorCount
            let decoded = aacDecoder.decode(frame.data, pts: TranscodingPipeline.milliseconds(frame.pts, frame.timescale))
            if aacDecoder.errorCount != errorsBefore { countAudioErrors(aacDecoder.errorCount - errorsBefore) }
            for audio in decoded { encodeOpus(audio) }
            return false
        case .end:
            completion.done()
            return true
        }
    }

    private func encodeOpus(_ audio: DecodedAudioFrame) {
        do {
            if opus == nil {
                opus = try OpusEncoder(configuration: OpusEncoderConfiguration(bitrate: settings.opusBitrate))
                opus?.reset(startingAt: audio.pts * 48)
            }
            guard let opus else { return }
            let samples = try resampler.resample(audio)
            // Stay on the source timeline: a gap or overlap over 40 ms (lost frames, a new configuration) restarts
            // the Opus clock at the source's time instead of letting audio drift against video.
            let expected = opus.nextPTS + Int64(opus.pendingSamples)
            let actual = audio.pts * 48
            if abs(actual - expected) > 1920 { opus.reset(startingAt: actual) }
            let packets = try opus.encode(interleavedSamples: samples)
            for packet in packets {
                emit(.webRTCAudio(EncodedFrame(codec: .opus, pts: packet.pts, dts: packet.pts, timescale: packet.timescale,
                                               isKeyframe: true, data: packet.data)))
            }
            if !packets.isEmpty {
                metrics.opusPackets.increment(by: packets.count)
                statistics.withLockedValue { $0.opusPackets += packets.count }
            }
        } catch {
            countAudioErrors(1)
            opus = nil
        }
    }

    private func countAudioErrors(_ count: Int) {
        metrics.audioErrors.increment(by: count)
        statistics.withLockedValue { $0.audioDecodeErrors += count }
    }
}

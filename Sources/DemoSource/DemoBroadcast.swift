import Foundation
import Logging
import MediaCore
import MediaRouter
import NIOCore
import RTMP
import Codecs

/// One publication of the demo stream: renders, encodes and publishes in real time on the calling thread until told
/// to stop or until the publication is ended from outside (evicted).
///
/// Encoded media is wrapped in FLV tag bodies and demuxed by `FLVMediaDemuxer`, exactly the path an RTMP publisher's
/// messages take, so whatever the demo shows about the pipeline downstream of ingest holds for real broadcasts too.
/// Not Sendable: it lives on the demo's media thread.
final class DemoBroadcast {
    enum Failure: Error, CustomStringConvertible {
        case encoding(TranscodeError)
        case demuxing(FLVDemuxError)

        var description: String {
            switch self {
            case .encoding(let error): return "encoding failed: \(error)"
            case .demuxing(let error): return "FLV demuxer rejected the demo's tags: \(error)"
            }
        }
    }

    private let settings: DemoSettings
    private let video: H264Encoder
    private let audio: AACEncoder
    private let renderer: TestPatternRenderer
    private var picture: PlanarYUVFrame
    private var demuxer = FLVMediaDemuxer()
    private let logger: Logger
    /// Added to every FLV timestamp so the AAC priming (negative pts) still lands at or after zero, as FLV requires;
    /// video moves by the same amount so audio and video stay in sync.
    private let timelineOffsetMilliseconds: Int64

    /// Opens the encoders; failing here is a setup error (e.g. a libavcodec without libx264).
    init(settings: DemoSettings, logger: Logger) throws(TranscodeError) {
        self.settings = settings
        self.logger = logger
        // ultrafast: about 14 % of one core at 720p30 here against 29 % for veryfast (DemoSourceCPUTests); the demo
        // shares the machine with the transcoder, and synthetic bars need no compression finesse.
        video = try H264Encoder(configuration: H264EncoderConfiguration(
            width: settings.width, height: settings.height, framesPerSecond: settings.framesPerSecond,
            bitrate: settings.videoBitrate, keyframeInterval: settings.framesPerSecond * 2, preset: .ultrafast,
            threads: 1))
        audio = try AACEncoder(configuration: AACEncoderConfiguration(
            sampleRate: settings.audioSampleRate, channels: settings.audioChannels, bitrate: settings.audioBitrate))
        renderer = TestPatternRenderer(width: settings.width, height: settings.height)
        picture = PlanarYUVFrame(width: settings.width, height: settings.height)
        let priming = Int64(audio.primingSamples)
        let rate = Int64(settings.audioSampleRate)
        timelineOffsetMilliseconds = (priming * 1000 + rate - 1) / rate
    }

    /// Publishes until `stop` is requested or the publication ends; throws if encoding or demuxing fails.
    func stream(to publication: Publication, until stop: StopSignal) throws(Failure) {
        let fps = settings.framesPerSecond
        let sampleRate = settings.audioSampleRate
        let startWallTime = Date().timeIntervalSince1970
        // The picture's clock counts from the wall time at start; the beep is placed on its second boundaries.
        let fractionOfSecond = startWallTime - startWallTime.rounded(.down)
        var tone = TestToneGenerator(sampleRate: sampleRate, channels: settings.audioChannels,
                                     firstBeepAtSample: Int(((1 - fractionOfSecond) * Double(sampleRate)).rounded()))

        try publish(.video, timestamp: 0, body: FLVTagBody.avcSequenceHeader(video.decoderConfiguration), to: publication)
        try publish(.audio, timestamp: 0, body: FLVTagBody.aacSequenceHeader(audio.audioSpecificConfig), to: publication)

        let start = ContinuousClock.now
        let frameInterval = Duration.seconds(1) / fps
        var frameNumber = 0
        var framesSkipped = 0
        while publication.isActive {
            let deadline = start + frameInterval * frameNumber
            if stop.wait(until: deadline) { break }
            // Real time, never a burst: after a stall of more than a second (suspended VM, overloaded machine) the
            // demo jumps to the present instead of encoding the backlog.
            let lateness = deadline.duration(to: .now)
            if lateness > .seconds(1) {
                let caughtUp = Int(start.duration(to: .now) / frameInterval)
                framesSkipped += caughtUp - frameNumber
                logger.warning("demo source fell behind real time; skipping frames",
                               metadata: ["stream": "\(settings.stream)", "skipped": "\(caughtUp - frameNumber)"])
                frameNumber = caughtUp
            }

            let shownTime = startWallTime + Double(frameNumber) / Double(fps)
            let highlight = shownTime - shownTime.rounded(.down) < 0.1
            renderer.render(frameNumber: frameNumber,
                            time: TimeOfDay(secondsSinceMidnight: Int64(shownTime.rounded(.down))),
                            highlight: highlight, into: &picture)
            // Audio up to the end of this video frame, so both tracks advance together.
            let samplesDue = Int64(frameNumber + 1) * Int64(sampleRate) / Int64(fps)
            let samples = tone.nextSamples(count: Int(samplesDue - tone.position))
            var tags: [(type: FLVTagType, timestamp: Int64, body: ByteBuffer)] = []
            do {
                for packet in try video.encode(frame: picture, pts: Int64(frameNumber)) {
                    let dts = packet.dts * 1000 / Int64(fps)
                    let pts = packet.pts * 1000 / Int64(fps)
                    tags.append((.video, dts, FLVTagBody.avcAccessUnit(packet.data, isKeyframe: packet.isKeyframe,
                                                                        compositionTime: Int32(pts - dts))))
                }
                for packet in try audio.encode(interleavedSamples: samples) {
                    tags.append((.audio, packet.pts * 1000 / Int64(sampleRate), FLVTagBody.aacFrame(packet.data)))
                }
            } catch {
                throw .encoding(error)
            }
            // Interleaved by timestamp within the frame interval, as RTMP encoders send them; each track stays in order.
            for tag in tags.sorted(by: { $0.timestamp < $1.timestamp }) {
                try publish(tag.type, timestamp: tag.timestamp, body: tag.body, to: publication)
            }
            frameNumber += 1
        }
        logger.info("demo broadcast stopped", metadata: [
            "stream": "\(settings.stream)", "frames": "\(frameNumber - framesSkipped)", "skipped": "\(framesSkipped)",
        ])
    }

    /// Sends one tag body through the demuxer into the publication. `timestamp` is in milliseconds on the encoders'
    /// timeline (audio starts at minus the priming), before the offset that makes it an FLV timestamp.
    private func publish(_ type: FLVTagType, timestamp: Int64, body: ByteBuffer,
                         to publication: Publication) throws(Failure) {
        let flvTimestamp = UInt32(clamping: timestamp + timelineOffsetMilliseconds)
        let outputs: [FLVMediaOutput]
        do {
            outputs = try demuxer.demux(type, timestamp: flvTimestamp, body: body)
        } catch {
            throw .demuxing(error)
        }
        for output in outputs {
            switch output {
            case .videoConfiguration(var configuration):
                // RTMP publishers declare their rate in onMetaData; the demo knows its own.
                configuration.declaredFrameRate = Double(settings.framesPerSecond)
                publication.setVideoConfiguration(configuration)
                publication.setDeclaredFrameRate(Double(settings.framesPerSecond))
            case .audioConfiguration(let configuration):
                publication.setAudioConfiguration(configuration)
            case .frame(let frame):
                publication.push(frame)
            }
        }
    }
}

import Foundation
import MediaCore
import NIOCore
import RTMP
import Testing
@testable import Transcoder

extension TranscoderSuites {
/// The live transcoder on a recorded FLV, fed at its own pace (real time), with the default ladder and CMAF on.
/// Opt-in, driven by `tools/bench/transcode/bench.py`, which makes the input and runs ffmpeg's CLI on the same job:
/// `LIVERELAY_TRANSCODE_BENCH_INPUT=/path/input.flv swift test --filter TranscodeBenchmark`.
/// Prints one `transcode-bench {json}` line.
@Suite struct TranscodeBenchmark {
    static let input = ProcessInfo.processInfo.environment["LIVERELAY_TRANSCODE_BENCH_INPUT"]

    struct Tag {
        var type: FLVTagType
        var timestamp: UInt32
        var body: ByteBuffer
    }

    /// FLV file: 9-byte header, then (previous tag size, tag header, body)*.
    static func readTags(_ url: URL) throws -> [Tag] {
        var buffer = ByteBuffer(bytes: try Data(contentsOf: url))
        guard let header = buffer.readSlice(length: 9), header.getInteger(at: header.readerIndex, as: UInt8.self) == 0x46 else {
            throw Tools.Failure(command: "FLV header", status: 0, output: url.path)
        }
        var tags: [Tag] = []
        while buffer.readableBytes >= 15 {
            buffer.moveReaderIndex(forwardBy: 4)
            guard let type = buffer.readInteger(as: UInt8.self), let sizeHigh = buffer.readInteger(as: UInt8.self),
                  let sizeLow = buffer.readInteger(as: UInt16.self), let timeHigh = buffer.readInteger(as: UInt8.self),
                  let timeLow = buffer.readInteger(as: UInt16.self), let timeExtended = buffer.readInteger(as: UInt8.self),
                  buffer.readBytes(length: 3) != nil else { break }
            let size = Int(sizeHigh) << 16 | Int(sizeLow)
            guard let body = buffer.readSlice(length: size) else { break }
            let timestamp = UInt32(timeExtended) << 24 | UInt32(timeHigh) << 16 | UInt32(timeLow)
            if let kind = FLVTagType(rawValue: type) { tags.append(Tag(type: kind, timestamp: timestamp, body: body)) }
        }
        return tags
    }

    @Test(.enabled(if: input != nil))
    func realTimeLadder() async throws {
        let tags = try Self.readTags(URL(fileURLWithPath: try #require(Self.input)))
        // The server's default: the H.264 360p and 180p rungs beside the source passthrough, the VP8 layers encoded
        // together (LIVERELAY_TRANSCODE_BENCH_SIMULCAST=0: one independent VP8 encoder per rung).
        let simulcast = ProcessInfo.processInfo.environment["LIVERELAY_TRANSCODE_BENCH_SIMULCAST"] != "0"
        let settings = TranscoderSettings(cmafRungs: Rung.defaultCMAFRungs, vp8Simulcast: simulcast)
        let fixture = try await TranscoderFixture.start(settings: settings, rtmp: false)
        let publication = try fixture.router.beginPublishing(stream: "s1", source: "bench", remoteAddress: nil)
        var demuxer = FLVMediaDemuxer()
        let clock = ContinuousClock()
        let cpuStart = processCPUSeconds()
        let faultsStart = processCounters()
        let start = clock.now
        for tag in tags {
            try await clock.sleep(until: start + .milliseconds(Int(tag.timestamp)))
            for output in try demuxer.demux(tag.type, timestamp: tag.timestamp, body: tag.body) {
                switch output {
                case .videoConfiguration(let config): publication.setVideoConfiguration(config)
                case .audioConfiguration(let config): publication.setAudioConfiguration(config)
                case .frame(let frame): publication.push(frame)
                }
            }
        }
        publication.end()
        #expect(await eventually(within: 60) { fixture.output.snapshot.ended == [1] })
        let cpu = processCPUSeconds() - cpuStart
        let faults = processCounters()
        let wall = Double((clock.now - start).nanoseconds) / 1e9
        let media = Double(tags.last?.timestamp ?? 0) / 1000
        let statistics = try #require(fixture.transcoder.statistics(stream: "s1"))
        var layers: [String: [String: Double]] = [:]
        for (prefix, group) in [("vp8", statistics.webRTC), ("h264", statistics.cmaf)] {
            for (rung, layer) in group {
                layers["\(prefix) \(rung)"] = [
                    "frames": Double(layer.frames), "dropped": Double(layer.dropped),
                    "p50_ms": layer.encodeLatency(percentile: 0.5).map { Double($0.nanoseconds) / 1e6 } ?? -1,
                    "p99_ms": layer.encodeLatency(percentile: 0.99).map { Double($0.nanoseconds) / 1e6 } ?? -1,
                    "kbps": Double(layer.bytes) * 8 / 1000 / max(media, 1),
                ]
            }
        }
        let report: [String: Any] = [
            "media_seconds": media, "wall_seconds": wall, "cpu_seconds": cpu,
            "decoded": statistics.decodedPictures, "decoder_drops": statistics.decoderQueueDrops,
            "opus_packets": statistics.opusPackets, "layers": layers,
            "minor_faults": faults.minorFaults - faultsStart.minorFaults,
            "context_switches": faults.contextSwitches - faultsStart.contextSwitches,
        ]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        print("transcode-bench " + String(decoding: json, as: UTF8.self))
    }

    func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Minor page faults and context switches (voluntary + involuntary) of the whole process so far.
    func processCounters() -> (minorFaults: Int, contextSwitches: Int) {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return (usage.ru_minflt, usage.ru_nvcsw + usage.ru_nivcsw)
    }
}
}

import Foundation
import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import RTMPIngest
import Testing
import Transcoder

/// Every transcoder suite runs inside this one, one test at a time: each real-time run needs most of the two cores,
/// and two at once would measure the machine, not the transcoder.
@Suite(.serialized) enum TranscoderSuites {}

/// Everything the transcoder handed its observers for one stream, with arrival order kept per layer.
struct TranscodedRecord: Sendable {
    var started: [Int] = []
    var ended: [Int] = []
    var layouts: [RenditionLayout] = []
    var vp8: [String: [EncodedFrame]] = [:]
    var opus: [EncodedFrame] = []
    var cmafConfigurations: [String: [VideoTrackConfig]] = [:]
    var cmafVideo: [String: [EncodedFrame]] = [:]
    var cmafAudioConfigurations: [AudioTrackConfig] = []
    var cmafAudioFrames = 0
}

final class TranscodedRecorder: RenditionObserver {
    private let record = NIOLockedValueBox(TranscodedRecord())

    func handle(_ media: RenditionEvent, stream: String) {
        record.withLockedValue { record in
            switch media {
            case .started(let generation): record.started.append(generation)
            case .ended(let generation): record.ended.append(generation)
            case .layout(let layout): record.layouts.append(layout)
            case .webRTCVideo(let layer, let frame): record.vp8[layer, default: []].append(frame)
            case .webRTCAudio(let frame): record.opus.append(frame)
            case .cmafVideoConfiguration(let rendition, let config): record.cmafConfigurations[rendition, default: []].append(config)
            case .cmafVideo(let rendition, let frame): record.cmafVideo[rendition, default: []].append(frame)
            case .cmafAudioConfiguration(let config): record.cmafAudioConfigurations.append(config)
            case .cmafAudio: record.cmafAudioFrames += 1
            }
        }
    }

    var snapshot: TranscodedRecord { record.withLockedValue { $0 } }

    func vp8Count(_ layer: String) -> Int { record.withLockedValue { $0.vp8[layer]?.count ?? 0 } }
}

/// The source frames as ingest delivered them (for counts, keyframe times and timestamps).
struct SourceRecord: Sendable {
    var videoPTS: [Int64] = []
    var videoKeyframePTS: [Int64] = []
    var audioPTS: [Int64] = []
}

final class SourceRecorder: MediaObserver {
    private let record = NIOLockedValueBox(SourceRecord())

    func handle(_ event: MediaEvent, stream: String) {
        guard case .frame(let frame) = event else { return }
        record.withLockedValue { record in
            switch frame.kind {
            case .video:
                record.videoPTS.append(frame.pts)
                if frame.isKeyframe { record.videoKeyframePTS.append(frame.pts) }
            case .audio:
                record.audioPTS.append(frame.pts)
            }
        }
    }

    var snapshot: SourceRecord { record.withLockedValue { $0 } }
}

/// RTMP ingest on a free port → router → transcoder, with recorders on both sides. Key "k1" publishes "s1".
struct TranscoderFixture {
    let router: MediaRouter
    let transcoder: LiveTranscoder
    let output: TranscodedRecorder
    let source: SourceRecorder
    let server: RTMPIngestServer?
    let port: Int

    static func start(settings: TranscoderSettings, rtmp: Bool = true) async throws -> TranscoderFixture {
        var logger = Logger(label: "test.transcoder")
        logger.logLevel = .error
        let router = MediaRouter(logger: logger)
        let source = SourceRecorder()
        router.addObserver(source)
        let transcoder = LiveTranscoder(settings: settings, publishingTo: router, logger: logger)
        router.addObserver(transcoder)
        let output = TranscodedRecorder()
        router.addRenditionObserver(output)
        guard rtmp else {
            return TranscoderFixture(router: router, transcoder: transcoder, output: output, source: source, server: nil, port: 0)
        }
        let configuration = RTMPIngestConfiguration(host: "127.0.0.1", port: 0, idleTimeout: .seconds(8))
        let server = RTMPIngestServer(configuration: configuration, router: router,
                                      authorize: { app, key in app == "live" && key == "k1" ? "s1" : nil }, logger: logger)
        let port = try await server.start()
        return TranscoderFixture(router: router, transcoder: transcoder, output: output, source: source, server: server,
                                 port: port)
    }

    var url: String { "rtmp://127.0.0.1:\(port)/live/k1" }

    func stop() async {
        await server?.stop()
    }
}

/// Waits for a condition with a generous deadline; a slow machine only makes the test take longer.
func eventually(within seconds: Double = 20, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Real ffmpeg / ffprobe runs.
enum Tools {
    struct Failure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let output: String
        var description: String { "\(command) exited with \(status): \(output)" }
    }

    /// Runs a tool to completion; returns standard output and standard error (kept in a file, so neither pipe fills).
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> (out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-tool-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? errorHandle.close()
        let stderr = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Failure(command: ([tool] + arguments).joined(separator: " "), status: process.terminationStatus,
                          output: stderr)
        }
        return (String(decoding: stdout, as: UTF8.self), stderr)
    }

    /// ffmpeg publishing testsrc2 + a sine tone as H.264 (2 B-frames) + AAC over RTMP, in real time.
    static func publish(url: String, size: String, rate: Int, seconds: Double, gopSeconds: Int = 2) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate)",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "\(seconds)",
            "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "\(rate * gopSeconds)",
            "-keyint_min", "\(rate * gopSeconds)", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-b:v", "3M",
            "-c:a", "aac", "-b:a", "96k", "-ac", "2",
            "-f", "flv", url,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitForExit(_ process: Process, within seconds: Double = 60) async -> Int32? {
        guard await eventually(within: seconds, { !process.isRunning }) else {
            process.terminate()
            return nil
        }
        return process.terminationStatus
    }
}

/// Writes VP8 frames as an IVF file (the container libvpx's tools and ffmpeg read), 90 kHz time base.
enum IVFWriter {
    static func write(_ frames: [EncodedFrame], width: Int, height: Int, to url: URL) throws {
        var data = Data()
        func le16(_ value: Int) { data.append(contentsOf: [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)]) }
        func le32(_ value: Int) { for shift in stride(from: 0, to: 32, by: 8) { data.append(UInt8((value >> shift) & 0xFF)) } }
        func le64(_ value: Int64) { for shift in stride(from: 0, to: 64, by: 8) { data.append(UInt8((value >> Int64(shift)) & 0xFF)) } }
        data.append(contentsOf: Array("DKIF".utf8))
        le16(0)
        le16(32)
        data.append(contentsOf: Array("VP80".utf8))
        le16(width)
        le16(height)
        le32(90_000)
        le32(1)
        le32(frames.count)
        le32(0)
        for frame in frames {
            le32(frame.data.readableBytes)
            le64(frame.pts)
            data.append(contentsOf: frame.data.readableBytesView)
        }
        try data.write(to: url)
    }
}

struct ProbedVideo: Sendable {
    var width: Int
    var height: Int
    var frames: Int
}

/// Decodes a file with ffprobe (libavcodec's own decoders) and reports size and decoded frame count.
func probeVideo(_ url: URL) throws -> ProbedVideo {
    let (out, _) = try Tools.run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0",
                                             "-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0",
                                             url.path])
    let fields = out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map { Int($0) ?? -1 }
    guard fields.count == 3 else { throw Tools.Failure(command: "ffprobe", status: 0, output: out) }
    return ProbedVideo(width: fields[0], height: fields[1], frames: fields[2])
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-transcoder-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

import Foundation
import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMPIngest

/// What the router told an observer about one stream.
struct StreamRecord: Sendable {
    var started = 0
    var ended = 0
    var generations: [Int] = []
    var video: VideoTrackConfig?
    var audio: AudioTrackConfig?
    var videoFrames = 0
    var audioFrames = 0
    var videoKeyframes = 0
    var firstVideoFrameIsKeyframe: Bool?
    var framesWithPTSBeforeDTS = 0
    var framesWithCompositionOffset = 0
    var framesBeforeConfiguration = 0
}

final class RecordingObserver: MediaObserver {
    private let records = NIOLockedValueBox([String: StreamRecord]())

    func handle(_ event: MediaEvent, stream: String) {
        records.withLockedValue { records in
            var record = records[stream] ?? StreamRecord()
            switch event {
            case .started(let publisher):
                record.started += 1
                record.generations.append(publisher.generation)
            case .ended:
                record.ended += 1
            case .videoConfiguration(let config):
                record.video = config
            case .audioConfiguration(let config):
                record.audio = config
            case .frame(let frame):
                switch frame.kind {
                case .video:
                    if record.video == nil { record.framesBeforeConfiguration += 1 }
                    record.videoFrames += 1
                    if frame.isKeyframe { record.videoKeyframes += 1 }
                    if record.firstVideoFrameIsKeyframe == nil { record.firstVideoFrameIsKeyframe = frame.isKeyframe }
                    if frame.pts < frame.dts { record.framesWithPTSBeforeDTS += 1 }
                    if frame.pts > frame.dts { record.framesWithCompositionOffset += 1 }
                case .audio:
                    if record.audio == nil { record.framesBeforeConfiguration += 1 }
                    record.audioFrames += 1
                }
            }
            records[stream] = record
        }
    }

    func record(_ stream: String) -> StreamRecord {
        records.withLockedValue { $0[stream] ?? StreamRecord() }
    }
}

/// A server on a free port with a router and an observer; key "k1" publishes stream "s1".
struct IngestFixture {
    let router: MediaRouter
    let observer: RecordingObserver
    let server: RTMPIngestServer
    let port: Int

    static func start(handshakeTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(4),
                      publishTimeout: Duration = .seconds(10)) async throws -> IngestFixture {
        var logger = Logger(label: "test.rtmp")
        logger.logLevel = .error
        let router = MediaRouter(logger: logger)
        let observer = RecordingObserver()
        router.addObserver(observer)
        let configuration = RTMPIngestConfiguration(host: "127.0.0.1", port: 0, idleTimeout: idleTimeout,
                                                    handshakeTimeout: handshakeTimeout, publishTimeout: publishTimeout)
        let server = RTMPIngestServer(configuration: configuration, router: router,
                                      authorize: { app, key in app == "live" && key == "k1" ? "s1" : nil }, logger: logger)
        let port = try await server.start()
        return IngestFixture(router: router, observer: observer, server: server, port: port)
    }

    func url(key: String = "k1") -> String { "rtmp://127.0.0.1:\(port)/live/\(key)" }
}

/// Waits for a condition with a deadline; returns whether it became true. Polling keeps tests free of timing
/// assertions: a slow machine only makes them take longer.
func eventually(within seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// An external encoder (ffmpeg, gst-launch) run for a test.
final class ExternalProcess: @unchecked Sendable {
    private let process = Process()
    private let exitStatus = NIOLockedValueBox<Int32?>(nil)

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exitStatus = exitStatus
        process.terminationHandler = { finished in exitStatus.withLockedValue { $0 = finished.terminationStatus } }
        try process.run()
    }

    static func ffmpeg(url: String, size: String = "854x480", rate: Int = 25, seconds: Double, preset: String = "ultrafast",
                       extra: [String] = []) throws -> ExternalProcess {
        try ExternalProcess("/usr/bin/ffmpeg", [
            "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate)",
            "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", "\(seconds)", "-c:v", "libx264", "-preset", preset, "-g", "\(rate * 2)",
        ] + extra + ["-c:a", "aac", "-f", "flv", url])
    }

    var exitCode: Int32? { exitStatus.withLockedValue { $0 } }

    /// Waits for the process to exit; kills it and returns nil if it outlives the deadline.
    func waitForExit(within seconds: Double = 15) async -> Int32? {
        if await eventually(within: seconds, { exitCode != nil }) { return exitCode }
        process.terminate()
        return nil
    }

    func terminate() {
        if process.isRunning { process.terminate() }
    }
}

/// Counts the bytes a raw peer receives (the handshake reply is 3,073 bytes).
final class ReceivedByteCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let count = NIOLockedValueBox(0)

    var received: Int { count.withLockedValue { $0 } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        count.withLockedValue { $0 += bytes }
    }
}

/// A raw TCP peer for feeding the server bytes no encoder would send.
struct RawPeer {
    let channel: any Channel
    let counter: ReceivedByteCounter

    /// Connects to the server on 127.0.0.1, from `sourceAddress` when given (another loopback address such as
    /// 127.0.0.2 stands for another host).
    static func connect(port: Int, from sourceAddress: String? = nil) async throws -> RawPeer {
        let counter = ReceivedByteCounter()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) }
            }
        if let sourceAddress {
            bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: sourceAddress, port: 0))
        }
        let channel = try await bootstrap.connect(host: "127.0.0.1", port: port).get()
        return RawPeer(channel: channel, counter: counter)
    }

    /// S0 + S1 + S2 arrived.
    var receivedHandshakeReply: Bool { counter.received >= 1 + 2 * 1536 }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func isClosedByServer(within seconds: Double = 8) async -> Bool {
        await eventually(within: seconds) { !channel.isActive }
    }

    func close() async {
        try? await channel.close()
    }

    /// C0 + C1, then C2 once S0/S1/S2 had time to arrive (the server ignores C2's contents).
    static let handshake: [UInt8] = [3] + [UInt8](repeating: 0, count: 1536) + [UInt8](repeating: 0, count: 1536)

    /// One type-0 chunk on `chunkStreamID` carrying a whole message.
    static func chunk(chunkStreamID: UInt8, typeID: UInt8, streamID: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [chunkStreamID, 0, 0, 0, UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), typeID,
                UInt8(streamID & 0xFF), UInt8(streamID >> 8 & 0xFF), UInt8(streamID >> 16 & 0xFF), UInt8(streamID >> 24)]
            + payload
    }
}

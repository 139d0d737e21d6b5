import Foundation

/// A real peer (ffmpeg, GStreamer) run as a child process, its output kept for failure messages.
final class ExternalProcess: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private var collected = Data()
    private let lock = NSLock()

    init(_ arguments: [String]) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            // Keep the tail only: enough for a minute of per-second samples and to explain a failure, bounded in memory.
            self.collected.append(data)
            if self.collected.count > 1024 * 1024 { self.collected = self.collected.suffix(512 * 1024) }
            self.lock.unlock()
        }
    }

    func start() throws {
        try process.run()
    }

    /// Waits for the process to end, killing it after `timeout`; returns its exit status.
    func wait(timeout: Duration) async -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            process.terminate()
            try? await Task.sleep(for: .milliseconds(500))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if the peer is still there after 3 s (a child may inherit SIGTERM blocked, and a
    /// publisher left running would load every test after this one).
    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<60 where process.isRunning {
            usleep(50_000)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var log: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    static func ffmpegPublish(url: String, size: String, rate: Int, seconds: Int, bFrames: Bool, gop: Int) -> ExternalProcess {
        ExternalProcess([
            "ffmpeg", "-hide_banner", "-loglevel", "warning", "-nostdin", "-re",
            "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate)",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "\(seconds)",
            "-c:v", "libx264", "-preset", "veryfast", "-g", "\(gop)", "-keyint_min", "\(gop)", "-sc_threshold", "0",
            "-bf", bFrames ? "2" : "0", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "96k", "-ac", "2",
            "-f", "flv", url,
        ])
    }
}

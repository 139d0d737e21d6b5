import Foundation

/// Runs the real `ffprobe` / `ffmpeg` binaries on files the tests write, so encoder output is judged by an
/// independent decoder rather than by our own parsers.
enum FFmpegTools {
    struct Failure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let standardError: String
        var description: String { "\(command) exited with \(status): \(standardError)" }
    }

    /// Runs `tool` (looked up on PATH) and returns its standard output.
    static func run(_ tool: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting: a full pipe would otherwise block the child forever.
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(command: ([tool] + arguments).joined(separator: " "), status: process.terminationStatus,
                          standardError: String(decoding: stderr, as: UTF8.self))
        }
        return stdout
    }

    struct Probe: Decodable {
        struct Stream: Decodable {
            let codec_name: String?
            let codec_type: String?
            let width: Int?
            let height: Int?
            let sample_rate: String?
            let channels: Int?
            let nb_read_frames: String?
            let nb_read_packets: String?
            let profile: String?
        }
        struct Packet: Decodable {
            let flags: String?
            let pts_time: String?
        }
        let streams: [Stream]
        let packets: [Packet]?
    }

    /// ffprobe's view of a file: streams with decoded frame counts, and packets with their flags.
    static func probe(_ file: URL, format: String? = nil) throws -> Probe {
        var arguments = ["-v", "error", "-count_frames", "-count_packets", "-show_streams", "-show_packets",
                         "-of", "json"]
        if let format { arguments += ["-f", format] }
        arguments.append(file.path)
        return try JSONDecoder().decode(Probe.self, from: run("ffprobe", arguments))
    }

    /// Decodes a file with ffmpeg into raw output of the given format (e.g. "rawvideo" + "yuv420p", "f32le").
    static func decode(_ file: URL, inputFormat: String? = nil, outputArguments: [String]) throws -> Data {
        var arguments = ["-v", "error", "-nostdin"]
        if let inputFormat { arguments += ["-f", inputFormat] }
        arguments += ["-i", file.path] + outputArguments + ["-"]
        return try run("ffmpeg", arguments)
    }

    static func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-\(UUID().uuidString)-\(name)")
    }
}

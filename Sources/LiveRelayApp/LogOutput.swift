import Foundation
import Logging

/// Log lines for people on a terminal, JSON lines for log collectors.
public enum LogOutput {
    public static func makeHandler(label: String, format: String, level: Logger.Level) -> any LogHandler {
        let json: Bool
        switch format {
        case "json": json = true
        case "text": json = false
        default: json = isatty(STDERR_FILENO) == 0
        }
        var handler: any LogHandler = json ? JSONLogHandler(label: label) : TextLogHandler(label: label)
        handler.logLevel = level
        return handler
    }
}

/// Serializes writes so lines from different threads never interleave.
private let logWriteLock = NSLock()

/// Both formats keep metadata the same way; only the line they write differs.
protocol LiveRelayLogHandler: LogHandler {
    var metadata: Logger.Metadata { get set }
}

extension LiveRelayLogHandler {
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The handler's metadata overlaid with the event's.
    func merged(with event: LogEvent) -> Logger.Metadata {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        return merged
    }
}

private func writeLine(_ line: String) {
    logWriteLock.lock()
    defer { logWriteLock.unlock() }
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

struct TextLogHandler: LiveRelayLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    func log(event: LogEvent) {
        let fields = merged(with: event).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = Date.now.formatted(.iso8601.time(includingFractionalSeconds: true))
        writeLine("\(time) \(event.level.rawValue.uppercased()) \(label): \(event.message)\(fields.isEmpty ? "" : " " + fields)")
    }
}

struct JSONLogHandler: LiveRelayLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    func log(event: LogEvent) {
        var object: [String: Any] = [
            "time": Date.now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            "level": event.level.rawValue,
            "logger": label,
            "message": "\(event.message)",
        ]
        for (key, value) in merged(with: event) where object[key] == nil {
            object[key] = Self.json(value)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
              let line = String(data: data, encoding: .utf8) else { return }
        writeLine(line)
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return "\(convertible)"
        case .array(let array): return array.map(json)
        case .dictionary(let dictionary): return dictionary.mapValues(json)
        }
    }
}

import Foundation

/// Progress and diagnostics go to stderr, so stdout carries only the report (with `--json`, one JSON line).
enum Console {
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

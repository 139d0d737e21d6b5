import Foundation
import Logging

/// The admin API's bearer token: from configuration, else the one generated on an earlier start and kept in the
/// data directory, else a new one — written there (mode 0600) and printed once.
enum AdminToken {
    struct Resolved {
        var token: String
        var newlyGenerated: Bool
        var path: String?
    }

    static func resolve(configured: String, dataDirectory: String) throws -> Resolved {
        if !configured.isEmpty { return Resolved(token: configured, newlyGenerated: false, path: nil) }
        let path = (dataDirectory as NSString).appendingPathComponent("admin-token")
        if let stored = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !stored.isEmpty {
            return Resolved(token: stored, newlyGenerated: false, path: path)
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError.unreadable(path: path, reason: "cannot write the generated admin token")
        }
        return Resolved(token: token, newlyGenerated: true, path: path)
    }
}

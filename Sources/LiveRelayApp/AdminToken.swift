import Foundation
import Logging
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// The admin API's bearer token: from configuration, else the one generated on an earlier start and kept in the
/// data directory, else a new one — written there in a file created with mode 0600 (the directory 0700).
enum AdminToken {
    struct Resolved {
        var token: String
        var newlyGenerated: Bool
        var path: String?
    }

    static func resolve(configured: String, dataDirectory: String) throws -> Resolved {
        if !configured.isEmpty {
            guard configured.utf8.count >= SecretFile.minimumLength else {
                throw ConfigurationError.secretTooShort(name: "admin.token", minimum: SecretFile.minimumLength)
            }
            return Resolved(token: configured, newlyGenerated: false, path: nil)
        }
        let path = (dataDirectory as NSString).appendingPathComponent("admin-token")
        if let stored = try SecretFile.read(path) {
            return Resolved(token: stored, newlyGenerated: false, path: path)
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try SecretFile.prepareDirectory(dataDirectory)
        try SecretFile.create(path, contents: token + "\n")
        return Resolved(token: token, newlyGenerated: true, path: path)
    }

    /// What the start that generated the token says about it. The token itself goes to a terminal only, once: when
    /// stdout is a file, a pipe or a log collector, only where the file is.
    struct Announcement: Equatable {
        /// Written to the terminal (stdout), when stdout is one.
        var terminal: String?
        /// Logged, never holding the token.
        var log: String
    }

    static func announcement(_ resolved: Resolved, stdoutIsTerminal: Bool) -> Announcement? {
        guard resolved.newlyGenerated else { return nil }
        let path = resolved.path ?? "-"
        if stdoutIsTerminal {
            return Announcement(terminal: "LiveRelay admin token (stored in \(path)): \(resolved.token)\n",
                                log: "admin token generated and shown on the terminal; stored in \(path)")
        }
        return Announcement(terminal: nil, log: "admin token generated; read it from \(path) (mode 0600)")
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
}

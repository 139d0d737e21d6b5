import Foundation

/// A throwaway PostgreSQL server for one test: initdb into a temporary directory, started on a free loopback
/// port, removed afterwards. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
public final class PostgresTestServer {
    public let directory: String
    public let port: Int
    public let url: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private static func binary(_ name: String) throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root))?.sorted(by: >) ?? []
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/\(name)") {
            return "\(root)/\(version)/bin/\(name)"
        }
        throw Failure(description: "PostgreSQL's \(name) not found under \(root); run tools/setup.sh")
    }

    @discardableResult
    private static func run(_ arguments: [String]) throws -> String {
        var command = arguments
        if getuid() == 0 { command = ["runuser", "-u", "postgres", "--"] + command }
        command = ["/usr/bin/env"] + command
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-pg-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = try spawnAndWait(command, outputPath: outputPath)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw Failure(description: "\(command.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    public init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        if getuid() == 0 {
            _ = try? Self.runPlain(["chown", "postgres:postgres", base])
        }
        directory = base
        let data = "\(base)/data"
        try Self.run([try Self.binary("initdb"), "-D", data, "-A", "trust", "-U", "liverelay", "--no-sync", "-E", "UTF8"])
        var lastError: (any Error)?
        for _ in 0..<5 {
            let candidate = Int.random(in: 20000...45000)
            do {
                try Self.run([try Self.binary("pg_ctl"), "-D", data, "-l", "\(base)/server.log", "-w", "-t", "30", "-o",
                              "-p \(candidate) -k \(base) -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
                port = candidate
                url = "postgres://liverelay@127.0.0.1:\(candidate)/postgres?sslmode=disable"
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? Failure(description: "PostgreSQL did not start")
    }

    private static func runPlain(_ arguments: [String]) throws {
        _ = try spawnAndWait(arguments, outputPath: "/dev/null")
    }

    /// posix_spawn + waitpid rather than Foundation's Process: the PostgreSQL server that pg_ctl leaves running
    /// inherits descriptors Process watches for the child's exit, so Process would wait for the server to stop.
    private static func spawnAndWait(_ arguments: [String], outputPath: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard result == 0 else { throw Failure(description: "cannot start \(arguments[0]): errno \(result)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS are macros: exit code in bits 8-15 when the low 7 bits are zero.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    public func stop() {
        _ = try? Self.run([(try? Self.binary("pg_ctl")) ?? "pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

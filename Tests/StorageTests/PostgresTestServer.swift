import Foundation

/// A throwaway PostgreSQL server for one test: initdb into a temporary directory, started on a free loopback
/// port, removed afterwards. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
final class PostgresTestServer {
    let directory: String
    let port: Int
    let url: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(command.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    init() throws {
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
    }

    func stop() {
        _ = try? Self.run([(try? Self.binary("pg_ctl")) ?? "pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

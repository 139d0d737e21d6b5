import TestSupport
import Foundation
import Logging
import Testing
@testable import Storage

/// The same store behaviour, checked on the embedded SQLite database and on a real PostgreSQL server.
@Suite("StreamStore")
struct StreamStoreTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite
        case postgres
        var testDescription: String { rawValue }
    }

    /// Opens a fresh database of the backend, runs `body`, then removes it.
    func withDatabase(_ backend: Backend, _ body: (_ open: () async throws -> Database) async throws -> Void) async throws {
        let logger = Logger(label: "test.storage")
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-sqlite-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await body { try await Database.open(url: nil, dataDirectory: directory, logger: logger) }
        case .postgres:
            let server = try PostgresTestServer()
            defer { server.stop() }
            try await body { try await Database.open(url: server.url, dataDirectory: "/nonexistent", logger: logger) }
        }
    }

    @Test(arguments: Backend.allCases)
    func createListGetDelete(_ backend: Backend) async throws {
        try await withDatabase(backend) { open in
            let database = try await open()
            let store = StreamStore(database: database)
            let main = try await store.create(name: "main", isPrivate: false)
            let secret = try await store.create(name: "backstage", isPrivate: true)
            #expect(main.publishKey != secret.publishKey)
            #expect(main.publishKey.hasPrefix("lr_") && main.publishKey.count == 25)

            await #expect(throws: StreamStoreError.alreadyExists("main")) {
                try await store.create(name: "main", isPrivate: true)
            }
            #expect(try await store.list().map(\.name) == ["backstage", "main"])
            #expect(try await store.get("backstage") == secret)
            #expect(try await store.get("nope") == nil)
            #expect(try await store.delete("main"))
            #expect(try await !store.delete("main"))
            #expect(try await store.list().map(\.name) == ["backstage"])
            try await database.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func aStreamCreatedAgainIsANewIncarnation(_ backend: Backend) async throws {
        try await withDatabase(backend) { open in
            let database = try await open()
            let store = StreamStore(database: database)
            let first = try await store.create(name: "main", isPrivate: true)
            #expect(first.incarnation.hasPrefix("s:") && first.incarnation.count == 34)
            #expect(try await store.delete("main"))
            let second = try await store.create(name: "main", isPrivate: true)
            #expect(second.incarnation != first.incarnation)
            #expect(try await store.get("main")?.incarnation == second.incarnation)
            #expect(try await store.rotateKey("main")?.incarnation == second.incarnation, "a new key is not a new stream")
            try await database.close()
        }
    }

    /// A database of the schema before incarnations: its streams get one, and their comments, bans and audit rows
    /// are keyed by it; rows of streams already deleted are not (no stream of the name can show them again).
    @Test(arguments: Backend.allCases)
    func migrationGivesExistingStreamsAnIncarnationAndRekeysTheirRows(_ backend: Backend) async throws {
        try await withDatabase(backend) { open in
            let old = try await open()
            try await old.sql.raw("DROP INDEX streams_incarnation").run()
            try await old.sql.raw("ALTER TABLE streams DROP COLUMN incarnation").run()
            try await old.sql.raw("DELETE FROM schema_migrations WHERE version = 3").run()
            try await old.sql.raw("INSERT INTO streams (name, publish_key, is_private, created_at) VALUES ('main', 'k', 1, 5)").run()
            for stream in ["main", "gone"] {
                try await old.sql.raw("""
                    INSERT INTO comments (stream, author_sub, author_name, text, created_at) VALUES (\(bind: stream), 'a', 'A', 'hi', 1)
                    """).run()
                try await old.sql.raw("""
                    INSERT INTO bans (stream, sub, reason, banned_by, created_at) VALUES (\(bind: stream), 'b', '', 'm', 1)
                    """).run()
            }
            try await old.close()

            let database = try await open()
            let main = try #require(try await StreamStore(database: database).get("main"))
            #expect(main.incarnation == "legacy:main:5")
            let comments = try await database.sql.raw("SELECT stream FROM comments ORDER BY id").all()
                .map { try $0.decode(column: "stream", as: String.self) }
            #expect(comments == ["legacy:main:5", "gone"])
            let bans = try await database.sql.raw("SELECT stream FROM bans ORDER BY stream").all()
                .map { try $0.decode(column: "stream", as: String.self) }
            #expect(bans == ["gone", "legacy:main:5"])
            try await database.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func rotatedKeyReplacesTheOldOne(_ backend: Backend) async throws {
        try await withDatabase(backend) { open in
            let database = try await open()
            let store = StreamStore(database: database)
            let created = try await store.create(name: "main", isPrivate: false)
            let rotated = try #require(try await store.rotateKey("main"))
            #expect(rotated.publishKey != created.publishKey)
            #expect(rotated.name == "main" && rotated.createdAt == created.createdAt)
            #expect(try await store.get("main")?.publishKey == rotated.publishKey)
            #expect(try await store.rotateKey("nope") == nil)
            try await database.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func streamsAndMigrationsSurviveReopening(_ backend: Backend) async throws {
        try await withDatabase(backend) { open in
            let first = try await open()
            let created = try await StreamStore(database: first).create(name: "main", isPrivate: true)
            try await first.close()

            // A second start runs the migrations again: they must be recorded, not re-applied.
            let second = try await open()
            #expect(try await StreamStore(database: second).get("main") == created)
            let versions = try await second.sql.raw("SELECT version FROM schema_migrations").all()
                .map { try $0.decode(column: "version", as: Int.self) }
            #expect(versions == Migrations.all.map(\.version))
            try await second.close()
        }
    }

    @Test(arguments: Backend.allCases)
    func failedTransactionLeavesNothingBehind(_ backend: Backend) async throws {
        struct Abort: Error {}
        try await withDatabase(backend) { open in
            let database = try await open()
            await #expect(throws: Abort.self) {
                try await database.transaction { sql in
                    try await sql.raw("INSERT INTO streams (name, publish_key, is_private, created_at) VALUES ('x', 'k', 0, 0)").run()
                    throw Abort()
                }
            }
            #expect(try await StreamStore(database: database).get("x") == nil)
            try await database.close()
        }
    }

    /// A stream created while another task's transaction is open is not part of it: when that transaction rolls
    /// back, the stream the API answered 201 for is still there.
    @Test(arguments: Backend.allCases)
    func aStreamWriteNeverJoinsAnotherTasksTransaction(_ backend: Backend) async throws {
        struct Abort: Error {}
        try await withDatabase(backend) { open in
            let database = try await open()
            let store = StreamStore(database: database)
            let (opened, inside) = AsyncStream<Void>.makeStream()
            let (released, release) = AsyncStream<Void>.makeStream()
            let transaction = Task {
                try await database.transaction { sql in
                    try await sql.raw("INSERT INTO streams (name, incarnation, publish_key, is_private, created_at) VALUES ('other', 's:x', 'k', 0, 0)").run()
                    inside.yield()
                    for await _ in released { break }
                    throw Abort()
                }
            }
            for await _ in opened { break }
            let creating = Task { try await store.create(name: "main", isPrivate: false) }
            // Ordering only: the create gets its chance to run while the transaction is still open.
            try await Task.sleep(for: .milliseconds(300))
            release.yield()
            let outcome = await transaction.result
            #expect(throws: Abort.self) { try outcome.get() }
            let created = try await creating.value
            #expect(try await store.get("main") == created)
            #expect(try await store.get("other") == nil)
            try await database.close()
        }
    }

    @Test func sqliteUsesWriteAheadLogging() async throws {
        try await withDatabase(.sqlite) { open in
            let database = try await open()
            let mode = try await database.sql.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
            #expect(mode == "wal")
            try await database.close()
        }
    }

    /// Even at `trace`, no log line carries a bound value: binds hold publish keys, comment text and user ids.
    @Test(arguments: Backend.allCases)
    func boundValuesAreNeverLogged(_ backend: Backend) async throws {
        let captured = CapturedLog()
        var logger = Logger(label: "test.storage") { _ in CapturedLog.Handler(sink: captured) }
        logger.logLevel = .trace
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-sqlite-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = backend == .postgres ? try PostgresTestServer() : nil
        defer { server?.stop() }
        let database = try await Database.open(url: server?.url, dataDirectory: directory, logger: logger)
        let store = StreamStore(database: database)
        _ = try await store.create(name: "main", isPrivate: true, publishKey: "lr_BoundValueMustNotBeLogged1")
        _ = try await store.get("main")
        _ = try await database.transaction { sql in
            try await sql.raw("SELECT name FROM streams WHERE publish_key = \(bind: "lr_BoundValueMustNotBeLogged2")").all()
        }
        try await database.close()
        let lines = captured.lines
        #expect(!lines.isEmpty, "the capture works")
        #expect(!lines.contains { $0.contains("BoundValueMustNotBeLogged") }, "\(lines.filter { $0.contains("BoundValue") })")
    }

    @Test func unsupportedURLIsRejected() async throws {
        await #expect(throws: DatabaseError.self) {
            try await Database.open(url: "mysql://x@y/z", dataDirectory: "/tmp", logger: Logger(label: "test"))
        }
    }

    @Test func passwordsAreRedactedInLogs() {
        #expect(Database.redacted("postgres://user:secret@host:5432/db") == "postgres://user:***@host:5432/db")
        #expect(Database.redacted("postgres://user@host/db") == "postgres://user@host/db")
    }
}

/// Keeps every log line (message and metadata) written through the handlers it makes.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    var lines: [String] { lock.withLock { stored } }

    func append(_ line: String) { lock.withLock { stored.append(line) } }

    /// A value-semantics handler writing here, as swift-log expects of handlers.
    struct Handler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            sink.append("\(event.level) \(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })")
        }
    }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

public enum DatabaseError: Error, CustomStringConvertible {
    case invalidURL(String)
    case unsupportedScheme(String)
    case dataDirectoryUnavailable(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let url): return "database url is not valid: \(url)"
        case .unsupportedScheme(let scheme): return "database url scheme '\(scheme)' is not supported (use sqlite: or postgres:)"
        case .dataDirectoryUnavailable(let path, let reason): return "data directory \(path) is not usable: \(reason)"
        }
    }
}

/// The one SQL layer LiveRelay stores through: SQLite in the data directory by default, PostgreSQL when a
/// `postgres://` URL is configured (several nodes share it). Queries are written once with SQLKit and run on both.
public final class Database: Sendable {
    public enum Backend: String, Sendable {
        case sqlite
        case postgres
    }

    public let backend: Backend
    public let sql: any SQLDatabase
    private let closeConnection: @Sendable () async throws -> Void
    private let logger: Logger
    /// Serializes transactions on the single SQLite connection; PostgreSQL transactions each get a pooled connection.
    let sqliteTransactionGate = AsyncSerialGate()

    private init(backend: Backend, sql: any SQLDatabase, logger: Logger, close: @escaping @Sendable () async throws -> Void) {
        self.backend = backend
        self.sql = sql
        self.logger = logger
        self.closeConnection = close
    }

    /// Opens the configured database and runs pending migrations.
    ///
    /// - Parameters:
    ///   - url: `postgres://user:pass@host:port/db`, `sqlite:///path/file.db`, or nil/empty for `liverelay.db` in `dataDirectory`.
    public static func open(url: String?, dataDirectory: String, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger) async throws -> Database {
        let database: Database
        let trimmed = url?.trimmingCharacters(in: .whitespaces) ?? ""
        if trimmed.isEmpty {
            database = try await openSQLite(path: try sqlitePath(in: dataDirectory), logger: logger)
        } else if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            database = try openPostgres(url: trimmed, eventLoopGroup: eventLoopGroup, logger: logger)
        } else if trimmed.hasPrefix("sqlite://") {
            let path = String(trimmed.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw DatabaseError.invalidURL(trimmed) }
            database = try await openSQLite(path: path, logger: logger)
        } else {
            throw DatabaseError.unsupportedScheme(String(trimmed.prefix { $0 != ":" }))
        }
        do {
            try await Migrator(database: database, backend: database.backend, logger: logger).migrate(Migrations.all)
        } catch {
            try? await database.close()
            throw error
        }
        return database
    }

    public func close() async throws {
        try await closeConnection()
    }

    /// The data directory is made 0700 and the database file 0600 as they are created: the database holds publish keys.
    private static func sqlitePath(in dataDirectory: String) throws -> String {
        let path = (dataDirectory as NSString).appendingPathComponent("liverelay.db")
        do {
            try SecretFile.prepareDirectory(dataDirectory)
            try SecretFile.touch(path)
        } catch {
            throw DatabaseError.dataDirectoryUnavailable(path: dataDirectory, reason: "\(error)")
        }
        return path
    }

    private static func openSQLite(path: String, logger: Logger) async throws -> Database {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: driverLogger(logger))
        // Statements are never logged: their binds carry publish keys, comment text and user ids.
        let sql = connection.sql(queryLogLevel: nil)
        // WAL lets readers run beside the writer; synchronous=FULL makes a committed row (an acknowledged comment)
        // survive a power cut, not only a process crash. busy_timeout covers a second process on the same file.
        try await sql.raw("PRAGMA journal_mode=WAL").run()
        try await sql.raw("PRAGMA synchronous=FULL").run()
        try await sql.raw("PRAGMA busy_timeout=5000").run()
        logger.info("database opened", metadata: ["backend": "sqlite", "path": "\(path)"])
        return Database(backend: .sqlite, sql: sql, logger: logger) { try await connection.close() }
    }

    private static func openPostgres(url: String, eventLoopGroup: any EventLoopGroup, logger: Logger) throws -> Database {
        let configuration: SQLPostgresConfiguration
        do {
            configuration = try SQLPostgresConfiguration(url: url)
        } catch {
            throw DatabaseError.invalidURL(redacted(url))
        }
        let pool = EventLoopGroupConnectionPool(source: PostgresConnectionSource(sqlConfiguration: configuration),
                                                maxConnectionsPerEventLoop: 4, pruneInterval: .seconds(60),
                                                logger: driverLogger(logger), on: eventLoopGroup)
        let sql = pool.database(logger: driverLogger(logger)).sql(queryLogLevel: nil)
        logger.info("database opened", metadata: ["backend": "postgres", "url": "\(redacted(url))"])
        let owner = PoolOwner(pool: pool)
        return Database(backend: .postgres, sql: sql, logger: logger) { try await owner.pool.shutdownAsync() }
    }

    /// The logger handed to the database drivers: never below `info`, whatever the server's level. At `debug` and
    /// `trace` the drivers log wire messages and actions that hold bound values (keys, comment text, user ids).
    static func driverLogger(_ logger: Logger) -> Logger {
        var driver = logger
        if driver.logLevel < .info { driver.logLevel = .info }
        return driver
    }

    /// The URL with its password replaced, for logs and errors.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}

/// The pool is thread-safe (it locks internally) but not marked Sendable; this box carries it into the close closure.
private final class PoolOwner: @unchecked Sendable {
    let pool: EventLoopGroupConnectionPool<PostgresConnectionSource>
    init(pool: EventLoopGroupConnectionPool<PostgresConnectionSource>) { self.pool = pool }
}

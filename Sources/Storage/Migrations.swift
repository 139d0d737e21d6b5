import Foundation
import Logging
import SQLKit

/// One schema change. Statements are plain SQL that both SQLite and PostgreSQL accept; where they differ the
/// migration carries one list per backend.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var statements: @Sendable (Database.Backend) -> [String]

    public init(version: Int, name: String, statements: @escaping @Sendable (Database.Backend) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// LiveRelay's schema, in order. Append; never edit a migration that has shipped.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "streams") { _ in
            [
                """
                CREATE TABLE IF NOT EXISTS streams (
                    name TEXT PRIMARY KEY,
                    publish_key TEXT NOT NULL UNIQUE,
                    is_private INTEGER NOT NULL DEFAULT 0,
                    created_at BIGINT NOT NULL
                )
                """,
            ]
        },
        // Audience: comments (soft-deleted, never removed), the moderation audit trail, bans, reaction totals per second.
        Migration(version: 2, name: "audience") { backend in
            let commentID = backend == .postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
            let auditID = commentID
            return [
                """
                CREATE TABLE IF NOT EXISTS comments (
                    id \(commentID),
                    stream TEXT NOT NULL,
                    author_sub TEXT NOT NULL,
                    author_name TEXT NOT NULL,
                    text TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    deleted_at BIGINT,
                    deleted_by TEXT
                )
                """,
                "CREATE INDEX IF NOT EXISTS comments_stream_id ON comments (stream, id)",
                """
                CREATE TABLE IF NOT EXISTS moderation_audit (
                    id \(auditID),
                    stream TEXT NOT NULL,
                    action TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS bans (
                    stream TEXT NOT NULL,
                    sub TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    banned_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (stream, sub)
                )
                """,
                """
                CREATE TABLE IF NOT EXISTS reaction_totals (
                    stream TEXT NOT NULL,
                    type TEXT NOT NULL,
                    second BIGINT NOT NULL,
                    count BIGINT NOT NULL,
                    PRIMARY KEY (stream, type, second)
                )
                """,
            ]
        },
        // Stream incarnations: every stream gets an id of its own, and the audience rows it owns (comments, bans, the
        // audit trail) are keyed by that id instead of the name, so a stream created again under a deleted one's name
        // starts empty. Rows of streams already deleted keep the name, which no incarnation ever equals.
        Migration(version: 3, name: "stream incarnations") { _ in
            [
                "ALTER TABLE streams ADD COLUMN incarnation TEXT",
                "UPDATE streams SET incarnation = 'legacy:' || name || ':' || CAST(created_at AS TEXT) WHERE incarnation IS NULL",
                "CREATE UNIQUE INDEX IF NOT EXISTS streams_incarnation ON streams (incarnation)",
            ] + ["comments", "bans", "moderation_audit"].map { table in
                """
                UPDATE \(table) SET stream = (SELECT s.incarnation FROM streams s WHERE s.name = \(table).stream)
                WHERE EXISTS (SELECT 1 FROM streams s WHERE s.name = \(table).stream)
                """
            }
        },
        // Token revocations: single tokens by id, and every token of a banned user on a stream incarnation issued up to
        // the ban. Rows older than the longest token lifetime are deleted at start.
        Migration(version: 4, name: "token revocations") { backend in
            let id = backend == .postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
            return [
                """
                CREATE TABLE IF NOT EXISTS token_revocations (
                    id \(id),
                    stream TEXT NOT NULL,
                    sub TEXT,
                    jti TEXT,
                    issued_through BIGINT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
            ]
        },
    ]
}

/// Applies pending migrations, each in a transaction, recording them in `schema_migrations`.
struct Migrator {
    let database: Database
    let backend: Database.Backend
    let logger: Logger

    func migrate(_ migrations: [Migration]) async throws {
        try await database.sql.raw("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )
            """).run()
        let applied = Set(try await database.sql.raw("SELECT version FROM schema_migrations").all()
            .map { try $0.decode(column: "version", as: Int.self) })
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
            try await database.transaction { transaction in
                for statement in migration.statements(backend) {
                    try await transaction.raw(SQLQueryString(statement)).run()
                }
                // ON CONFLICT DO NOTHING: two nodes starting together against one PostgreSQL may race here.
                try await transaction.raw("""
                    INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Int64(Date.now.timeIntervalSince1970 * 1000)))
                    ON CONFLICT (version) DO NOTHING
                    """).run()
            }
            logger.info("database migrated", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }
}

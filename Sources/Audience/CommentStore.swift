import Foundation
import SQLKit
import Storage

/// A stored comment. The text is kept exactly as posted: rendering is the client's job, escaping included.
public struct Comment: Sendable, Equatable, Encodable {
    public var id: Int64
    public var stream: String
    public var authorID: String
    public var author: String
    public var text: String
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, text, author, authorID = "authorId", createdAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(text, forKey: .text)
        try container.encode(author, forKey: .author)
        try container.encode(authorID, forKey: .authorID)
        try container.encode(AudienceTime.string(createdAt), forKey: .createdAt)
    }
}

public struct Ban: Sendable, Equatable, Encodable {
    public var sub: String
    public var reason: String
    public var bannedBy: String
    public var createdAt: Date
}

public enum CommentStoreError: Error, Equatable {
    /// The author is banned from the stream; nothing was stored.
    case banned
}

/// Comments, bans and the moderation audit trail in the SQL layer; the same statements on SQLite and PostgreSQL.
///
/// `stream` here is the stream's incarnation (`StreamRecord.incarnation`), not its name: a stream deleted and created
/// again under its name shows none of the old comments and is bound by none of the old bans.
public struct CommentStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Stores a comment and returns it once the transaction has committed. The ban check and the insert are one
    /// statement, so a ban that commits first always wins.
    public func add(stream: String, authorID: String, author: String, text: String, at date: Date = .now) async throws -> Comment {
        let milliseconds = AudienceTime.milliseconds(date)
        let id = try await database.transaction { sql in
            try await Self.insert(sql, stream: stream, authorID: authorID, author: author, text: text, milliseconds: milliseconds)
        }
        guard let id else { throw CommentStoreError.banned }
        return Comment(id: id, stream: stream, authorID: authorID, author: author, text: text,
                       createdAt: AudienceTime.date(milliseconds: milliseconds))
    }

    /// The new comment's id, or nil when the author is banned.
    static func insert(_ sql: any SQLDatabase, stream: String, authorID: String, author: String, text: String,
                       milliseconds: Int64) async throws -> Int64? {
        try await sql.raw("""
            INSERT INTO comments (stream, author_sub, author_name, text, created_at)
            SELECT \(bind: stream), \(bind: authorID), \(bind: author), \(bind: text), \(bind: milliseconds)
            WHERE NOT EXISTS (SELECT 1 FROM bans WHERE stream = \(bind: stream) AND sub = \(bind: authorID))
            RETURNING id
            """).first().map { try $0.decode(column: "id", as: Int64.self) }
    }

    /// Visible comments newest first: not deleted, not by a banned author, with ids below `before` when given.
    public func page(stream: String, before: Int64?, limit: Int) async throws -> [Comment] {
        let upper = before ?? Int64.max
        return try await database.sql.raw("""
            SELECT c.id, c.stream, c.author_sub, c.author_name, c.text, c.created_at FROM comments c
            WHERE c.stream = \(bind: stream) AND c.id < \(bind: upper) AND c.deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM bans b WHERE b.stream = c.stream AND b.sub = c.author_sub)
            ORDER BY c.id DESC LIMIT \(bind: limit)
            """).all().map(Self.comment(from:))
    }

    /// Every comment of the stream including hidden ones, oldest first (moderation and tests).
    public func all(stream: String) async throws -> [Comment] {
        try await database.sql.raw("""
            SELECT id, stream, author_sub, author_name, text, created_at FROM comments WHERE stream = \(bind: stream) ORDER BY id
            """).all().map(Self.comment(from:))
    }

    /// Soft-deletes a comment and records who did it; false if there is no such visible comment.
    public func delete(stream: String, id: Int64, by moderator: String, reason: String) async throws -> Bool {
        let now = AudienceTime.milliseconds(.now)
        return try await database.transaction { sql in
            let updated = try await sql.raw("""
                UPDATE comments SET deleted_at = \(bind: now), deleted_by = \(bind: moderator)
                WHERE stream = \(bind: stream) AND id = \(bind: id) AND deleted_at IS NULL
                RETURNING id
                """).all()
            guard !updated.isEmpty else { return false }
            try await Self.audit(sql, stream: stream, action: "comment.delete", actor: moderator, subject: "\(id)", reason: reason, at: now)
            return true
        }
    }

    /// Bans the user and, in the same transaction, revokes every token of theirs on the stream minted so far.
    public func ban(stream: String, sub: String, reason: String, by moderator: String) async throws -> Ban {
        let now = AudienceTime.milliseconds(.now)
        try await database.transaction { sql in
            try await TokenRevocationStore.insert(sql, .user(sub, incarnation: stream, at: AudienceTime.date(milliseconds: now)),
                                                  at: AudienceTime.date(milliseconds: now))
            try await sql.raw("""
                INSERT INTO bans (stream, sub, reason, banned_by, created_at)
                VALUES (\(bind: stream), \(bind: sub), \(bind: reason), \(bind: moderator), \(bind: now))
                ON CONFLICT (stream, sub) DO UPDATE SET reason = excluded.reason, banned_by = excluded.banned_by
                """).run()
            try await Self.audit(sql, stream: stream, action: "ban", actor: moderator, subject: sub, reason: reason, at: now)
        }
        return Ban(sub: sub, reason: reason, bannedBy: moderator, createdAt: AudienceTime.date(milliseconds: now))
    }

    /// Lifts a ban; false if the user was not banned.
    public func unban(stream: String, sub: String, by moderator: String) async throws -> Bool {
        let now = AudienceTime.milliseconds(.now)
        return try await database.transaction { sql in
            let removed = try await sql.raw("DELETE FROM bans WHERE stream = \(bind: stream) AND sub = \(bind: sub) RETURNING sub").all()
            guard !removed.isEmpty else { return false }
            try await Self.audit(sql, stream: stream, action: "unban", actor: moderator, subject: sub, reason: "", at: now)
            return true
        }
    }

    public func bans(stream: String) async throws -> [Ban] {
        try await database.sql.raw("""
            SELECT sub, reason, banned_by, created_at FROM bans WHERE stream = \(bind: stream) ORDER BY created_at, sub
            """).all().map { row in
            Ban(sub: try row.decode(column: "sub", as: String.self), reason: try row.decode(column: "reason", as: String.self),
                bannedBy: try row.decode(column: "banned_by", as: String.self),
                createdAt: AudienceTime.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
    }

    public struct AuditEntry: Sendable, Equatable {
        public var action: String
        public var actor: String
        public var subject: String
        public var reason: String
    }

    /// The stream's moderation trail, oldest first; with `limit`, only its last `limit` entries.
    public func audit(stream: String, limit: Int? = nil) async throws -> [AuditEntry] {
        let query: SQLQueryString = limit.map {
            "SELECT action, actor, subject, reason FROM (SELECT id, action, actor, subject, reason FROM moderation_audit WHERE stream = \(bind: stream) ORDER BY id DESC LIMIT \(bind: $0)) AS recent ORDER BY id"
        } ?? "SELECT action, actor, subject, reason FROM moderation_audit WHERE stream = \(bind: stream) ORDER BY id"
        return try await database.sql.raw(query)
            .all().map { row in
                AuditEntry(action: try row.decode(column: "action", as: String.self), actor: try row.decode(column: "actor", as: String.self),
                           subject: try row.decode(column: "subject", as: String.self), reason: try row.decode(column: "reason", as: String.self))
            }
    }

    private static func audit(_ sql: any SQLDatabase, stream: String, action: String, actor: String, subject: String,
                              reason: String, at milliseconds: Int64) async throws {
        try await sql.raw("""
            INSERT INTO moderation_audit (stream, action, actor, subject, reason, at)
            VALUES (\(bind: stream), \(bind: action), \(bind: actor), \(bind: subject), \(bind: reason), \(bind: milliseconds))
            """).run()
    }

    private static func comment(from row: any SQLRow) throws -> Comment {
        Comment(id: try row.decode(column: "id", as: Int64.self), stream: try row.decode(column: "stream", as: String.self),
                authorID: try row.decode(column: "author_sub", as: String.self), author: try row.decode(column: "author_name", as: String.self),
                text: try row.decode(column: "text", as: String.self),
                createdAt: AudienceTime.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }
}

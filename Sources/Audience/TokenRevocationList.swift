import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Storage

/// One revocation: a single token (`tokenID`), or every token of a user on one stream incarnation issued up to a
/// moment (a ban).
public struct TokenRevocation: Sendable, Equatable {
    public var incarnation: String
    public var sub: String?
    public var tokenID: String?
    /// Tokens whose `iat` is at or before this (Unix milliseconds) are revoked; a single token's entry ignores it.
    public var issuedThrough: Int64

    public static func token(_ id: String, incarnation: String, at now: Date) -> TokenRevocation {
        TokenRevocation(incarnation: incarnation, sub: nil, tokenID: id, issuedThrough: AudienceTime.milliseconds(now))
    }

    /// A ban at `now`: the user's tokens minted up to the ban stop working; tokens minted later (after an unban) do
    /// not.
    public static func user(_ sub: String, incarnation: String, at now: Date) -> TokenRevocation {
        TokenRevocation(incarnation: incarnation, sub: sub, tokenID: nil, issuedThrough: AudienceTime.milliseconds(now))
    }
}

/// The revocations every token check consults, held in memory (a DASH manifest request costs no database round
/// trip); loaded from `token_revocations` at start and added to as revocations are stored.
public final class TokenRevocationList: Sendable {
    private struct Entries {
        var tokenIDs: Set<String> = []
        /// incarnation → sub → tokens issued at or before this millisecond are revoked.
        var users: [String: [String: Int64]] = [:]
    }
    private let entries = NIOLockedValueBox(Entries())

    public init() {}

    public func add(_ revocation: TokenRevocation) {
        entries.withLockedValue { entries in
            if let id = revocation.tokenID { entries.tokenIDs.insert(id) }
            if let sub = revocation.sub {
                entries.users[revocation.incarnation, default: [:]][sub] = max(entries.users[revocation.incarnation]?[sub] ?? .min,
                                                                                revocation.issuedThrough)
            }
        }
    }

    public func isRevoked(_ claims: AudienceClaims) -> Bool {
        let issued = AudienceTime.milliseconds(claims.iat.value)
        return entries.withLockedValue { entries in
            if entries.tokenIDs.contains(claims.jti.value) { return true }
            guard let through = entries.users[claims.inc]?[claims.sub.value] else { return false }
            return issued <= through
        }
    }
}

/// Revocations in the SQL layer. A ban's revocation is written in the ban's own transaction (`CommentStore.ban`).
public struct TokenRevocationStore: Sendable {
    let database: Database
    /// Revocations older than the longest token lifetime (and a day of key overlap) revoke nothing any more.
    public static let retention: TimeInterval = 8 * 86_400

    public init(database: Database) {
        self.database = database
    }

    public func add(_ revocation: TokenRevocation, at now: Date = .now) async throws {
        try await database.transaction { sql in
            try await Self.insert(sql, revocation, at: now)
        }
    }

    static func insert(_ sql: any SQLDatabase, _ revocation: TokenRevocation, at now: Date) async throws {
        try await sql.raw("""
            INSERT INTO token_revocations (stream, sub, jti, issued_through, created_at)
            VALUES (\(bind: revocation.incarnation), \(bind: revocation.sub), \(bind: revocation.tokenID), \(bind: revocation.issuedThrough),
                    \(bind: AudienceTime.milliseconds(now)))
            """).run()
    }

    /// The revocations still in force; older ones are deleted.
    public func load(now: Date = .now) async throws -> (revocations: [TokenRevocation], lastID: Int64) {
        let horizon = AudienceTime.milliseconds(now.addingTimeInterval(-Self.retention))
        try await database.transaction { sql in
            try await sql.raw("DELETE FROM token_revocations WHERE created_at < \(bind: horizon)").run()
        }
        return try await load(after: 0)
    }

    /// Revocations stored after row `id` (by any node sharing the database), and the last row id seen.
    public func load(after id: Int64) async throws -> (revocations: [TokenRevocation], lastID: Int64) {
        var lastID = id
        let revocations = try await database.sql.raw("""
            SELECT id, stream, sub, jti, issued_through FROM token_revocations WHERE id > \(bind: id) ORDER BY id
            """).all().map { row in
            lastID = max(lastID, try row.decode(column: "id", as: Int64.self))
            return TokenRevocation(incarnation: try row.decode(column: "stream", as: String.self), sub: try row.decode(column: "sub", as: String?.self),
                                   tokenID: try row.decode(column: "jti", as: String?.self),
                                   issuedThrough: try row.decode(column: "issued_through", as: Int64.self))
        }
        return (revocations, lastID)
    }
}

import Foundation
import SQLKit

/// A stream as the operator configured it: its name, whether viewers need a token, and the key its broadcaster
/// publishes with.
///
/// `incarnation` identifies this stream as distinct from any earlier or later one of the same name: tokens, signed
/// media URLs, comments and bans are bound to it, so a stream deleted and created again under its name inherits none
/// of them.
public struct StreamRecord: Sendable, Equatable {
    public var name: String
    public var incarnation: String
    public var publishKey: String
    public var isPrivate: Bool
    public var createdAt: Date

    public init(name: String, incarnation: String, publishKey: String, isPrivate: Bool, createdAt: Date) {
        self.name = name
        self.incarnation = incarnation
        self.publishKey = publishKey
        self.isPrivate = isPrivate
        self.createdAt = createdAt
    }
}

public enum StreamStoreError: Error, Equatable {
    case alreadyExists(String)
}

/// Streams and their publish keys, persisted in the SQL layer. Every write is a transaction through
/// `Database.transaction`: on the one SQLite connection a bare statement would otherwise run inside whatever
/// transaction another task has open there, and be rolled back with it after the API had answered 201.
public struct StreamStore: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Creates the stream with a new incarnation. Returns once the row has committed (the caller may answer 201).
    public func create(name: String, isPrivate: Bool, publishKey: String = PublishKey.generate()) async throws -> StreamRecord {
        let record = StreamRecord(name: name, incarnation: StreamIncarnation.generate(), publishKey: publishKey, isPrivate: isPrivate,
                                  createdAt: Date(timeIntervalSince1970: (Date.now.timeIntervalSince1970 * 1000).rounded(.down) / 1000))
        let inserted = try await database.transaction { sql in
            try await sql.raw("""
                INSERT INTO streams (name, incarnation, publish_key, is_private, created_at)
                VALUES (\(bind: record.name), \(bind: record.incarnation), \(bind: record.publishKey), \(bind: record.isPrivate ? 1 : 0),
                        \(bind: Self.milliseconds(record.createdAt)))
                ON CONFLICT (name) DO NOTHING
                RETURNING name
                """).all().count
        }
        guard inserted > 0 else { throw StreamStoreError.alreadyExists(name) }
        return record
    }

    public func list() async throws -> [StreamRecord] {
        try await database.sql.raw("SELECT name, incarnation, publish_key, is_private, created_at FROM streams ORDER BY name").all()
            .map(Self.record(from:))
    }

    public func get(_ name: String) async throws -> StreamRecord? {
        try await database.sql.raw("SELECT name, incarnation, publish_key, is_private, created_at FROM streams WHERE name = \(bind: name)")
            .first().map(Self.record(from:))
    }

    /// Deletes the stream; false if it did not exist. Returns once the deletion has committed.
    public func delete(_ name: String) async throws -> Bool {
        try await database.transaction { sql in
            !(try await sql.raw("DELETE FROM streams WHERE name = \(bind: name) RETURNING name").all()).isEmpty
        }
    }

    /// Gives the stream a new publish key; the old one stops working. Nil if the stream does not exist. Returns once
    /// the new key has committed.
    public func rotateKey(_ name: String, newKey: String = PublishKey.generate()) async throws -> StreamRecord? {
        try await database.transaction { sql in
            try await sql.raw("""
                UPDATE streams SET publish_key = \(bind: newKey) WHERE name = \(bind: name)
                RETURNING name, incarnation, publish_key, is_private, created_at
                """).first().map(Self.record(from:))
        }
    }

    private static func record(from row: any SQLRow) throws -> StreamRecord {
        StreamRecord(name: try row.decode(column: "name", as: String.self),
                     incarnation: try row.decode(column: "incarnation", as: String.self),
                     publishKey: try row.decode(column: "publish_key", as: String.self),
                     isPrivate: try row.decode(column: "is_private", as: Int.self) != 0,
                     createdAt: Date(timeIntervalSince1970: Double(try row.decode(column: "created_at", as: Int64.self)) / 1000))
    }

    private static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// Stream incarnations: 128 random bits behind `s:`. The colon is never part of a stream name, so an incarnation
/// can never equal the name a row written before incarnations existed was keyed by.
public enum StreamIncarnation {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return "s:" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// Publish keys are bearer secrets typed into OBS: 128 random bits, URL- and RTMP-safe characters.
public enum PublishKey {
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        // 57 symbols: 22 of them carry > 128 bits.
        return "lr_" + String((0..<22).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

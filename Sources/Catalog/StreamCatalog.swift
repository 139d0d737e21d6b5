import Foundation
import MediaRouter
import Storage

/// A stream as the HTTP edge sees it.
public struct StreamEntry: Sendable, Equatable {
    public var name: String
    /// This stream as distinct from any other of the same name before or after it: tokens, signed URLs and comments
    /// are bound to it.
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

    init(_ record: StreamRecord) {
        self.init(name: record.name, incarnation: record.incarnation, publishKey: record.publishKey,
                  isPrivate: record.isPrivate, createdAt: record.createdAt)
    }
}

/// What DASH/HLS serving checks of a stream on every request, from memory.
public struct StreamAccessEntry: Sendable, Equatable {
    public var incarnation: String
    public var isPrivate: Bool
}

public enum StreamCatalogError: Error, Equatable {
    case alreadyExists
}

/// The node's streams: the stored rows, the in-memory publish-key index that RTMP ingest and media requests read
/// without a database round trip, and the router's live publications, kept in step. A stream deleted or re-keyed
/// here loses its publisher at once.
public final class StreamCatalog: Sendable {
    private let store: StreamStore
    private let index = PublishKeyIndex()
    private let router: MediaRouter

    /// Loads the index from the database.
    public init(database: Database, router: MediaRouter) async throws {
        store = StreamStore(database: database)
        self.router = router
        index.load(try await store.list())
    }

    // MARK: Stored streams

    public func create(name: String, isPrivate: Bool) async throws -> StreamEntry {
        let record: StreamRecord
        do {
            record = try await store.create(name: name, isPrivate: isPrivate)
        } catch StreamStoreError.alreadyExists {
            throw StreamCatalogError.alreadyExists
        }
        index.set(record)
        return StreamEntry(record)
    }

    public func list() async throws -> [StreamEntry] {
        try await store.list().map(StreamEntry.init)
    }

    public func get(_ name: String) async throws -> StreamEntry? {
        try await store.get(name).map(StreamEntry.init)
    }

    /// Deletes the stream and cuts off its publisher; false when no stream has the name.
    public func delete(_ name: String) async throws -> Bool {
        guard try await store.delete(name) else { return false }
        index.remove(stream: name)
        router.evict(stream: name)
        return true
    }

    /// A new publish key; a broadcaster on the old one is cut off. Nil when no stream has the name.
    public func rotateKey(_ name: String) async throws -> StreamEntry? {
        guard let record = try await store.rotateKey(name) else { return nil }
        index.set(record)
        router.evict(stream: name)
        return StreamEntry(record)
    }

    // MARK: From memory

    /// The stream a publish key opens (RTMP ingest).
    public func stream(forKey key: String) -> String? {
        index.stream(forKey: key)
    }

    /// The stream's incarnation and privacy; nil when no stream has that name (never created, or deleted).
    public func access(_ name: String) -> StreamAccessEntry? {
        index.entry(name).map { StreamAccessEntry(incarnation: $0.incarnation, isPrivate: $0.isPrivate) }
    }
}

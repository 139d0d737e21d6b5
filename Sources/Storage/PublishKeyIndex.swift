import NIOConcurrencyHelpers

/// Publish key → stream name, and the incarnation and privacy of every stream, held in memory so RTMP ingest and
/// DASH/HLS serving can check them without a database round trip. Loaded from the `StreamStore` at start and updated
/// by every change made through the API.
public final class PublishKeyIndex: Sendable {
    /// What DASH/HLS serving needs to know of a stream on every request.
    public struct Entry: Sendable, Equatable {
        public var incarnation: String
        public var isPrivate: Bool
    }

    private struct Entries {
        var streamsByKey: [String: String] = [:]
        var streams: [String: Entry] = [:]
    }
    private let entries = NIOLockedValueBox(Entries())

    public init() {}

    public func load(_ records: [StreamRecord]) {
        entries.withLockedValue { entries in
            entries.streamsByKey = Dictionary(records.map { ($0.publishKey, $0.name) }, uniquingKeysWith: { first, _ in first })
            entries.streams = Dictionary(records.map { ($0.name, Entry(incarnation: $0.incarnation, isPrivate: $0.isPrivate)) },
                                         uniquingKeysWith: { first, _ in first })
        }
    }

    public func stream(forKey key: String) -> String? {
        entries.withLockedValue { $0.streamsByKey[key] }
    }

    /// The stream's incarnation and privacy; nil when no stream has that name (never created, or deleted).
    public func entry(_ name: String) -> Entry? {
        entries.withLockedValue { $0.streams[name] }
    }

    /// Whether viewers of the stream need a token: asked on every DASH/HLS request, so answered from memory.
    public func isPrivate(_ name: String) -> Bool {
        entry(name)?.isPrivate ?? false
    }

    public func set(_ record: StreamRecord) {
        entries.withLockedValue { entries in
            entries.streamsByKey = entries.streamsByKey.filter { $0.value != record.name }
            entries.streamsByKey[record.publishKey] = record.name
            entries.streams[record.name] = Entry(incarnation: record.incarnation, isPrivate: record.isPrivate)
        }
    }

    public func remove(stream name: String) {
        entries.withLockedValue { entries in
            entries.streamsByKey = entries.streamsByKey.filter { $0.value != name }
            entries.streams[name] = nil
        }
    }
}

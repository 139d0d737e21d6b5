import NIOConcurrencyHelpers

/// Publish key → stream name, and which streams are private, held in memory so RTMP ingest and DASH/HLS serving
/// can check them without a database round trip. Loaded from the `StreamStore` at start and updated by every change
/// made through the API.
public final class PublishKeyIndex: Sendable {
    private struct Entries {
        var streamsByKey: [String: String] = [:]
        var privateStreams: Set<String> = []
    }
    private let entries = NIOLockedValueBox(Entries())

    public init() {}

    public func load(_ records: [StreamRecord]) {
        entries.withLockedValue { entries in
            entries.streamsByKey = Dictionary(records.map { ($0.publishKey, $0.name) }, uniquingKeysWith: { first, _ in first })
            entries.privateStreams = Set(records.filter(\.isPrivate).map(\.name))
        }
    }

    public func stream(forKey key: String) -> String? {
        entries.withLockedValue { $0.streamsByKey[key] }
    }

    /// Whether viewers of the stream need a token: asked on every DASH/HLS request, so answered from memory.
    public func isPrivate(_ name: String) -> Bool {
        entries.withLockedValue { $0.privateStreams.contains(name) }
    }

    public func set(_ record: StreamRecord) {
        entries.withLockedValue { entries in
            entries.streamsByKey = entries.streamsByKey.filter { $0.value != record.name }
            entries.streamsByKey[record.publishKey] = record.name
            if record.isPrivate { entries.privateStreams.insert(record.name) } else { entries.privateStreams.remove(record.name) }
        }
    }

    public func remove(stream name: String) {
        entries.withLockedValue { entries in
            entries.streamsByKey = entries.streamsByKey.filter { $0.value != name }
            entries.privateStreams.remove(name)
        }
    }
}

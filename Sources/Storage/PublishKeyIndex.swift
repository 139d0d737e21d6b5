import NIOConcurrencyHelpers

/// Publish key → stream name, held in memory so RTMP ingest can check a key on its event loop without a
/// database round trip. Loaded from the `StreamStore` at start and updated by every change made through the API.
public final class PublishKeyIndex: Sendable {
    private let streamsByKey = NIOLockedValueBox<[String: String]>([:])

    public init() {}

    public func load(_ records: [StreamRecord]) {
        streamsByKey.withLockedValue { map in
            map = Dictionary(records.map { ($0.publishKey, $0.name) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public func stream(forKey key: String) -> String? {
        streamsByKey.withLockedValue { $0[key] }
    }

    public func set(_ record: StreamRecord) {
        streamsByKey.withLockedValue { map in
            map = map.filter { $0.value != record.name }
            map[record.publishKey] = record.name
        }
    }

    public func remove(stream name: String) {
        streamsByKey.withLockedValue { map in map = map.filter { $0.value != name } }
    }
}

import Synchronization

/// How a stream is named in metric labels. `/metrics` is typically scraped without authentication and kept for
/// months, so a private stream's name must not appear there: only names on the operator's allow-list are used as
/// they are; every other stream is labelled `h` + 16 hex digits of a hash keyed per process (Swift's `Hasher`,
/// SipHash with a random seed), stable while the node runs and not reversible by trying likely names.
public enum StreamMetricLabel {
    private static let allowed = Mutex<Set<String>>([])

    /// Adds names to the allow-list (at start, from `metrics.streamLabels`). Metrics are process-wide, so the list
    /// is too; servers started in one process (tests) add to it, none takes another's names away.
    public static func allow(_ names: [String]) {
        allowed.withLock { $0.formUnion(names) }
    }

    public static func label(for stream: String) -> String {
        if allowed.withLock({ $0.contains(stream) }) { return stream }
        return hashed(stream)
    }

    static func hashed(_ stream: String) -> String {
        var hasher = Hasher()
        hasher.combine("liverelay stream metric label")
        hasher.combine(stream)
        let value = UInt64(bitPattern: Int64(hasher.finalize()))
        let hex = String(value, radix: 16)
        return "h" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

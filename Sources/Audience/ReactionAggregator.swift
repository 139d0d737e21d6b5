import Foundation
import Logging
import NIOConcurrencyHelpers
import Storage

/// Counts reactions per stream and type in memory. Every window (250 ms) the counts become one `reactions`
/// event per stream; every second the per-second totals are written to the database in one transaction.
public final class ReactionAggregator: Sendable {
    public let window: Duration
    private let hub: EventHub
    private let store: ReactionTotalsStore
    private let logger: Logger

    struct State {
        /// stream → type → count in the current window.
        var window: [String: [String: Int]] = [:]
        /// Totals not yet written: stream, type, unix second.
        var unpersisted: [ReactionTotalsStore.Key: Int] = [:]
        /// stream → type → count in the current second, for moderators.
        var second: [String: [String: Int]] = [:]
        var accepted = 0
    }

    private let state = NIOLockedValueBox(State())

    public init(hub: EventHub, store: ReactionTotalsStore, window: Duration = .milliseconds(250), logger: Logger) {
        self.hub = hub
        self.store = store
        self.window = window
        self.logger = logger
    }

    public func record(stream: String, type: String, count: Int = 1) {
        let second = Int64(Date.now.timeIntervalSince1970.rounded(.down))
        state.withLockedValue { state in
            state.window[stream, default: [:]][type, default: 0] += count
            state.unpersisted[.init(stream: stream, type: type, second: second), default: 0] += count
            state.second[stream, default: [:]][type, default: 0] += count
            state.accepted += count
        }
    }

    /// Reactions accepted since start.
    public var accepted: Int { state.withLockedValue { $0.accepted } }

    /// Broadcasts the window's aggregates; returns how many streams had reactions.
    @discardableResult
    public func closeWindow(at date: Date = .now) -> Int {
        let counts = state.withLockedValue { state in
            defer { state.window = [:] }
            return state.window
        }
        let windowMs = Int(window.components.seconds * 1000 + window.components.attoseconds / 1_000_000_000_000_000)
        for (stream, byType) in counts {
            hub.broadcast(.encode(type: "reactions", WindowPayload(counts: byType, windowMs: windowMs, at: AudienceTime.milliseconds(date)),
                                  delivery: .skippable), stream: stream)
        }
        return counts.count
    }

    /// Sends moderators the last second's rates.
    func closeSecond() {
        let rates = state.withLockedValue { state in
            defer { state.second = [:] }
            return state.second
        }
        for (stream, byType) in rates {
            hub.broadcast(.encode(type: "reactions.rate", RatePayload(perSecond: byType), audience: .moderators, delivery: .skippable),
                          stream: stream)
        }
    }

    /// Writes the pending per-second totals in one transaction; on failure they are kept for the next attempt.
    public func persist() async {
        let pending = state.withLockedValue { state in
            defer { state.unpersisted = [:] }
            return state.unpersisted
        }
        guard !pending.isEmpty else { return }
        do {
            try await store.add(pending)
        } catch {
            logger.error("reaction totals not written; retrying", metadata: ["error": "\(error)", "rows": "\(pending.count)"])
            state.withLockedValue { state in
                for (key, count) in pending { state.unpersisted[key, default: 0] += count }
            }
        }
    }

    /// Closes a window every `window` and persists every second until cancelled, then persists what is left.
    public func run() async {
        let perSecond = max(1, Int((Duration.seconds(1) / window).rounded()))
        var tick = 0
        let clock = ContinuousClock()
        var next = clock.now + window
        while !Task.isCancelled {
            do {
                try await clock.sleep(until: next)
            } catch {
                break
            }
            next += window
            closeWindow()
            tick += 1
            if tick % perSecond == 0 {
                closeSecond()
                await persist()
            }
        }
        closeWindow()
        // The last totals are written even though this task is being cancelled (a new task does not inherit that).
        await Task { await self.persist() }.value
    }

    struct WindowPayload: Encodable {
        var counts: [String: Int]
        var windowMs: Int
        var at: Int64
    }

    struct RatePayload: Encodable {
        var perSecond: [String: Int]
    }
}

/// Per-second reaction totals in the SQL layer.
public struct ReactionTotalsStore: Sendable {
    public struct Key: Hashable, Sendable {
        public var stream: String
        public var type: String
        public var second: Int64
    }

    public struct Total: Sendable, Equatable, Encodable {
        public var type: String
        public var second: Int64
        public var count: Int64
    }

    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    func add(_ counts: [Key: Int]) async throws {
        let rows = Array(counts)
        try await database.transaction { sql in
            for (key, count) in rows {
                try await sql.raw("""
                    INSERT INTO reaction_totals (stream, type, second, count)
                    VALUES (\(bind: key.stream), \(bind: key.type), \(bind: key.second), \(bind: Int64(count)))
                    ON CONFLICT (stream, type, second) DO UPDATE SET count = reaction_totals.count + excluded.count
                    """).run()
            }
        }
    }

    /// Totals per second in `[from, to)` (unix seconds), ordered by second then type, at most `limit` rows, and
    /// only those after `after` (the last row of the previous page) when given.
    public func totals(stream: String, from: Int64, to: Int64, after: (second: Int64, type: String)? = nil,
                       limit: Int = 1000) async throws -> [Total] {
        let after = after ?? (from - 1, "")
        return try await database.sql.raw("""
            SELECT type, second, count FROM reaction_totals
            WHERE stream = \(bind: stream) AND second >= \(bind: from) AND second < \(bind: to)
              AND (second > \(bind: after.second) OR (second = \(bind: after.second) AND type > \(bind: after.type)))
            ORDER BY second, type
            LIMIT \(bind: Int64(max(0, limit)))
            """).all().map { row in
            Total(type: try row.decode(column: "type", as: String.self), second: try row.decode(column: "second", as: Int64.self),
                  count: try row.decode(column: "count", as: Int64.self))
        }
    }

    /// Sums by type over `[from, to)`: one row per reaction type, whatever the range.
    public func sums(stream: String, from: Int64, to: Int64) async throws -> [String: Int64] {
        let rows = try await database.sql.raw("""
            SELECT type, CAST(SUM(count) AS BIGINT) AS total FROM reaction_totals
            WHERE stream = \(bind: stream) AND second >= \(bind: from) AND second < \(bind: to)
            GROUP BY type
            """).all()
        var sums: [String: Int64] = [:]
        for row in rows {
            sums[try row.decode(column: "type", as: String.self)] = try row.decode(column: "total", as: Int64.self)
        }
        return sums
    }
}

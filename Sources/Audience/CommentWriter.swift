import Foundation
import NIOConcurrencyHelpers
import Storage

/// Group commit for comments: posts that arrive while a transaction is committing wait and are written together in
/// the next one. Each poster is answered only after the transaction holding its comment has committed, so a 201
/// still means durable, but a burst costs one commit (one WAL fsync on SQLite) instead of one per comment.
public final class CommentWriter: Sendable {
    struct Pending {
        var stream: String
        var authorID: String
        var author: String
        var text: String
        var milliseconds: Int64
        var continuation: CheckedContinuation<Result<Comment, any Error>, Never>
    }

    struct State {
        var pending: [Pending] = []
        var activeFlushes = 0
    }

    private let database: Database
    private let state = NIOLockedValueBox(State())
    /// SQLite has one connection: one transaction at a time. PostgreSQL commits several in parallel on its pool.
    private let maximumConcurrentFlushes: Int
    /// Bounds a transaction's size and so the wait of the first comment in it.
    private let maximumBatch = 256

    public init(database: Database) {
        self.database = database
        self.maximumConcurrentFlushes = database.backend == .sqlite ? 1 : 4
    }

    public func add(stream: String, authorID: String, author: String, text: String, at date: Date = .now) async throws -> Comment {
        let milliseconds = AudienceTime.milliseconds(date)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Comment, any Error>, Never>) in
            let startFlush = state.withLockedValue { state in
                state.pending.append(Pending(stream: stream, authorID: authorID, author: author, text: text,
                                             milliseconds: milliseconds, continuation: continuation))
                guard state.activeFlushes < maximumConcurrentFlushes else { return false }
                state.activeFlushes += 1
                return true
            }
            if startFlush {
                // Not a child task: a poster that goes away must not cancel the commit other posters wait for.
                Task { await self.flushUntilEmpty() }
            }
        }
        return try result.get()
    }

    private func flushUntilEmpty() async {
        while true {
            let batch = state.withLockedValue { state -> [Pending] in
                let batch = Array(state.pending.prefix(maximumBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.activeFlushes -= 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            await write(batch)
        }
    }

    private func write(_ batch: [Pending]) async {
        let rows = batch.map { ($0.stream, $0.authorID, $0.author, $0.text, $0.milliseconds) }
        do {
            let ids = try await database.transaction { sql in
                var ids: [Int64?] = []
                ids.reserveCapacity(rows.count)
                for (stream, authorID, author, text, milliseconds) in rows {
                    ids.append(try await CommentStore.insert(sql, stream: stream, authorID: authorID, author: author, text: text,
                                                             milliseconds: milliseconds))
                }
                return ids
            }
            for (pending, id) in zip(batch, ids) {
                if let id {
                    pending.continuation.resume(returning: .success(Comment(
                        id: id, stream: pending.stream, authorID: pending.authorID, author: pending.author, text: pending.text,
                        createdAt: AudienceTime.date(milliseconds: pending.milliseconds))))
                } else {
                    pending.continuation.resume(returning: .failure(CommentStoreError.banned))
                }
            }
        } catch {
            for pending in batch { pending.continuation.resume(returning: .failure(error)) }
        }
    }
}

import SQLKit

extension Database {
    /// Runs `body` in one transaction on one connection: committed when it returns, rolled back when it throws.
    public func transaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        // The embedded SQLite database is one connection; transactions from concurrent tasks must not interleave.
        // Statements outside `transaction` still share that connection and would join another task's open
        // transaction, so every write goes through here (reads may not).
        if backend == .sqlite {
            return try await sqliteTransactionGate.run { try await self.runTransaction(body) }
        }
        return try await runTransaction(body)
    }

    private func runTransaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await sql.withSession { session in
            try await session.raw("BEGIN").run()
            do {
                let result = try await body(session)
                try await session.raw("COMMIT").run()
                return result
            } catch {
                try? await session.raw("ROLLBACK").run()
                throw error
            }
        }
    }
}

/// Serializes async work, first come first served (a mutex that suspends instead of blocking a thread).
actor AsyncSerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<R: Sendable>(_ work: @Sendable () async throws -> R) async throws -> R {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await work()
    }
}

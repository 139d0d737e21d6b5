import TestSupport
import Foundation
import Logging
import Testing
@testable import Audience
import Storage

enum TestBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres
    var testDescription: String { rawValue }
}

/// Opens a fresh database of the backend (a throwaway PostgreSQL server for `.postgres`), runs `body`, removes it.
func withDatabase(_ backend: TestBackend, _ body: (Database) async throws -> Void) async throws {
    let logger = Logger(label: "test.audience")
    switch backend {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-audience-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await Database.open(url: nil, dataDirectory: directory, logger: logger)
        do { try await body(database) } catch { try? await database.close(); throw error }
        try await database.close()
    case .postgres:
        let server = try PostgresTestServer()
        defer { server.stop() }
        let database = try await Database.open(url: server.url, dataDirectory: "/nonexistent", logger: logger)
        do { try await body(database) } catch { try? await database.close(); throw error }
        try await database.close()
    }
}

@Suite("CommentStore")
struct CommentStoreTests {
    @Test(arguments: TestBackend.allCases)
    func storesVerbatimAndPagesNewestFirst(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { database in
            let store = CommentStore(database: database)
            let hostile = [
                "<script>alert('x')</script>",
                "'); DROP TABLE comments; --",
                "Robert\"); DELETE FROM bans WHERE ('1'='1",
                "  leading and trailing spaces kept  ",
                "émoji 🎉 and NUL-free unicode ‮rtl",
            ]
            var ids: [Int64] = []
            for (index, text) in hostile.enumerated() {
                let comment = try await store.add(stream: "main", authorID: "u\(index)", author: "User \(index)", text: text)
                #expect(comment.text == text)
                ids.append(comment.id)
            }
            _ = try await store.add(stream: "other", authorID: "u0", author: "User 0", text: "elsewhere")
            #expect(ids == ids.sorted())

            let first = try await store.page(stream: "main", before: nil, limit: 2)
            #expect(first.map(\.id) == [ids[4], ids[3]])
            let second = try await store.page(stream: "main", before: first.last!.id, limit: 2)
            #expect(second.map(\.id) == [ids[2], ids[1]])
            let last = try await store.page(stream: "main", before: second.last!.id, limit: 2)
            #expect(last.map(\.id) == [ids[0]])
            #expect(try await store.page(stream: "main", before: nil, limit: 50).map(\.text) == hostile.reversed())
            // The tables the hostile texts name are intact.
            #expect(try await store.page(stream: "other", before: nil, limit: 50).count == 1)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func softDeleteIsAuditedAndBansHideAndBlock(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { database in
            let store = CommentStore(database: database)
            let keep = try await store.add(stream: "main", authorID: "alice", author: "Alice", text: "hello")
            let remove = try await store.add(stream: "main", authorID: "alice", author: "Alice", text: "spam")
            let troll = try await store.add(stream: "main", authorID: "troll", author: "Troll", text: "bad")

            #expect(try await store.delete(stream: "main", id: remove.id, by: "mod", reason: "spam"))
            #expect(try await store.delete(stream: "main", id: remove.id, by: "mod", reason: "again") == false)
            #expect(try await store.delete(stream: "other", id: keep.id, by: "mod", reason: "wrong stream") == false)

            _ = try await store.ban(stream: "main", sub: "troll", reason: "abuse", by: "mod")
            _ = try await store.ban(stream: "main", sub: "troll", reason: "abuse again", by: "mod")
            #expect(try await store.page(stream: "main", before: nil, limit: 10).map(\.id) == [keep.id])
            // Soft delete and bans hide; nothing is removed.
            #expect(try await store.all(stream: "main").map(\.id) == [keep.id, remove.id, troll.id])
            await #expect(throws: CommentStoreError.banned) {
                _ = try await store.add(stream: "main", authorID: "troll", author: "Troll", text: "still here")
            }
            // A ban is per stream.
            _ = try await store.add(stream: "other", authorID: "troll", author: "Troll", text: "fine here")
            #expect(try await store.bans(stream: "main").map(\.reason) == ["abuse again"])

            #expect(try await store.unban(stream: "main", sub: "troll", by: "mod"))
            #expect(try await store.unban(stream: "main", sub: "troll", by: "mod") == false)
            _ = try await store.add(stream: "main", authorID: "troll", author: "Troll", text: "reformed")

            let audit = try await store.audit(stream: "main")
            #expect(audit.map(\.action) == ["comment.delete", "ban", "ban", "unban"])
            #expect(audit.first == .init(action: "comment.delete", actor: "mod", subject: "\(remove.id)", reason: "spam"))
        }
    }

    @Test(arguments: TestBackend.allCases)
    func concurrentPostsAllCommitWithDistinctIDs(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { database in
            let store = CommentStore(database: database)
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<200 {
                    group.addTask { try await store.add(stream: "main", authorID: "u\(index % 7)", author: "U", text: "c\(index)").id }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 200)
            #expect(try await store.all(stream: "main").count == 200)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func groupCommitAnswersEachPosterAfterItsCommit(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { database in
            let store = CommentStore(database: database)
            _ = try await store.ban(stream: "main", sub: "banned", reason: "", by: "mod")
            let writer = CommentWriter(database: database)
            let results = await withTaskGroup(of: (Int, Result<Audience.Comment, any Error>).self) { group in
                for index in 0..<300 {
                    group.addTask {
                        let author = index % 10 == 0 ? "banned" : "u\(index)"
                        do {
                            return (index, .success(try await writer.add(stream: "main", authorID: author, author: author, text: "t\(index)")))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [(Int, Result<Audience.Comment, any Error>)]()) { $0.append($1) }
            }
            let stored = try await store.all(stream: "main")
            var accepted = 0
            for (index, result) in results {
                switch result {
                case .success(let comment):
                    accepted += 1
                    #expect(index % 10 != 0)
                    #expect(stored.first { $0.id == comment.id }?.text == "t\(index)")
                case .failure(let error):
                    #expect(index % 10 == 0)
                    #expect(error as? CommentStoreError == .banned)
                }
            }
            #expect(accepted == 270 && stored.count == 270 && Set(stored.map(\.id)).count == 270)
        }
    }

    @Test(arguments: TestBackend.allCases)
    func reactionTotalsAccumulatePerSecond(_ backend: TestBackend) async throws {
        try await withDatabase(backend) { database in
            let store = ReactionTotalsStore(database: database)
            try await store.add([.init(stream: "main", type: "heart", second: 100): 3, .init(stream: "main", type: "wow", second: 100): 1])
            try await store.add([.init(stream: "main", type: "heart", second: 100): 2, .init(stream: "main", type: "heart", second: 101): 7])
            let totals = try await store.totals(stream: "main", from: 100, to: 102)
            #expect(totals == [.init(type: "heart", second: 100, count: 5), .init(type: "wow", second: 100, count: 1),
                               .init(type: "heart", second: 101, count: 7)])
            #expect(try await store.totals(stream: "main", from: 101, to: 102).count == 1)
        }
    }
}

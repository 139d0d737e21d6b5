import TestSupport
import Foundation
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import LiveRelayApp
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Opt-in audience benchmark (`tools/bench/audience/run.sh`): comment writes/s with acknowledgement latency on
/// SQLite and PostgreSQL, reactions/s with the delay of their aggregates to many listeners. Prints figures.
@Suite("Audience benchmark", .enabled(if: ProcessInfo.processInfo.environment["LIVERELAY_AUDIENCE_BENCH"] == "1"), .serialized)
struct AudienceBenchmarkTests {
    static var batch: Int { Int(ProcessInfo.processInfo.environment["LIVERELAY_BENCH_BATCH"] ?? "") ?? 2 }
    static var seconds: Double { Double(ProcessInfo.processInfo.environment["LIVERELAY_BENCH_SECONDS"] ?? "") ?? 10 }

    @Test(arguments: ["sqlite", "postgres"])
    func commentWrites(_ backend: String) async throws {
        let postgres = backend == "postgres" ? try PostgresTestServer() : nil
        defer { postgres?.stop() }
        let server = try await TestServer { configuration in
            configuration.audience.commentsPerSecond = 1_000_000
            configuration.audience.commentBurst = 1_000_000
            if let postgres { configuration.database.url = postgres.url }
        }
        do {
            _ = try await server.createStream("bench")
            let writers = Int(ProcessInfo.processInfo.environment["LIVERELAY_BENCH_WRITERS"] ?? "") ?? 32
            var tokens: [String] = []
            for index in 0..<writers { tokens.append(try await server.token("bench", role: "viewer", sub: "w\(index)")) }
            let client = BenchClient(baseURL: server.baseURL, connections: writers)
            let latencies = NIOLockedValueBox<[Double]>([])
            let failures = NIOLockedValueBox(0)
            let deadline = ContinuousClock.now + .seconds(Self.seconds)
            let started = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                for token in tokens {
                    group.addTask {
                        var index = 0
                        while ContinuousClock.now < deadline {
                            let begin = ContinuousClock.now
                            let status = (try? await client.post("/api/streams/bench/comments", token: token,
                                                                 body: #"{"text":"benchmark comment \#(index)"}"#)) ?? 0
                            index += 1
                            if status == 201 {
                                let elapsed = ContinuousClock.now - begin
                                latencies.withLockedValue { $0.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000) }
                            } else {
                                failures.withLockedValue { $0 += 1 }
                            }
                        }
                    }
                }
            }
            let wall = ContinuousClock.now - started
            let all = latencies.withLockedValue { $0 }.sorted()
            let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
            print(String(format: "BENCH comments %@: %d writers, %.0f comments/s acknowledged, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d failed",
                         backend, writers, Double(all.count) / seconds, percentile(all, 0.5), percentile(all, 0.99), all.last ?? 0,
                         failures.withLockedValue { $0 }))
            #expect(all.count > 0)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    @Test func reactionsToManyListeners() async throws {
        let listenerCount = Int(ProcessInfo.processInfo.environment["LIVERELAY_BENCH_LISTENERS"] ?? "") ?? 1000
        let senderCount = 50
        let server = try await TestServer { configuration in
            configuration.audience.reactionsPerSecond = 1_000_000
            configuration.audience.reactionBurst = 1_000_000
        }
        do {
            _ = try await server.createStream("bench")
            let delays = NIOLockedValueBox<[Double]>([])
            var listeners: [EventListener] = []
            for _ in 0..<listenerCount {
                listeners.append(try await EventListener.connect(server: server, stream: "bench", token: nil, keepMessages: false,
                                                                 onAggregate: { at in
                    let now = Date.now.timeIntervalSince1970 * 1000
                    delays.withLockedValue { $0.append(now - Double(at)) }
                }))
            }
            var senders: [EventListener] = []
            for index in 0..<senderCount {
                let token = try await server.token("bench", role: "viewer", sub: "s\(index)")
                senders.append(try await EventListener.connect(server: server, stream: "bench", token: token, keepMessages: false))
            }
            let sent = NIOLockedValueBox(0)
            let deadline = ContinuousClock.now + .seconds(Self.seconds)
            let started = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                for sender in senders {
                    group.addTask {
                        while ContinuousClock.now < deadline {
                            for _ in 0..<Self.batch { sender.send(#"{"type":"reaction","reaction":"heart"}"#) }
                            sent.withLockedValue { $0 += Self.batch }
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                    }
                }
            }
            let wall = ContinuousClock.now - started
            try await Task.sleep(for: .seconds(2))
            let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
            let totals = try await server.call("GET", "/api/streams/bench/reactions").json["totals"] as? [String: Int] ?? [:]
            let accepted = totals["heart"] ?? 0
            let received = listeners.map { $0.reactionSums()["heart"] ?? 0 }
            let all = delays.withLockedValue { $0 }.sorted()
            print(String(format: "BENCH reactions: %d senders queued %.0f/s, server accepted %.0f/s; %d listeners received %d..%d of %d; aggregate fan-out delay p50 %.1f ms, p99 %.1f ms (after the 250 ms window)",
                         senderCount, Double(sent.withLockedValue { $0 }) / seconds, Double(accepted) / seconds, listenerCount,
                         received.min() ?? 0, received.max() ?? 0, accepted, percentile(all, 0.5), percentile(all, 0.99)))
            for listener in listeners + senders { listener.close() }
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

/// Keep-alive HTTP client with enough connections for the writers.
struct BenchClient: Sendable {
    let baseURL: String
    let session: URLSession

    init(baseURL: String, connections: Int) {
        self.baseURL = baseURL
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = connections
        self.session = URLSession(configuration: configuration)
    }

    func post(_ path: String, token: String, body: String) async throws -> Int {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let (_, response) = try await session.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}

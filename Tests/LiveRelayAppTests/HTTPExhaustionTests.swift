import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import HTTPServer
import Testing
@testable import LiveRelayApp

/// A raw HTTP/1.1 client on its own TCP connection, from a chosen loopback address (127.0.0.2 stands for a second
/// host), for requests no well-behaved client sends: heads that never end, many connections at once.
struct RawHTTPConnection {
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let bytes = NIOLockedValueBox([UInt8]())

        var received: [UInt8] { bytes.withLockedValue { $0 } }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLockedValue { $0 += buffer.readableBytesView }
        }
    }

    let channel: any Channel
    let collector: Collector

    static func connect(port: Int, from sourceAddress: String) async throws -> RawHTTPConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .bind(to: try SocketAddress(ipAddress: sourceAddress, port: 0))
            .connect(host: "127.0.0.1", port: port).get()
        return RawHTTPConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    var isOpen: Bool { channel.isActive }

    /// The status of the first response, once its status line has arrived.
    var status: Int? {
        let text = String(decoding: collector.received.prefix(64), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 "), text.count >= 12 else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    func close() async {
        try? await channel.close()
    }
}

@Suite("HTTP against exhausting clients", .serialized)
struct HTTPExhaustionTests {
    @Test("2,000 slowloris connections from one address: 32 are admitted, all are closed at the header deadline, other clients are answered")
    func slowlorisIsCappedAndTimedOut() async throws {
        let node = try await TestServer { configuration in
            configuration.http.maximumConnectionsPerAddress = 32
            configuration.http.headerTimeoutSeconds = 2
        }
        do {
            // The size of the original report; LIVERELAY_SLOWLORIS_CONNECTIONS sets another.
            let count = Int(ProcessInfo.processInfo.environment["LIVERELAY_SLOWLORIS_CONNECTIONS"] ?? "") ?? 2000
            var slow: [RawHTTPConnection] = []
            for _ in 0..<count {
                // A refused connection may be closed before it is reported as connected.
                guard let connection = try? await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.0.2") else {
                    continue
                }
                try? await connection.send("GET /healthz HTTP/1.1\r\nHost: liverelay\r\n")
                slow.append(connection)
            }
            defer { for connection in slow { Task { await connection.close() } } }
            #expect(await eventually { slow.filter(\.isOpen).count <= 32 })

            // While they are held, another address is answered, over a fresh connection and a raw one.
            #expect(try await node.request("GET", "/healthz", admin: false).status == 200)
            let neighbour = try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.0.1")
            try await neighbour.send("GET /healthz HTTP/1.1\r\nHost: liverelay\r\n\r\n")
            #expect(await eventually { neighbour.status == 200 })
            await neighbour.close()

            // Header lines trickling in do not extend the deadline: every slow connection is closed.
            let trickled = await eventually(timeout: .seconds(20)) {
                for connection in slow where connection.isOpen {
                    try? await connection.send("X-Slow: 1\r\n")
                }
                return slow.allSatisfy { !$0.isOpen }
            }
            #expect(trickled, "\(slow.filter(\.isOpen).count) slow connections still open")
            #expect(try await node.request("GET", "/healthz", admin: false).status == 200)
            // Both kinds of refusal are counted.
            for reason in ["too_many_connections_from_address", "header_timeout"] {
                let count = try await WHEPTests.metric(node, "liverelay_http_connections_refused_total{reason=\"\(reason)\"}") ?? 0
                #expect(count > 0, "no refusals counted as \(reason)")
            }
        } catch {
            try await node.stop()
            throw error
        }
        try await node.stop()
    }

    @Test("a complete request is answered and its keep-alive connection then waits without a header deadline")
    func keepAliveIsNotCutByTheHeaderDeadline() async throws {
        let node = try await TestServer { configuration in
            configuration.http.headerTimeoutSeconds = 1
            configuration.http.idleTimeoutSeconds = 30
        }
        do {
            let connection = try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.0.1")
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: liverelay\r\n\r\n")
            #expect(await eventually { connection.status == 200 })
            // Past the header deadline, an idle keep-alive connection stays; a second request on it is answered.
            try await Task.sleep(for: .seconds(2))
            #expect(connection.isOpen)
            let before = connection.collector.received.count
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: liverelay\r\n\r\n")
            #expect(await eventually { connection.collector.received.count > before })
            await connection.close()
        } catch {
            try await node.stop()
            throw error
        }
        try await node.stop()
    }

    @Test("a keep-alive connection with no request for the idle timeout is closed")
    func idleKeepAliveIsClosed() async throws {
        let node = try await TestServer { configuration in
            configuration.http.idleTimeoutSeconds = 1
        }
        do {
            let connection = try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.0.1")
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: liverelay\r\n\r\n")
            #expect(await eventually { connection.status == 200 })
            #expect(await eventually { !connection.isOpen })
            await connection.close()
        } catch {
            try await node.stop()
            throw error
        }
        try await node.stop()
    }

    @Test("a body that trickles in is cut at the body deadline; one that arrives is answered")
    func slowBodyIsTimedOut() async throws {
        let node = try await TestServer { configuration in
            configuration.http.bodyTimeoutSeconds = 1
        }
        do {
            // The admin's stream creation reads the body before answering.
            let authorization = "Authorization: Bearer \(TestServer.adminToken)\r\n"
            let head = "POST /api/streams HTTP/1.1\r\nHost: liverelay\r\n\(authorization)Content-Type: application/json\r\nContent-Length: 64\r\n\r\n"
            let slow = try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.0.2")
            try await slow.send(head + "{")
            let cut = await eventually(timeout: .seconds(15)) {
                try? await slow.send(" ")
                return !slow.isOpen
            }
            #expect(cut)
            #expect(slow.status == nil)

            let whole = try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.0.1")
            let body = #"{"name":"slowbody"}"#
            try await whole.send("POST /api/streams HTTP/1.1\r\nHost: liverelay\r\n\(authorization)Content-Type: application/json\r\n"
                                 + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            #expect(await eventually { whole.status == 201 })
            await whole.close()
        } catch {
            try await node.stop()
            throw error
        }
        try await node.stop()
    }

    @Test("4,000 held LL-HLS blocking reloads from 63 addresses: all held, one beyond an address's share gets 429, another address still blocks and gets 200")
    func blockingReloadsAreLimitedPerAddress() async throws {
        // Default limits: 4,096 held in all, 64 per address. 63 attacker addresses (127.0.1.1 …) hold 64 each.
        let node = try await TestServer { configuration in
            configuration.http.headerTimeoutSeconds = 60  // the connections are all opened before any request is sent
        }
        let share = 64
        // The size of the original report; LIVERELAY_HELD_RELOADS sets another.
        let count = Int(ProcessInfo.processInfo.environment["LIVERELAY_HELD_RELOADS"] ?? "") ?? 4000
        let addresses = (count + share - 1) / share
        let key = try await node.createStream("cam")
        // 3 s segments: the segment after the one being written is 3 to 6 s away, within the 6 s a reload is held.
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x180", rate: 30, seconds: 90,
                                                      bFrames: false, gop: 90)
        try publisher.start()
        defer { publisher.terminate() }
        var held: [RawHTTPConnection] = []
        defer { for connection in held { Task { await connection.close() } } }
        do {
            #expect(try await StreamingTests.waitForSegments(node, "cam", count: 2), "no segments: \(publisher.log)")
            for index in 0..<count {
                let address = "127.0.1.\(index / share + 1)"
                held.append(try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: address))
            }
            #expect(addresses <= 63)

            // Wait for a segment to begin, then ask for the one after it: about 6 s away.
            func writing() async throws -> Int? {
                let playlist = try await StreamingTests.text(node, "/hls/cam/source-video.m3u8")
                guard let hint = playlist.split(separator: "\n").first(where: { $0.hasPrefix("#EXT-X-PRELOAD-HINT") }),
                      let uri = hint.split(separator: "\"").dropFirst().first,
                      let name = uri.split(separator: "/").last else { return nil }
                return name.split(separator: ".").first.flatMap { Int($0) }
            }
            let before = try #require(try await writing())
            var begun: Int?
            _ = try await eventually(timeout: .seconds(8)) {
                begun = try await writing().flatMap { $0 > before ? $0 : nil }
                return begun != nil
            }
            let msn = try #require(begun) + 1
            let reload = "GET /hls/cam/source-video.m3u8?_HLS_msn=\(msn) HTTP/1.1\r\nHost: liverelay\r\n\r\n"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for connection in held { group.addTask { try await connection.send(reload) } }
                try await group.waitForAll()
            }
            // Every one of them is held: none answered, the pool counts them all.
            var heldNow: Double?
            let allHeld = await eventually(timeout: .seconds(3)) {
                heldNow = (try? await WHEPTests.metric(node, "liverelay_http_blocking_requests_held")).flatMap { $0 }
                return heldNow == Double(count)
            }
            #expect(allHeld, "held: \(String(describing: heldNow))")
            #expect(held.allSatisfy { $0.status == nil }, "answered early: \(held.filter { $0.status != nil }.count)")

            // One more from a full address is refused at once, not held.
            let extra = try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.1.1")
            try await extra.send(reload)
            #expect(await eventually(timeout: .seconds(2)) { extra.status != nil })
            #expect(extra.status == 429)
            await extra.close()
            let counted = try await WHEPTests.metric(node, "liverelay_http_blocking_requests_refused_total{reason=\"too_many_from_address\"}")
            #expect((counted ?? 0) > 0)

            // Another address's reload blocks as usual and is answered with the playlist, and so is everyone's.
            let other = try await RawHTTPConnection.connect(port: node.endpoints.httpPort, from: "127.0.0.1")
            try await other.send(reload)
            #expect(try await node.request("GET", "/healthz", admin: false).status == 200)
            #expect(await eventually(timeout: .seconds(10)) { other.status != nil })
            #expect(other.status == 200)
            await other.close()
            #expect(await eventually(timeout: .seconds(10)) { held.allSatisfy { $0.status == 200 } },
                    "\(Dictionary(grouping: held, by: { $0.status ?? 0 }).mapValues(\.count))")
        } catch {
            try await node.stop()
            throw error
        }
        try await node.stop()
    }

    @Test("the held-request pool: each address gets its share, the pool its total, and slots come back")
    func blockingRequestLimiterShares() {
        let limiter = BlockingRequestLimiter(maximum: 5, maximumPerAddress: 3)
        #expect((0..<3).map { _ in limiter.acquire(address: "a") } == [nil, nil, nil])
        #expect(limiter.acquire(address: "a") == .tooManyFromAddress)
        #expect(limiter.acquire(address: "b") == nil)
        #expect(limiter.acquire(address: "c") == nil)
        #expect(limiter.acquire(address: "d") == .full)
        limiter.release(address: "a")
        #expect(limiter.acquire(address: "d") == nil)
        #expect(limiter.held == 5)
        for address in ["a", "a", "b", "c", "d"] { limiter.release(address: address) }
        #expect(limiter.held == 0)
        #expect(limiter.acquire(address: "a") == nil)
    }

    @Test("reaction totals come in bounded pages that together hold every row")
    func reactionTotalsArePaged() async throws {
        let node = try await TestServer { configuration in
            configuration.http.reactionPageLimit = 2
            configuration.audience.reactionsPerSecond = 100
            configuration.audience.reactionBurst = 100
        }
        do {
            _ = try await node.createStream("show")
            let viewer = try await node.token("show", role: "viewer", sub: "alice")
            for type in ["heart", "like", "wow", "clap", "fire"] {
                #expect(try await node.call("POST", "/api/streams/show/reactions", token: viewer, json: ["type": type]).status == 202)
            }
            // Totals are written once a second; wait until all five are there.
            #expect(try await eventually {
                let totals = try await node.call("GET", "/api/streams/show/reactions").json["totals"] as? [String: Int] ?? [:]
                return totals.values.reduce(0, +) == 5
            })
            #expect(try await node.call("GET", "/api/streams/show/reactions?limit=3").status == 400)

            let first = try await node.call("GET", "/api/streams/show/reactions")
            let to = try #require(first.json["to"] as? Int)
            var page = first.json
            var rows = 0
            var pages = 0
            while true {
                pages += 1
                let seconds = page["seconds"] as? [[String: Any]] ?? []
                #expect(seconds.count <= 2)
                rows += seconds.count
                #expect((page["totals"] as? [String: Int])?.values.reduce(0, +) == 5)
                guard let next = page["next"] as? String, pages < 10 else { break }
                let from = try #require(first.json["from"] as? Int)
                page = try await node.call("GET", "/api/streams/show/reactions?from=\(from)&to=\(to)&after=\(next)").json
            }
            #expect(rows == 5)
            #expect(pages >= 3)
        } catch {
            try await node.stop()
            throw error
        }
        try await node.stop()
    }
}

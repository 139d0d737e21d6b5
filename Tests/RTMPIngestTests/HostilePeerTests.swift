import MediaRouter
import RTMPIngest
import Testing
import TestSupport

/// Each bad peer must lose only its own connection while a real publisher keeps streaming.
@Suite("RTMP ingest against hostile peers")
struct HostilePeerTests {
    @Test("random bytes, truncated handshake, 16 MiB chunk size and bogus AMF each close only their connection")
    func hostilePeersDoNotDisturbPublisher() async throws {
        let fixture = try await IngestFixture.start(handshakeTimeout: .seconds(1))
        defer { Task { [server = fixture.server] in await server.stop() } }
        let ffmpeg = try ExternalProcess.ffmpeg(url: fixture.url(), seconds: 8)
        defer { ffmpeg.terminate() }
        #expect(await eventually { fixture.observer.record("s1").videoFrames >= 5 })

        var generator = SplitMix64(seed: 0x5EED)
        let noise = Array("GET / HTTP/1.1\r\n\r\n".utf8) + (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let cases: [(String, [UInt8])] = [
            ("random bytes", noise),
            ("truncated handshake", [3] + [UInt8](repeating: 7, count: 700)),
            ("16 MiB chunk size", RawPeer.handshake + RawPeer.chunk(chunkStreamID: 2, typeID: 1, payload: [0x01, 0x00, 0x00, 0x00])),
            ("bogus AMF command", RawPeer.handshake + RawPeer.chunk(chunkStreamID: 3, typeID: 20,
                                                                   payload: [0x02, 0xFF, 0xFF, 0x41, 0x42, 0x03, 0x00])),
            ("deeply nested AMF", RawPeer.handshake + RawPeer.chunk(chunkStreamID: 3, typeID: 20,
                                                                   payload: [0x02, 0x00, 0x01, 0x63]
                                                                       + Array([[UInt8]](repeating: [0x0A, 0, 0, 0, 1], count: 200).joined()))),
        ]
        for (name, bytes) in cases {
            let framesBefore = fixture.observer.record("s1").videoFrames
            let peer = try await RawPeer.connect(port: fixture.port)
            try await peer.send(bytes)
            #expect(await peer.isClosedByServer(), "server kept the connection open after \(name)")
            await peer.close()
            #expect(await eventually(within: 4) { fixture.observer.record("s1").videoFrames > framesBefore + 3 },
                    "publisher stalled after \(name)")
        }
        #expect(fixture.router.isLive("s1"))
        #expect(fixture.observer.record("s1").started == 1)
    }

    @Test("256 idle handshaked connections from one address: 16 are served, all are closed at the publish deadline, and publishers from elsewhere are unaffected")
    func idleConnectionsFromOneAddressAreCappedAndExpire() async throws {
        // The idle timeout is long so that only the publish deadline can close the idle connections.
        let fixture = try await IngestFixture.start(idleTimeout: .seconds(120), publishTimeout: .seconds(6))
        defer { Task { [server = fixture.server] in await server.stop() } }
        let ffmpeg = try ExternalProcess.ffmpeg(url: fixture.url(), size: "320x180", seconds: 30)
        defer { ffmpeg.terminate() }
        #expect(await eventually { fixture.observer.record("s1").videoFrames >= 5 })

        var hostile: [RawPeer] = []
        for _ in 0..<256 {
            // A refused connection may be closed before it is even reported as connected.
            guard let peer = try? await RawPeer.connect(port: fixture.port, from: "127.0.0.2") else { continue }
            try? await peer.send(RawPeer.handshake)
            hostile.append(peer)
        }
        defer { for peer in hostile { Task { await peer.close() } } }
        // The per-address cap: beyond 16 at a time they are closed on accept; the admitted ones were handshaked.
        #expect(await eventually { hostile.filter { $0.channel.isActive }.count <= 16 })
        let handshaked = hostile.contains { $0.receivedHandshakeReply }
        #expect(handshaked)

        // While they are held, another address still gets a connection and a handshake.
        let neighbour = try await RawPeer.connect(port: fixture.port)
        try await neighbour.send(RawPeer.handshake)
        #expect(await eventually { neighbour.receivedHandshakeReply })
        await neighbour.close()

        // The publish deadline closes the rest, though they completed the handshake and the idle timeout is far off.
        #expect(await eventually(within: 20) { hostile.allSatisfy { !$0.channel.isActive } })

        let framesBefore = fixture.observer.record("s1").videoFrames
        #expect(await eventually { fixture.observer.record("s1").videoFrames > framesBefore + 10 })
        #expect(fixture.router.isLive("s1"))
        #expect(fixture.observer.record("s1").started == 1)
        #expect(fixture.observer.record("s1").ended == 0)
    }
}

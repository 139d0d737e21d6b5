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
}

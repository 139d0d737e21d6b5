import MediaRouter
import NIOCore
import RTMP
import RTMPIngest
import Testing

/// A publisher driven byte by byte over TCP, so that it can go silent or be evicted mid-stream.
@Suite("RTMP ingest: publishers that vanish or are evicted")
struct SilentPublisherTests {
    /// Handshake, connect, createStream, publish "k1" and an AAC sequence header — then nothing.
    private static func publishBytes() -> [UInt8] {
        let encoder = RTMPChunkEncoder()
        var buffer = ByteBuffer(bytes: RawPeer.handshake)
        func command(_ values: [AMF0Value], streamID: UInt32 = 0) {
            var payload = ByteBuffer()
            AMF0Encoder.encode(values, into: &payload)
            encoder.encode(RTMPMessage(typeID: RTMPMessageType.commandAMF0, streamID: streamID, timestamp: 0, payload: payload),
                           chunkStreamID: 3, into: &buffer)
        }
        command([.string("connect"), .number(1), .object([AMF0Property("app", .string("live"))])])
        command([.string("createStream"), .number(2), .null])
        command([.string("publish"), .number(3), .null, .string("k1"), .string("live")], streamID: 1)
        encoder.encode(RTMPMessage(typeID: RTMPMessageType.audio, streamID: 1, timestamp: 0,
                                   payload: ByteBuffer(bytes: [0xAF, 0x00, 0x12, 0x08])), chunkStreamID: 4, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test("a publisher that goes silent is dropped by the idle timeout and the stream goes offline")
    func silentPublisherTimesOut() async throws {
        let fixture = try await IngestFixture.start(idleTimeout: .seconds(1))
        defer { Task { [server = fixture.server] in await server.stop() } }
        let peer = try await RawPeer.connect(port: fixture.port)
        defer { Task { await peer.close() } }
        try await peer.send(Self.publishBytes())
        #expect(await eventually { fixture.observer.record("s1").audio?.sampleRate == 44100 })
        #expect(fixture.router.isLive("s1"))
        #expect(await eventually(within: 5) { !fixture.router.isLive("s1") })
        #expect(await peer.isClosedByServer(within: 10))
        #expect(fixture.observer.record("s1").ended == 1)
    }

    @Test("evicting a stream closes its publisher's connection")
    func evictionClosesConnection() async throws {
        let fixture = try await IngestFixture.start()
        defer { Task { [server = fixture.server] in await server.stop() } }
        let peer = try await RawPeer.connect(port: fixture.port)
        defer { Task { await peer.close() } }
        try await peer.send(Self.publishBytes())
        #expect(await eventually { fixture.router.isLive("s1") })
        fixture.router.evict(stream: "s1")
        #expect(await peer.isClosedByServer(within: 10))
        #expect(!fixture.router.isLive("s1"))
    }

    @Test("stop() closes live connections and ends their streams")
    func stopEndsPublications() async throws {
        let fixture = try await IngestFixture.start()
        let peer = try await RawPeer.connect(port: fixture.port)
        defer { Task { await peer.close() } }
        try await peer.send(Self.publishBytes())
        #expect(await eventually { fixture.router.isLive("s1") })
        await fixture.server.stop()
        #expect(await peer.isClosedByServer(within: 10))
        #expect(await eventually(within: 10) { !fixture.router.isLive("s1") })
    }
}

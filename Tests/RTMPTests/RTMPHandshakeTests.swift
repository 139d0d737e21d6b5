import NIOCore
import RTMP
import Testing

@Suite("RTMP handshake")
struct RTMPHandshakeTests {
    @Test func answersC0C1AndWaitsForC2() throws {
        var handshake = RTMPServerHandshake()
        let c1 = (0..<1536).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var input = ByteBuffer(bytes: [3] + c1.prefix(100))
        guard case .needMoreData = try handshake.parseStep(&input) else { Issue.record("answered a partial C1"); return }
        #expect(input.readableBytes == 101)  // nothing consumed

        input.writeBytes(c1.dropFirst(100))
        guard case .send(let reply) = try handshake.parseStep(&input) else { Issue.record("no S0S1S2"); return }
        let bytes = Array(reply.readableBytesView)
        #expect(bytes.count == 1 + 2 * 1536)
        #expect(bytes[0] == 3)
        #expect(Array(bytes[5..<9]) == [0, 0, 0, 0])  // zero version selects the simple handshake
        #expect(Array(bytes[1537...]) == c1)  // S2 echoes C1

        input.writeBytes([UInt8](repeating: 0, count: 1000))
        guard case .needMoreData = try handshake.parseStep(&input) else { Issue.record("completed early"); return }
        input.writeBytes([UInt8](repeating: 0, count: 536) + [0xAA, 0xBB])
        guard case .complete = try handshake.parseStep(&input) else { Issue.record("did not complete"); return }
        #expect(handshake.isComplete)
        #expect(Array(input.readableBytesView) == [0xAA, 0xBB])  // chunk data after C2 stays unread
    }

    @Test func rejectsOtherVersionsOnTheFirstByte() {
        var handshake = RTMPServerHandshake()
        var input = ByteBuffer(bytes: [6])
        #expect(throws: RTMPProtocolError.unsupportedVersion(6)) { try handshake.parseStep(&input) }
        var http = RTMPServerHandshake()
        var get = ByteBuffer(string: "GET / HTTP/1.1\r\n")
        #expect(throws: RTMPProtocolError.unsupportedVersion(0x47)) { try http.parseStep(&get) }
    }
}

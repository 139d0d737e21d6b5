import NIOCore
import RTP
import XCTest
import TestSupport

/// The fan-out writes packets straight into send slots (`nextFrame`, `VP8FramePackets.write`); NACK repairs rebuild
/// them later from the frame (`writePacket`, `writeRetransmission`). Both must give the bytes `packetize` gives.
final class VP8SendPathTests: XCTestCase {
    private func layout(mid: String = "0") throws -> RTPHeaderExtensionLayout {
        try RTPHeaderExtensionLayout(mid: (id: 4, value: mid), absSendTimeID: 2, transportSequenceNumberID: 3)
    }

    /// A frame that is a slice of a larger buffer, so the writers must honour its reader index.
    private func frame(_ length: Int, seed: UInt64) -> ByteBuffer {
        var generator = SplitMix64(seed: seed)
        var buffer = ByteBuffer(bytes: generator.bytes(length + 37))
        buffer.moveReaderIndex(forwardBy: 37)
        return buffer
    }

    private func written(_ packets: VP8FramePackets) -> [[UInt8]] {
        (0..<packets.count).map { index in
            let length = packets.length(ofPacket: index)
            let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: length + 8, alignment: 1)
            defer { memory.deallocate() }
            memory.initializeMemory(as: UInt8.self, repeating: 0xEE)
            XCTAssertEqual(packets.write(index, to: memory.baseAddress!), length)
            XCTAssertEqual(Array(memory[length...]), [UInt8](repeating: 0xEE, count: 8), "wrote past its length")
            return Array(memory[..<length])
        }
    }

    func testPacketsWrittenInPlaceAreThePacketizersBytes() throws {
        for (seed, (size, mid)) in [(1, "0"), (1167, "video"), (1200, "0123456789abcdef"), (25_000, "1")].enumerated() {
            let extensions = try layout(mid: mid)
            var reference = VP8Packetizer(payloadType: 96, ssrc: 0xCAFE_F00D, extensions: extensions,
                                          sequenceNumber: 65_530, pictureID: 0x7FFE)
            var inPlace = reference
            let data = frame(size, seed: UInt64(seed))
            var scratch = ByteBuffer()
            var expected: [[UInt8]] = []
            reference.packetize(frame: data, timestamp: 0xDEAD_BEEF, isKeyframe: true, absSendTime: 0x00AB_CDEF,
                                into: &scratch) { expected.append(Array($0.readableBytesView)) }
            let packets = inPlace.nextFrame(data, timestamp: 0xDEAD_BEEF, isKeyframe: true, absSendTime: 0x00AB_CDEF)
            XCTAssertEqual(packets.count, expected.count)
            XCTAssertEqual(written(packets), expected, "size \(size), mid \(mid)")
            XCTAssertEqual(inPlace.sequenceNumber, reference.sequenceNumber)
            XCTAssertEqual(inPlace.pictureID, reference.pictureID)
            XCTAssertEqual(inPlace.lastKeyframePictureID, 0x7FFE)

            // The header parses back with every extension where the layout says it is.
            let first = try RTPPacket(parsing: ByteBuffer(bytes: expected[0]))
            XCTAssertEqual(first.header.sequenceNumber, 65_530)
            XCTAssertEqual(first.header.timestamp, 0xDEAD_BEEF)
            XCTAssertEqual(first.header.ssrc, 0xCAFE_F00D)
            XCTAssertEqual(expected.last.map { try? RTPPacket(parsing: ByteBuffer(bytes: $0)).header.marker }, true)
            let absOffset = try XCTUnwrap(extensions.absSendTimeOffset)
            XCTAssertEqual(Array(expected[0][absOffset..<absOffset + 3]), [0xAB, 0xCD, 0xEF])
        }
    }

    func testTransportSequenceNumberPatchedInPlaceMatchesTheBufferForm() throws {
        let extensions = try layout(mid: "0123456789abcdef")
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 7, extensions: extensions, sequenceNumber: 1, pictureID: 1)
        let packets = packetizer.nextFrame(frame(3000, seed: 9), timestamp: 1, isKeyframe: false)
        var bytes = written(packets)[1]
        var buffer = ByteBuffer(bytes: bytes)
        extensions.setTransportSequenceNumber(0xBEEF, in: &buffer)
        bytes.withUnsafeMutableBytes { extensions.setTransportSequenceNumber(0xBEEF, at: $0.baseAddress!) }
        XCTAssertEqual(bytes, Array(buffer.readableBytesView))
        let offset = try XCTUnwrap(extensions.transportSequenceNumberOffset)
        XCTAssertEqual(Array(bytes[offset..<offset + 2]), [0xBE, 0xEF])
        // The longest layout (16-byte MID, abs-send-time, transport-cc) is the most a header holds.
        XCTAssertEqual(packetizer.header.headerLength, RTPHeaderBytes.capacity)
    }

    func testRepairsRebuildTheSentPacketsByteForByte() throws {
        let extensions = try layout()
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 0x0102_0304, extensions: extensions,
                                       sequenceNumber: 65_534, pictureID: 300)
        let data = frame(5000, seed: 3)
        let packets = packetizer.nextFrame(data, timestamp: 123_456, isKeyframe: false, absSendTime: 42)
        let sent = written(packets)
        var scratch = ByteBuffer()
        for index in 0..<packets.count {
            let sequenceNumber = packets.firstSequenceNumber &+ UInt16(index)
            XCTAssertTrue(packetizer.writePacket(index: index, of: data, timestamp: 123_456, pictureID: packets.pictureID,
                                                 sequenceNumber: sequenceNumber, absSendTime: 42, into: &scratch))
            XCTAssertEqual(Array(scratch.readableBytesView), sent[index], "packet \(index)")

            // RTX (RFC 4588): its own header, the original sequence number, then the original payload.
            let rtx = RTPHeaderTemplate(payloadType: 97, ssrc: 0x0A0B_0C0D, extensions: extensions)
            XCTAssertTrue(packetizer.writeRetransmission(index: index, of: data, timestamp: 123_456, pictureID: packets.pictureID,
                                                         originalSequenceNumber: sequenceNumber, rtx: rtx,
                                                         rtxSequenceNumber: 9, absSendTime: 42, into: &scratch))
            let repair = try RTPPacket(parsing: scratch)
            XCTAssertEqual(repair.header.payloadType, 97)
            XCTAssertEqual(repair.header.ssrc, 0x0A0B_0C0D)
            XCTAssertEqual(repair.header.sequenceNumber, 9)
            XCTAssertEqual(repair.header.marker, index == packets.count - 1)
            let original = try RTPPacket(parsing: ByteBuffer(bytes: sent[index]))
            XCTAssertEqual(Array(repair.payload.readableBytesView),
                           [UInt8(sequenceNumber >> 8), UInt8(sequenceNumber & 0xFF)] + Array(original.payload.readableBytesView))
        }
        XCTAssertFalse(packetizer.writePacket(index: packets.count, of: data, timestamp: 0, pictureID: 0, sequenceNumber: 0,
                                              into: &scratch))
    }

    func testOpusPacketWrittenInPlaceIsThePacketizersBytes() throws {
        var reference = OpusPacketizer(payloadType: 111, ssrc: 0x1111_2222, extensions: try layout(), sequenceNumber: 65_535)
        var inPlace = reference
        let data = frame(160, seed: 5)
        var scratch = ByteBuffer()
        var expected: [UInt8] = []
        XCTAssertTrue(reference.packetize(frame: data, timestamp: 960, absSendTime: 7, into: &scratch) { expected = Array($0.readableBytesView) })
        let length = try XCTUnwrap(inPlace.packetLength(frame: data))
        var bytes = [UInt8](repeating: 0, count: length)
        XCTAssertEqual(bytes.withUnsafeMutableBytes { inPlace.write(frame: data, timestamp: 960, absSendTime: 7, to: $0.baseAddress!) }, length)
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual(inPlace.sequenceNumber, 0)
        XCTAssertNil(inPlace.packetLength(frame: ByteBuffer()))
        XCTAssertNil(inPlace.packetLength(frame: frame(1200, seed: 6)))
    }
}

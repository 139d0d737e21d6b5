import NIOCore
import RTP
import XCTest
import TestSupport

final class VP8PacketizerTests: XCTestCase {
    private struct Emitted {
        var packet: RTPPacket
        var descriptor: VP8PayloadDescriptor
        var size: Int
    }

    private func frame(_ length: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return generator.bytes(length)
    }

    private func packetize(_ bytes: [UInt8], with packetizer: inout VP8Packetizer, timestamp: UInt32,
                           keyframe: Bool = false) throws -> [Emitted] {
        var scratch = ByteBuffer()
        var emitted: [Emitted] = []
        var failure: Error?
        let count = packetizer.packetize(frame: ByteBuffer(bytes: bytes), timestamp: timestamp, isKeyframe: keyframe,
                                         into: &scratch) { packet in
            do {
                let parsed = try RTPPacket(parsing: packet)
                let descriptor = try VP8PayloadDescriptor.parse(parsed.payload)
                emitted.append(Emitted(packet: parsed, descriptor: descriptor, size: packet.readableBytes))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        XCTAssertEqual(count, emitted.count)
        return emitted
    }

    private func reassemble(_ packets: [Emitted]) -> [UInt8] {
        packets.flatMap { Array($0.packet.payload.readableBytesView.dropFirst($0.descriptor.length)) }
    }

    func testFrameSizes() throws {
        for (index, size) in [1, 1000, 1180, 5000, 100_000].enumerated() {
            var packetizer = VP8Packetizer(payloadType: 96, ssrc: 0x1234_5678, maximumPacketSize: 1200,
                                           reservedTrailerLength: 16, sequenceNumber: 1000, pictureID: 77)
            let bytes = frame(size, seed: UInt64(index))
            let packets = try packetize(bytes, with: &packetizer, timestamp: 90_000)
            // 1200 - 16 trailer - 12 header - 4 descriptor = 1168 frame bytes per packet.
            XCTAssertEqual(packets.count, (size + 1167) / 1168, "size \(size)")
            XCTAssertEqual(packetizer.packetCount(frameLength: size), packets.count)
            for (position, packet) in packets.enumerated() {
                XCTAssertLessThanOrEqual(packet.size, 1200 - 16)
                XCTAssertEqual(packet.descriptor.startOfPartition, position == 0)
                XCTAssertEqual(packet.packet.header.marker, position == packets.count - 1)
                XCTAssertEqual(packet.packet.header.sequenceNumber, UInt16(1000 + position))
                XCTAssertEqual(packet.packet.header.timestamp, 90_000)
                XCTAssertEqual(packet.packet.header.ssrc, 0x1234_5678)
                XCTAssertEqual(packet.packet.header.payloadType, 96)
                XCTAssertEqual(packet.descriptor.pictureID, 77)
                XCTAssertTrue(packet.descriptor.pictureIDIs15Bit)
                XCTAssertEqual(packet.descriptor.partitionIndex, 0)
                XCTAssertNil(packet.descriptor.tl0PictureIndex)
                XCTAssertNil(packet.descriptor.keyIndex)
            }
            XCTAssertEqual(reassemble(packets), bytes, "size \(size)")
            XCTAssertEqual(packetizer.sequenceNumber, UInt16(1000 + packets.count))
            XCTAssertEqual(packetizer.pictureID, 78)
        }
    }

    func testDescriptorBytesExact() throws {
        var packetizer = VP8Packetizer(payloadType: 100, ssrc: 1, sequenceNumber: 7, pictureID: 0x1234)
        var scratch = ByteBuffer()
        var packets: [[UInt8]] = []
        packetizer.packetize(frame: ByteBuffer(bytes: [0xAA, 0xBB]), timestamp: 0x0102_0304, isKeyframe: true,
                             into: &scratch) { packets.append(Array($0.readableBytesView)) }
        XCTAssertEqual(packets, [[0x80, 0x80 | 100, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x01,
                                  0x90, 0x80, 0x80 | 0x12, 0x34, 0xAA, 0xBB]])
        XCTAssertEqual(packetizer.lastKeyframePictureID, 0x1234)
    }

    func testSequenceNumbersWrap() throws {
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 1, sequenceNumber: 65_533)
        let packets = try packetize(frame(5000, seed: 9), with: &packetizer, timestamp: 1)
        XCTAssertEqual(packets.map(\.packet.header.sequenceNumber), [65_533, 65_534, 65_535, 0, 1])
        XCTAssertEqual(packetizer.sequenceNumber, 2)
    }

    func testPictureIDWraps() throws {
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 1, pictureID: 32_766)
        var seen: [UInt16?] = []
        for timestamp in 0..<4 {
            seen.append(try packetize([1, 2, 3], with: &packetizer, timestamp: UInt32(timestamp))[0].descriptor.pictureID)
        }
        XCTAssertEqual(seen, [32_766, 32_767, 0, 1])
        packetizer.pictureID = 0xFFFF
        XCTAssertEqual(packetizer.pictureID, 0x7FFF)
    }

    func testEmptyFrameEmitsNothing() throws {
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 1, sequenceNumber: 5, pictureID: 9)
        XCTAssertEqual(try packetize([], with: &packetizer, timestamp: 0).count, 0)
        XCTAssertEqual(packetizer.sequenceNumber, 5)
        XCTAssertEqual(packetizer.pictureID, 9)
    }

    /// With extensions the header grows, the fragments shrink, and every packet still fits.
    func testExtensionsShrinkFragments() throws {
        let layout = try RTPHeaderExtensionLayout(mid: (1, "video0"), absSendTimeID: 2, transportSequenceNumberID: 3)
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 1, extensions: layout, maximumPacketSize: 1200,
                                       reservedTrailerLength: 10)
        // Elements: 1+6 (mid) + 4 (abs-send-time) + 3 (transport-cc) = 14, padded to 16, plus 4 = 20.
        XCTAssertEqual(layout.blockLength, 20)
        XCTAssertEqual(packetizer.maximumFragmentLength, 1200 - 10 - 12 - 20 - 4)
        let bytes = frame(20_000, seed: 3)
        let packets = try packetize(bytes, with: &packetizer, timestamp: 5)
        XCTAssertEqual(packets.count, (20_000 + 1153) / 1154)
        for packet in packets {
            XCTAssertLessThanOrEqual(packet.size, 1190)
            XCTAssertEqual(packet.packet.header.extensionData(id: 1), Array("video0".utf8))
            XCTAssertEqual(packet.packet.header.extensionData(id: 3), [0, 0])
        }
        XCTAssertEqual(reassemble(packets), bytes)
    }

    /// The caller's buffer is reused: every packet of a large frame lands in the same storage,
    /// so packetizing allocates no buffer per packet.
    func testScratchBufferIsReused() {
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 1)
        var scratch = ByteBuffer()
        scratch.reserveCapacity(1200)
        var addresses: Set<UInt> = []
        var sizes: [Int] = []
        let frame = ByteBuffer(bytes: frame(50_000, seed: 4))
        for _ in 0..<3 {
            packetizer.packetize(frame: frame, timestamp: 0, isKeyframe: false, into: &scratch) { packet in
                packet.withUnsafeReadableBytes { addresses.insert(UInt(bitPattern: $0.baseAddress)) }
                sizes.append(packet.readableBytes)
            }
        }
        XCTAssertEqual(sizes.count, 3 * 43)
        XCTAssertEqual(addresses.count, 1, "packets were written into \(addresses.count) different buffers")
    }

    func testDescriptorParsesAllOptionalFields() throws {
        // X=1 N=1 S=1 PID=2; I L T K all set; 7-bit PictureID 0x55; TL0PICIDX 9; TID=2 Y=1 KEYIDX=17.
        let bytes: [UInt8] = [0xB2, 0xF0, 0x55, 0x09, 0b10_1_10001, 0xEE]
        let descriptor = try VP8PayloadDescriptor.parse(ByteBuffer(bytes: bytes))
        XCTAssertTrue(descriptor.nonReference)
        XCTAssertTrue(descriptor.startOfPartition)
        XCTAssertEqual(descriptor.partitionIndex, 2)
        XCTAssertFalse(descriptor.isStartOfFrame)
        XCTAssertEqual(descriptor.pictureID, 0x55)
        XCTAssertFalse(descriptor.pictureIDIs15Bit)
        XCTAssertEqual(descriptor.tl0PictureIndex, 9)
        XCTAssertEqual(descriptor.temporalLayerIndex, 2)
        XCTAssertTrue(descriptor.layerSync)
        XCTAssertEqual(descriptor.keyIndex, 17)
        XCTAssertEqual(descriptor.length, 5)

        let minimal = try VP8PayloadDescriptor.parse(ByteBuffer(bytes: [0x10, 0x9D]))
        XCTAssertEqual(minimal.length, 1)
        XCTAssertTrue(minimal.isStartOfFrame)
        XCTAssertNil(minimal.pictureID)
    }

    func testDescriptorTruncations() {
        let full: [UInt8] = [0x90, 0xC0, 0x81, 0x02, 0x03] // I and L, 15-bit PictureID
        let expectedNeeds = [1, 2, 3, 4, 5]
        for length in 0..<full.count {
            XCTAssertThrowsError(try VP8PayloadDescriptor.parse(ByteBuffer(bytes: full[0..<length]))) { error in
                XCTAssertEqual(error as? VP8PayloadDescriptorError,
                               .truncated(needed: expectedNeeds[length], available: length))
            }
        }
        XCTAssertEqual(try VP8PayloadDescriptor.parse(ByteBuffer(bytes: full)).length, 5)
    }
}

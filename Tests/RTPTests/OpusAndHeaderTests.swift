import NIOCore
import RTP
import XCTest
import TestSupport

final class OpusAndHeaderTests: XCTestCase {
    func testOpusPacketsOnePerFrame() throws {
        var packetizer = OpusPacketizer(payloadType: 111, ssrc: 0xCAFE_BABE, sequenceNumber: 65_535)
        var scratch = ByteBuffer()
        var packets: [RTPPacket] = []
        for (index, length) in [1, 80, 320].enumerated() {
            let frame = ByteBuffer(bytes: [UInt8](repeating: UInt8(index + 1), count: length))
            let sent = packetizer.packetize(frame: frame, timestamp: UInt32(index * 960), into: &scratch) { packet in
                packets.append(try! RTPPacket(parsing: packet))
            }
            XCTAssertTrue(sent)
        }
        XCTAssertEqual(packets.map(\.header.sequenceNumber), [65_535, 0, 1])
        XCTAssertEqual(packets.map(\.header.timestamp), [0, 960, 1920])
        XCTAssertEqual(packets.map(\.header.marker), [false, false, false])
        XCTAssertEqual(packets.map(\.header.payloadType), [111, 111, 111])
        XCTAssertEqual(packets.map { Array($0.payload.readableBytesView) },
                       [[1], [UInt8](repeating: 2, count: 80), [UInt8](repeating: 3, count: 320)])
    }

    func testOpusRefusesOversizedAndEmptyFrames() {
        var packetizer = OpusPacketizer(payloadType: 111, ssrc: 1, maximumPacketSize: 100, reservedTrailerLength: 10,
                                        sequenceNumber: 4)
        var scratch = ByteBuffer()
        var emitted = 0
        XCTAssertFalse(packetizer.packetize(frame: ByteBuffer(bytes: [UInt8](repeating: 0, count: 79)), timestamp: 0,
                                            into: &scratch) { _ in emitted += 1 })
        XCTAssertFalse(packetizer.packetize(frame: ByteBuffer(), timestamp: 0, into: &scratch) { _ in emitted += 1 })
        XCTAssertTrue(packetizer.packetize(frame: ByteBuffer(bytes: [UInt8](repeating: 0, count: 78)), timestamp: 0,
                                           into: &scratch) { _ in emitted += 1 })
        XCTAssertEqual(emitted, 1)
        XCTAssertEqual(packetizer.sequenceNumber, 5)
    }

    /// One-byte header extensions (RFC 8285 §4.2): 0xBEDE, length in words, ID|L-1 then data,
    /// zero padding to 32 bits; then the transport-wide sequence patched in place.
    func testHeaderExtensionBytesExact() throws {
        let layout = try RTPHeaderExtensionLayout(mid: (1, "0"), absSendTimeID: 2, transportSequenceNumberID: 3)
        var packetizer = OpusPacketizer(payloadType: 111, ssrc: 0x0A0B_0C0D, extensions: layout, sequenceNumber: 0x0102)
        var scratch = ByteBuffer()
        var bytes: [UInt8] = []
        packetizer.packetize(frame: ByteBuffer(bytes: [0xFC]), timestamp: 0x1122_3344, absSendTime: 0x00AB_CDEF,
                             into: &scratch) { packet in
            layout.setTransportSequenceNumber(0xBEEF, in: &packet)
            bytes = Array(packet.readableBytesView)
        }
        XCTAssertEqual(bytes, [
            0x90, 111, 0x01, 0x02, 0x11, 0x22, 0x33, 0x44, 0x0A, 0x0B, 0x0C, 0x0D,
            0xBE, 0xDE, 0x00, 0x03,
            0x10, 0x30, // mid "0": ID 1, length 1
            0x22, 0xAB, 0xCD, 0xEF, // abs-send-time: ID 2, length 3
            0x31, 0xBE, 0xEF, // transport-cc: ID 3, length 2
            0x00, 0x00, 0x00, // padding to 12 bytes
            0xFC,
        ])
        XCTAssertEqual(layout.absSendTimeOffset, 19)
        XCTAssertEqual(layout.transportSequenceNumberOffset, 23)

        let parsed = try RTPPacket(parsing: ByteBuffer(bytes: bytes))
        XCTAssertEqual(parsed.header.extensionProfile, 0xBEDE)
        XCTAssertEqual(parsed.header.extensions.map(\.id), [1, 2, 3])
        XCTAssertEqual(parsed.header.extensionData(id: 3), [0xBE, 0xEF])
        XCTAssertEqual(Array(parsed.payload.readableBytesView), [0xFC])
    }

    func testExtensionLayoutValidation() {
        XCTAssertThrowsError(try RTPHeaderExtensionLayout(absSendTimeID: 15)) {
            XCTAssertEqual($0 as? RTPHeaderExtensionLayout.Error, .invalidID(15))
        }
        XCTAssertThrowsError(try RTPHeaderExtensionLayout(absSendTimeID: 4, transportSequenceNumberID: 4)) {
            XCTAssertEqual($0 as? RTPHeaderExtensionLayout.Error, .duplicateID(4))
        }
        XCTAssertThrowsError(try RTPHeaderExtensionLayout(mid: (1, String(repeating: "m", count: 17)))) {
            XCTAssertEqual($0 as? RTPHeaderExtensionLayout.Error, .invalidMIDLength(17))
        }
        XCTAssertEqual(RTPHeaderExtensionLayout.none.blockLength, 0)
    }

    func testAbsSendTime() {
        XCTAssertEqual(RTPHeaderExtensionLayout.absSendTime(nanoseconds: 0), 0)
        XCTAssertEqual(RTPHeaderExtensionLayout.absSendTime(nanoseconds: 1_000_000_000), 1 << 18)
        XCTAssertEqual(RTPHeaderExtensionLayout.absSendTime(nanoseconds: 500_000_000), 1 << 17)
        XCTAssertEqual(RTPHeaderExtensionLayout.absSendTime(nanoseconds: 65_000_000_000), 1 << 18) // wraps at 64 s
    }

    func testHeaderRoundTripWithCSRCsAndTwoByteExtensions() throws {
        let long = RTPHeaderExtension(id: 20, data: [UInt8](repeating: 7, count: 17))!
        let header = RTPHeader(marker: true, payloadType: 127, sequenceNumber: 65_535, timestamp: .max, ssrc: 42,
                               csrcs: [1, 2, 3], extensions: [long, RTPHeaderExtension(id: 2, data: [9])!])
        var buffer = ByteBuffer()
        let written = header.write(into: &buffer)
        XCTAssertEqual(written, header.serializedLength)
        XCTAssertEqual(written % 4, 0)
        buffer.writeBytes([0xDE, 0xAD])
        let parsed = try RTPPacket(parsing: buffer)
        XCTAssertEqual(parsed.header, header)
        XCTAssertEqual(parsed.header.extensionProfile, 0x1000)
        XCTAssertEqual(Array(parsed.payload.readableBytesView), [0xDE, 0xAD])

        let oneByte = RTPHeader(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                                extensions: [RTPHeaderExtension(id: 14, data: [1, 2, 3, 4, 5])!])
        var small = ByteBuffer()
        oneByte.write(into: &small)
        XCTAssertEqual(Array(small.readableBytesView[12...]), [0xBE, 0xDE, 0x00, 0x02, 0xE4, 1, 2, 3, 4, 5, 0, 0])
        XCTAssertEqual(try RTPPacket(parsing: small).header, oneByte)
        XCTAssertNil(RTPHeaderExtension(id: 0, data: [1]))
    }

    func testPaddingRemovedFromPayload() throws {
        var bytes: [UInt8] = [0xA0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x11, 0x22, 0, 0, 3]
        let parsed = try RTPPacket(parsing: ByteBuffer(bytes: bytes))
        XCTAssertEqual(parsed.paddingLength, 3)
        XCTAssertEqual(Array(parsed.payload.readableBytesView), [0x11, 0x22])
        bytes[16] = 6
        XCTAssertThrowsError(try RTPPacket(parsing: ByteBuffer(bytes: bytes))) {
            XCTAssertEqual($0 as? RTPParseError, .badPadding(count: 6))
        }
        bytes[16] = 0
        XCTAssertThrowsError(try RTPPacket(parsing: ByteBuffer(bytes: bytes))) {
            XCTAssertEqual($0 as? RTPParseError, .badPadding(count: 0))
        }
    }

    func testHeaderParseErrors() {
        func error(_ bytes: [UInt8]) -> RTPParseError? {
            do { _ = try RTPPacket(parsing: ByteBuffer(bytes: bytes)); return nil } catch { return error }
        }
        XCTAssertEqual(error([0x80, 96, 0]), .truncatedHeader(available: 3))
        XCTAssertEqual(error([0x40] + [UInt8](repeating: 0, count: 11)), .unsupportedVersion(1))
        XCTAssertEqual(error([0x82] + [UInt8](repeating: 0, count: 15)), .truncatedCSRCList(count: 2))
        XCTAssertEqual(error([0x90] + [UInt8](repeating: 0, count: 13)), .truncatedExtension)
        // Extension block claims 2 words, only 1 present.
        XCTAssertEqual(error([0x90] + [UInt8](repeating: 0, count: 11) + [0xBE, 0xDE, 0, 2, 0, 0, 0, 0]), .truncatedExtension)
        // Element says 4 bytes of data inside a one-word block.
        XCTAssertEqual(error([0x90] + [UInt8](repeating: 0, count: 11) + [0xBE, 0xDE, 0, 1, 0x53, 1, 2, 3]),
                       .extensionElementOverrun(id: 5))
    }

    func testRandomRTPNeverCrashes() throws {
        var generator = SplitMix64(seed: 0x5254_5020)
        var parsed = 0
        for _ in 0..<10_000 {
            var bytes = generator.bytes(Int(generator.next() % 64))
            if !bytes.isEmpty { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            if let packet = try? RTPPacket(parsing: ByteBuffer(bytes: bytes)) {
                parsed += 1
                XCTAssertLessThanOrEqual(packet.payload.readableBytes, bytes.count - 12)
                _ = try? VP8PayloadDescriptor.parse(packet.payload)
            }
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    func testDemux() {
        XCTAssertTrue(RTPDemux.isRTCP(packetType: 200))
        XCTAssertTrue(RTPDemux.isRTCP(packetType: 206))
        XCTAssertTrue(RTPDemux.isRTCP(packetType: 223))
        XCTAssertFalse(RTPDemux.isRTCP(packetType: 224))
        XCTAssertFalse(RTPDemux.isRTCP(packetType: 96)) // RTP, PT 96, no marker
        XCTAssertFalse(RTPDemux.isRTCP(packetType: 0x80 | 111)) // RTP, PT 111 with marker = 239
        XCTAssertTrue(RTPDemux.isRTCP(ByteBuffer(bytes: [0x81, 201, 0, 7])))
        XCTAssertFalse(RTPDemux.isRTCP(ByteBuffer(bytes: [0x81])))
        XCTAssertTrue(RTPDemux.isRTPOrRTCP(firstByte: 0x80))
        XCTAssertFalse(RTPDemux.isRTPOrRTCP(firstByte: 0x16))
    }
}

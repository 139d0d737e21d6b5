import NIOCore
import RTP
import XCTest
import TestSupport

final class RTCPHostileInputTests: XCTestCase {
    private func error(_ bytes: [UInt8]) -> RTCPParseError? {
        do {
            _ = try RTCPPacket.parseCompound(ByteBuffer(bytes: bytes))
            return nil
        } catch {
            return error
        }
    }

    private var compound: [UInt8] {
        var buffer = ByteBuffer()
        RTCPWriter.writeReceiverReport(ssrc: 1, reports: [RTCPReceptionReport(ssrc: 2)], into: &buffer)
        RTCPWriter.writeREMB(senderSSRC: 1, bitrate: 500_000, ssrcs: [2], into: &buffer)
        RTCPWriter.writeTransportFeedback(RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 3,
                                                                referenceTime: 4, feedbackPacketCount: 5,
                                                                receiveDeltas: [250, nil, 500, 100_000]), into: &buffer)
        RTCPWriter.writeSourceDescription(ssrc: 1, cname: "viewer", into: &buffer)
        return Array(buffer.readableBytesView)
    }

    func testHeaderErrors() {
        XCTAssertEqual(error([]), .truncatedHeader(available: 0))
        XCTAssertEqual(error([0x80, 201, 0]), .truncatedHeader(available: 3))
        XCTAssertEqual(error([0x40, 201, 0, 1, 0, 0, 0, 0]), .unsupportedVersion(1))
        XCTAssertEqual(error([0x80, 201, 0x00, 0x01, 0, 0]), .lengthExceedsBuffer(declared: 8, available: 6))
        XCTAssertEqual(error([0x80, 201, 0xFF, 0xFF, 0, 0, 0, 1]), .lengthExceedsBuffer(declared: 262_144, available: 8))
        XCTAssertEqual(error([0xA0, 201, 0x00, 0x01, 0, 0, 0, 9]), .badPadding(count: 9))
        XCTAssertEqual(error([0xA0, 201, 0x00, 0x01, 0, 0, 0, 0]), .badPadding(count: 0))
    }

    /// Counts that promise more than the packet holds are typed errors, not overreads.
    func testBodiesShorterThanTheirCounts() {
        XCTAssertEqual(error([0x81, 201, 0x00, 0x01, 0, 0, 0, 1]), .truncatedBody(packetType: 201)) // RC=1, no block
        XCTAssertEqual(error([0x9F, 200, 0x00, 0x06] + [UInt8](repeating: 0, count: 24)), .truncatedBody(packetType: 200))
        XCTAssertEqual(error([0x82, 203, 0x00, 0x01, 0, 0, 0, 1]), .truncatedBody(packetType: 203))
        XCTAssertEqual(error([0x81, 205, 0x00, 0x01, 0, 0, 0, 1]), .truncatedBody(packetType: 205)) // no media SSRC
        XCTAssertEqual(error([0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 0x41, 0x42]),
                       .malformedBody(packetType: 202, format: 1)) // CNAME says 9 bytes, 2 there
        XCTAssertEqual(error([0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 0x41, 0x42]),
                       .malformedBody(packetType: 202, format: 1)) // no null item
        XCTAssertEqual(error([0x84, 206, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]),
                       .malformedBody(packetType: 206, format: 4)) // FIR entry of 4 bytes
        XCTAssertEqual(error([0x8F, 206, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45, 0x4D, 0x42, 0x03, 0, 0, 1]),
                       .truncatedBody(packetType: 206)) // REMB names 3 SSRCs, none there
        // transport-cc: 100 statuses, one run chunk of 1, then nothing.
        XCTAssertEqual(error([0x8F, 205, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 100, 0, 0, 0, 0, 0x20, 0x01, 0, 0]),
                       .malformedBody(packetType: 205, format: 15))
        // transport-cc: a run chunk with the reserved symbol 3.
        XCTAssertEqual(error([0x8F, 205, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x01, 0, 0]),
                       .malformedBody(packetType: 205, format: 15))
        // transport-cc: one received status but no delta byte (the last two bytes are padding).
        XCTAssertEqual(error([0xAF, 205, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0x20, 0x01, 0x00, 0x02]),
                       .malformedBody(packetType: 205, format: 15))
    }

    func testEveryTruncationOfACompoundIsRefused() {
        let bytes = compound
        XCTAssertEqual(try RTCPPacket.parseCompound(ByteBuffer(bytes: bytes)).count, 4)
        var boundaries: Set<Int> = [0]
        var offset = 0
        while offset < bytes.count {
            offset += (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]) + 1) * 4
            boundaries.insert(offset)
        }
        for length in 0..<bytes.count {
            let result = error(Array(bytes[0..<length]))
            if boundaries.contains(length), length > 0 {
                XCTAssertNil(result, "a cut at a packet boundary (\(length)) leaves a valid shorter compound")
            } else {
                XCTAssertNotNil(result, "prefix of \(length) bytes parsed")
            }
        }
    }

    /// A lying length in the middle of a compound must not swallow or overread its neighbour.
    func testLyingLengthInsideCompound() {
        var bytes = compound
        bytes[3] += 1 // RR claims one more word, which belongs to the REMB
        XCTAssertNotNil(error(bytes))
        bytes[2] = 0x40
        XCTAssertEqual(error(bytes), .lengthExceedsBuffer(declared: (0x4000 + 9) * 4, available: bytes.count))
    }

    func testTooManyPacketsRefused() {
        var buffer = ByteBuffer()
        for _ in 0..<1000 { RTCPWriter.writeBye(ssrcs: [], into: &buffer) }
        XCTAssertThrowsError(try RTCPPacket.parseCompound(buffer)) {
            XCTAssertEqual($0 as? RTCPParseError, .tooManyPackets(limit: RTCPPacket.maximumPacketsPerCompound))
        }
    }

    func testRandomBytesNeverCrash() {
        var generator = SplitMix64(seed: 0x5254_4350)
        let types: [UInt8] = [200, 201, 202, 203, 204, 205, 206]
        var parsed = 0
        for round in 0..<10_000 {
            let length = Int(generator.next() % 96)
            var bytes = generator.bytes(length)
            if round % 2 == 0, length >= 4 {
                // A plausible header so the body parsers see hostile bodies.
                bytes[0] = 0x80 | (bytes[0] & 0x3F)
                bytes[1] = types[Int(generator.next() % UInt64(types.count))]
                bytes[2] = 0
                bytes[3] = UInt8((length / 4) - 1)
            }
            if (try? RTCPPacket.parseCompound(ByteBuffer(bytes: bytes))) != nil { parsed += 1 }
        }
        XCTAssertGreaterThan(parsed, 0)
    }
}

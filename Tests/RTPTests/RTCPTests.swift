import NIOCore
import RTP
import XCTest

final class RTCPTests: XCTestCase {
    private func roundTrip(_ packet: RTCPPacket, file: StaticString = #filePath, line: UInt = #line) throws {
        var buffer = ByteBuffer()
        let written = RTCPWriter.write(packet, into: &buffer)
        XCTAssertEqual(written, buffer.readableBytes, file: file, line: line)
        XCTAssertEqual(written % 4, 0, file: file, line: line)
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [packet], file: file, line: line)
    }

    func testSenderReportWithSourceDescriptionCompound() throws {
        var buffer = ByteBuffer()
        RTCPWriter.writeSenderReport(ssrc: 0x1111_2222, ntpTimestamp: 0xE000_0000_8000_0000, rtpTimestamp: 90_000,
                                     packetCount: 10, octetCount: 12_000, into: &buffer)
        RTCPWriter.writeSourceDescription(ssrc: 0x1111_2222, cname: "ab", into: &buffer)
        XCTAssertEqual(Array(buffer.readableBytesView), [
            0x80, 200, 0x00, 0x06, 0x11, 0x11, 0x22, 0x22,
            0xE0, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
            0x00, 0x01, 0x5F, 0x90, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x2E, 0xE0,
            // SDES: one chunk, CNAME "ab", null item, padded to 32 bits.
            0x81, 202, 0x00, 0x03, 0x11, 0x11, 0x22, 0x22, 0x01, 0x02, 0x61, 0x62, 0x00, 0x00, 0x00, 0x00,
        ])
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [
            .senderReport(RTCPSenderReport(ssrc: 0x1111_2222, ntpTimestamp: 0xE000_0000_8000_0000, rtpTimestamp: 90_000,
                                           packetCount: 10, octetCount: 12_000)),
            .sourceDescription([RTCPSourceDescriptionChunk(ssrc: 0x1111_2222, cname: "ab")]),
        ])
    }

    func testEveryWriterRoundTrips() throws {
        let report = RTCPReceptionReport(ssrc: 0xABCD, fractionLost: 25, cumulativeLost: -3, highestSequenceNumber: 0x0001_FFFF,
                                         jitter: 77, lastSenderReport: 0x1234_5678, delaySinceLastSenderReport: 65_536)
        try roundTrip(.senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, packetCount: 4,
                                                     octetCount: 5, reports: [report, report])))
        try roundTrip(.receiverReport(ssrc: 9, reports: [report]))
        try roundTrip(.receiverReport(ssrc: 9, reports: []))
        for cname in ["", "a", "abc", "abcd", "liverelay-1234567"] {
            try roundTrip(.sourceDescription([RTCPSourceDescriptionChunk(ssrc: 5, cname: cname),
                                              RTCPSourceDescriptionChunk(ssrc: 6, cname: nil)]))
        }
        try roundTrip(.bye(ssrcs: [1, 2, 3]))
        try roundTrip(.nack(senderSSRC: 1, mediaSSRC: 2, lost: [65_530, 65_535, 0, 10, 40]))
        try roundTrip(.pli(senderSSRC: 1, mediaSSRC: 2))
        try roundTrip(.fir(senderSSRC: 1, entries: [RTCPFIREntry(ssrc: 2, sequenceNumber: 7),
                                                    RTCPFIREntry(ssrc: 3, sequenceNumber: 255)]))
        try roundTrip(.remb(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [2, 3]))
        try roundTrip(.remb(senderSSRC: 1, bitrate: 0x3FFFF, ssrcs: []))
        try roundTrip(.transportCC(RTCPTransportFeedback(
            senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 65_530, referenceTime: -5, feedbackPacketCount: 9,
            receiveDeltas: [250, nil, 63_750, 64_000, -250, 0] + [Int?](repeating: nil, count: 20)
                + [Int?](repeating: 500, count: 9) + [8_191_750, -8_192_000, nil, 1000])))
    }

    func testReportBlockBytes() throws {
        var buffer = ByteBuffer()
        RTCPWriter.writeReceiverReport(ssrc: 1, reports: [RTCPReceptionReport(ssrc: 2, fractionLost: 0x40, cumulativeLost: -2,
                                                                              highestSequenceNumber: 3, jitter: 4,
                                                                              lastSenderReport: 5,
                                                                              delaySinceLastSenderReport: 6)],
                                       into: &buffer)
        XCTAssertEqual(Array(buffer.readableBytesView), [
            0x81, 201, 0x00, 0x07, 0, 0, 0, 1,
            0, 0, 0, 2, 0x40, 0xFF, 0xFF, 0xFE, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6,
        ])
    }

    /// PID 100 with BLP 0x8005: bits 0, 2 and 15 mean 101, 103 and 116 were lost as well.
    func testNACKExpansionKnownAnswer() throws {
        let bytes: [UInt8] = [0x81, 205, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 100, 0x80, 0x05, 0xFF, 0xFF, 0x00, 0x01]
        XCTAssertEqual(try RTCPPacket.parseCompound(ByteBuffer(bytes: bytes)),
                       [.nack(senderSSRC: 1, mediaSSRC: 2, lost: [100, 101, 103, 116, 65_535, 0])])
    }

    func testNACKWriterPacksPairs() {
        var buffer = ByteBuffer()
        RTCPWriter.writeNACK(senderSSRC: 1, mediaSSRC: 2, lost: [100, 101, 103, 116, 117, 65_535, 0], into: &buffer)
        // 100 + {101, 103, 116} → (100, 0x8005); 117 starts a new pair; 65535 is far behind so new again, 0 is bit 0.
        XCTAssertEqual(Array(buffer.readableBytesView.dropFirst(12)), [0, 100, 0x80, 0x05, 0, 117, 0, 0, 0xFF, 0xFF, 0, 1])
        XCTAssertEqual(buffer.getInteger(at: 2, as: UInt16.self), 5)
    }

    /// 1,000,000 bps does not fit 18 bits (max 262,143); halving twice gives 250,000 = 0x3D090,
    /// so exponent 2, mantissa 0x3D090: the 24-bit field is 000010|11 1101 0000 1001 0000 = 0B D0 90.
    func testREMBKnownAnswer() throws {
        var buffer = ByteBuffer()
        RTCPWriter.writeREMB(senderSSRC: 0x0102_0304, bitrate: 1_000_000, ssrcs: [0x0A0B_0C0D], into: &buffer)
        XCTAssertEqual(Array(buffer.readableBytesView), [
            0x8F, 206, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0,
            0x52, 0x45, 0x4D, 0x42, 0x01, 0x0B, 0xD0, 0x90, 0x0A, 0x0B, 0x0C, 0x0D,
        ])
        // Truncation: 1,000,001 encodes the same, so it reads back as 1,000,000.
        var rounded = ByteBuffer()
        RTCPWriter.writeREMB(senderSSRC: 1, bitrate: 1_000_003, ssrcs: [], into: &rounded)
        XCTAssertEqual(try RTCPPacket.parseCompound(rounded), [.remb(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [])])
        // Exponent 63 with a full mantissa overflows 64 bits: saturates.
        let huge: [UInt8] = [0x8F, 206, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45, 0x4D, 0x42, 0x00, 0xFF, 0xFF, 0xFF]
        XCTAssertEqual(try RTCPPacket.parseCompound(ByteBuffer(bytes: huge)), [.remb(senderSSRC: 1, bitrate: .max, ssrcs: [])])
    }

    /// A hand-assembled transport-cc packet with all three chunk kinds.
    func testTransportCCKnownAnswer() throws {
        let bytes: [UInt8] = [
            0xAF, 205, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 2,
            0x00, 0x0A, 0x00, 0x13, // base 10, 19 statuses
            0xFF, 0xFF, 0xFE, 0x07, // reference time -2 (× 64 ms), feedback count 7
            0x20, 0x03, // run length: 3 × "received, small delta"
            0xA8, 0x01, // 1-bit vector: 1 0 1 0 0 0 0 0 0 0 0 0 0 1
            0xE0, 0x00, // 2-bit vector: "large delta", "not received" (rest beyond the count)
            0x04, 0x08, 0x01, 0x00, 0xFF, 0x02, 0xFF, 0xFC, // deltas: 6 small, one large (-4)
            0x00, 0x02, // padding, count 2
        ]
        let packets = try RTCPPacket.parseCompound(ByteBuffer(bytes: bytes))
        guard case .transportCC(let feedback) = packets.first, packets.count == 1 else {
            return XCTFail("expected one transport-cc packet, got \(packets)")
        }
        XCTAssertEqual(feedback.senderSSRC, 1)
        XCTAssertEqual(feedback.mediaSSRC, 2)
        XCTAssertEqual(feedback.baseSequenceNumber, 10)
        XCTAssertEqual(feedback.referenceTime, -2)
        XCTAssertEqual(feedback.feedbackPacketCount, 7)
        XCTAssertEqual(feedback.packets.map(\.sequenceNumber), Array(10...28))
        var expected = [Int?](repeating: nil, count: 19)
        expected[0] = 1000; expected[1] = 2000; expected[2] = 250 // seq 10, 11, 12
        expected[3] = 0; expected[5] = 63_750; expected[16] = 500 // seq 13, 15, 26
        expected[17] = -1000 // seq 27
        XCTAssertEqual(feedback.packets.map(\.receiveDelta), expected)
        XCTAssertEqual(feedback.packets.filter(\.received).count, 7)
    }

    func testTransportCCWriterUsesRunLengthForLongRuns() throws {
        let feedback = RTCPTransportFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 0, referenceTime: 1,
                                             feedbackPacketCount: 0, receiveDeltas: [Int?](repeating: nil, count: 1000) + [250])
        var buffer = ByteBuffer()
        RTCPWriter.writeTransportFeedback(feedback, into: &buffer)
        // header 4 + SSRCs 8 + 8 fixed, run chunk (1000 lost) 0x03E8, vector chunk for the last, one delta, padding.
        XCTAssertEqual(Array(buffer.readableBytesView[20..<24]), [0x03, 0xE8, 0xD0, 0x00])
        XCTAssertEqual(buffer.readableBytes, 28)
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [.transportCC(feedback)])
    }

    func testUnknownPacketsAreSkipped() throws {
        var buffer = ByteBuffer(bytes: [0x80, 204, 0x00, 0x02, 0, 0, 0, 1, 0x41, 0x42, 0x43, 0x44]) // APP
        buffer.writeBytes([0x83, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2]) // PSFB FMT 3 (SLI-ish, not handled)
        buffer.writeBytes([0x8F, 206, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0x41, 0x46, 0x42, 0x00]) // FMT 15, not REMB
        RTCPWriter.writePictureLossIndication(senderSSRC: 5, mediaSSRC: 6, into: &buffer)
        XCTAssertEqual(try RTCPPacket.parseCompound(buffer), [
            .unknown(packetType: 204, format: 0), .unknown(packetType: 206, format: 3),
            .unknown(packetType: 206, format: 15), .pli(senderSSRC: 5, mediaSSRC: 6),
        ])
    }
}

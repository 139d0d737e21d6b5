import NIOCore

/// Writes RTCP packets at the buffer's writer index; writing several in a row makes a compound
/// datagram (e.g. SR then SDES CNAME, as RFC 3550 §6.1 wants every compound to carry).
/// Each function returns the bytes it wrote.
public enum RTCPWriter {
    @discardableResult
    public static func writeSenderReport(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32,
                                         octetCount: UInt32, reports: [RTCPReceptionReport] = [],
                                         into buffer: inout ByteBuffer) -> Int {
        precondition(reports.count <= 31, "an SR holds at most 31 report blocks")
        let start = beginPacket(in: &buffer)
        buffer.writeInteger(ssrc)
        buffer.writeInteger(ntpTimestamp)
        buffer.writeInteger(rtpTimestamp)
        buffer.writeInteger(packetCount)
        buffer.writeInteger(octetCount)
        for report in reports { report.write(into: &buffer) }
        return finishPacket(startingAt: start, count: UInt8(reports.count), packetType: RTCPPacketType.senderReport, in: &buffer)
    }

    @discardableResult
    public static func writeSenderReport(_ report: RTCPSenderReport, into buffer: inout ByteBuffer) -> Int {
        writeSenderReport(ssrc: report.ssrc, ntpTimestamp: report.ntpTimestamp, rtpTimestamp: report.rtpTimestamp,
                          packetCount: report.packetCount, octetCount: report.octetCount, reports: report.reports,
                          into: &buffer)
    }

    @discardableResult
    public static func writeReceiverReport(ssrc: UInt32, reports: [RTCPReceptionReport],
                                           into buffer: inout ByteBuffer) -> Int {
        precondition(reports.count <= 31, "an RR holds at most 31 report blocks")
        let start = beginPacket(in: &buffer)
        buffer.writeInteger(ssrc)
        for report in reports { report.write(into: &buffer) }
        return finishPacket(startingAt: start, count: UInt8(reports.count), packetType: RTCPPacketType.receiverReport, in: &buffer)
    }

    /// One chunk with a CNAME item, cut to the 255 bytes an item holds.
    @discardableResult
    public static func writeSourceDescription(ssrc: UInt32, cname: String, into buffer: inout ByteBuffer) -> Int {
        writeSourceDescription([RTCPSourceDescriptionChunk(ssrc: ssrc, cname: cname)], into: &buffer)
    }

    @discardableResult
    public static func writeSourceDescription(_ chunks: [RTCPSourceDescriptionChunk], into buffer: inout ByteBuffer) -> Int {
        precondition(chunks.count <= 31, "an SDES holds at most 31 chunks")
        let start = beginPacket(in: &buffer)
        for chunk in chunks {
            buffer.writeInteger(chunk.ssrc)
            var consumed = 4
            if let cname = chunk.cname {
                let text = Array(cname.utf8.prefix(255))
                buffer.writeInteger(UInt8(1))
                buffer.writeInteger(UInt8(text.count))
                buffer.writeBytes(text)
                consumed += 2 + text.count
            }
            // The terminating null item, then zeros to the next 32-bit boundary.
            let terminator = 1 + (4 - (consumed + 1) % 4) % 4
            buffer.writeRepeatingByte(0, count: terminator)
        }
        return finishPacket(startingAt: start, count: UInt8(chunks.count), packetType: RTCPPacketType.sourceDescription, in: &buffer)
    }

    @discardableResult
    public static func writeBye(ssrcs: [UInt32], into buffer: inout ByteBuffer) -> Int {
        precondition(ssrcs.count <= 31, "a BYE holds at most 31 SSRCs")
        let start = beginPacket(in: &buffer)
        for ssrc in ssrcs { buffer.writeInteger(ssrc) }
        return finishPacket(startingAt: start, count: UInt8(ssrcs.count), packetType: RTCPPacketType.goodbye, in: &buffer)
    }

    @discardableResult
    public static func writePictureLossIndication(senderSSRC: UInt32, mediaSSRC: UInt32, into buffer: inout ByteBuffer) -> Int {
        let start = beginPacket(in: &buffer)
        buffer.writeInteger(senderSSRC)
        buffer.writeInteger(mediaSSRC)
        return finishPacket(startingAt: start, count: 1, packetType: RTCPPacketType.payloadSpecificFeedback, in: &buffer)
    }

    /// The media source SSRC field is zero for FIR (RFC 5104 §4.3.1.2); the entries name the sources.
    @discardableResult
    public static func writeFullIntraRequest(senderSSRC: UInt32, entries: [RTCPFIREntry], into buffer: inout ByteBuffer) -> Int {
        let start = beginPacket(in: &buffer)
        buffer.writeInteger(senderSSRC)
        buffer.writeInteger(UInt32(0))
        for entry in entries {
            buffer.writeInteger(entry.ssrc)
            buffer.writeInteger(UInt32(entry.sequenceNumber) << 24)
        }
        return finishPacket(startingAt: start, count: 4, packetType: RTCPPacketType.payloadSpecificFeedback, in: &buffer)
    }

    /// `lost` in sending order; packed into as few PID/BLP pairs as that order allows.
    @discardableResult
    public static func writeNACK(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [UInt16], into buffer: inout ByteBuffer) -> Int {
        let start = beginPacket(in: &buffer)
        buffer.writeInteger(senderSSRC)
        buffer.writeInteger(mediaSSRC)
        for pair in RTCPNACKList.pairs(lost: lost) {
            buffer.writeInteger(pair.packetID)
            buffer.writeInteger(pair.bitmask)
        }
        return finishPacket(startingAt: start, count: 1, packetType: RTCPPacketType.transportLayerFeedback, in: &buffer)
    }

    /// The bitrate is truncated to an 18-bit mantissa times a power of two.
    @discardableResult
    public static func writeREMB(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32], into buffer: inout ByteBuffer) -> Int {
        precondition(ssrcs.count <= 255, "REMB names at most 255 SSRCs")
        let start = beginPacket(in: &buffer)
        buffer.writeInteger(senderSSRC)
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(UInt32(0x5245_4D42)) // "REMB"
        let encoded = REMBBitrate.encode(bitrate)
        buffer.writeInteger(UInt32(ssrcs.count) << 24 | UInt32(encoded.exponent) << 18 | encoded.mantissa)
        for ssrc in ssrcs { buffer.writeInteger(ssrc) }
        return finishPacket(startingAt: start, count: 15, packetType: RTCPPacketType.payloadSpecificFeedback, in: &buffer)
    }

    @discardableResult
    public static func writeTransportFeedback(_ feedback: RTCPTransportFeedback, into buffer: inout ByteBuffer) -> Int {
        let start = buffer.writerIndex
        feedback.write(into: &buffer)
        return buffer.writerIndex - start
    }

    /// Writes any case; `.unknown` has nothing to write and returns 0.
    @discardableResult
    public static func write(_ packet: RTCPPacket, into buffer: inout ByteBuffer) -> Int {
        switch packet {
        case .senderReport(let report):
            return writeSenderReport(report, into: &buffer)
        case .receiverReport(let ssrc, let reports):
            return writeReceiverReport(ssrc: ssrc, reports: reports, into: &buffer)
        case .sourceDescription(let chunks):
            return writeSourceDescription(chunks, into: &buffer)
        case .bye(let ssrcs):
            return writeBye(ssrcs: ssrcs, into: &buffer)
        case .nack(let sender, let media, let lost):
            return writeNACK(senderSSRC: sender, mediaSSRC: media, lost: lost, into: &buffer)
        case .pli(let sender, let media):
            return writePictureLossIndication(senderSSRC: sender, mediaSSRC: media, into: &buffer)
        case .fir(let sender, let entries):
            return writeFullIntraRequest(senderSSRC: sender, entries: entries, into: &buffer)
        case .remb(let sender, let bitrate, let ssrcs):
            return writeREMB(senderSSRC: sender, bitrate: bitrate, ssrcs: ssrcs, into: &buffer)
        case .transportCC(let feedback):
            return writeTransportFeedback(feedback, into: &buffer)
        case .unknown:
            return 0
        }
    }

    /// Reserves the common header, filled in by `finishPacket` once the length is known.
    static func beginPacket(in buffer: inout ByteBuffer) -> Int {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        return start
    }

    /// Pads the body to 32 bits (with the P bit and a count byte, RFC 3550 §6.4.1) and writes the
    /// common header at `start`.
    @discardableResult
    static func finishPacket(startingAt start: Int, count: UInt8, packetType: UInt8, in buffer: inout ByteBuffer) -> Int {
        var length = buffer.writerIndex - start
        let padding = (4 - length % 4) % 4
        if padding > 0 {
            buffer.writeRepeatingByte(0, count: padding - 1)
            buffer.writeInteger(UInt8(padding))
            length += padding
        }
        let first = UInt8(0x80) | (padding > 0 ? 0x20 : 0) | (count & 0x1F)
        buffer.setInteger(first, at: start)
        buffer.setInteger(packetType, at: start + 1)
        buffer.setInteger(UInt16(length / 4 - 1), at: start + 2)
        return length
    }
}

import NIOCore

/// One packet of a compound RTCP datagram, as a WebRTC sender cares about it.
///
/// Every packet starts with the common header (RFC 3550 §6.4.1):
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P| RC/FMT  |      PT       |     length (words - 1)        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Feedback (RFC 4585 §6.1) adds the packet sender's and the media source's SSRCs, then FCI.
public enum RTCPPacket: Sendable, Hashable {
    case senderReport(RTCPSenderReport)
    case receiverReport(ssrc: UInt32, reports: [RTCPReceptionReport])
    case sourceDescription([RTCPSourceDescriptionChunk])
    case bye(ssrcs: [UInt32])
    /// Generic NACK (RTPFB FMT 1), PID/BLP pairs expanded to the lost sequence numbers.
    case nack(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [UInt16])
    /// Picture Loss Indication (PSFB FMT 1): the receiver wants a key frame.
    case pli(senderSSRC: UInt32, mediaSSRC: UInt32)
    /// Full Intra Request (PSFB FMT 4, RFC 5104 §4.3.1).
    case fir(senderSSRC: UInt32, entries: [RTCPFIREntry])
    /// Receiver Estimated Maximum Bitrate (PSFB FMT 15, "REMB"), bits per second.
    case remb(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32])
    case transportCC(RTCPTransportFeedback)
    /// Parsed far enough to skip: APP, XR, other feedback formats.
    case unknown(packetType: UInt8, format: UInt8)

    /// Enough for any RTCP a browser sends in one datagram; a compound of many tiny packets is
    /// refused before it turns into a long array.
    public static let maximumPacketsPerCompound = 64

    /// Parses every packet of a compound datagram (its readable bytes).
    ///
    /// Reduced-size RTCP (RFC 5506, `a=rtcp-rsize`) is allowed, so the first packet need not be
    /// an SR or RR. Any error refuses the whole datagram, as RFC 3550 §6.4 asks.
    public static func parseCompound(_ bytes: ByteBuffer) throws(RTCPParseError) -> [RTCPPacket] {
        var buffer = bytes
        guard buffer.readableBytes > 0 else { throw .truncatedHeader(available: 0) }
        var packets: [RTCPPacket] = []
        while buffer.readableBytes > 0 {
            guard packets.count < maximumPacketsPerCompound else { throw .tooManyPackets(limit: maximumPacketsPerCompound) }
            packets.append(try parse(from: &buffer))
        }
        return packets
    }

    /// Reads one packet and moves the reader index past it; on error the index is not moved.
    public static func parse(from buffer: inout ByteBuffer) throws(RTCPParseError) -> RTCPPacket {
        guard buffer.readableBytes >= 4,
              let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let packetType = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self),
              let words = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self) else {
            throw .truncatedHeader(available: buffer.readableBytes)
        }
        let version = first >> 6
        guard version == 2 else { throw .unsupportedVersion(version) }
        let length = (Int(words) + 1) * 4
        guard length <= buffer.readableBytes else {
            throw .lengthExceedsBuffer(declared: length, available: buffer.readableBytes)
        }
        var bodyLength = length - 4
        if first & 0x20 != 0 {
            let padding = Int(buffer.getInteger(at: buffer.readerIndex + length - 1, as: UInt8.self)!)
            guard padding > 0, padding <= bodyLength else { throw .badPadding(count: padding) }
            bodyLength -= padding
        }
        var reader = RTCPBodyReader(buffer: buffer.getSlice(at: buffer.readerIndex + 4, length: bodyLength)!,
                                    packetType: packetType)
        let packet = try parseBody(count: first & 0x1F, packetType: packetType, reader: &reader)
        buffer.moveReaderIndex(forwardBy: length)
        return packet
    }

    private static func parseBody(count: UInt8, packetType: UInt8,
                                  reader: inout RTCPBodyReader) throws(RTCPParseError) -> RTCPPacket {
        switch packetType {
        case RTCPPacketType.senderReport:
            guard reader.remaining >= 24 + RTCPReceptionReport.length * Int(count) else { throw .truncatedBody(packetType: packetType) }
            let ssrc: UInt32 = try reader.read()
            let ntp: UInt64 = try reader.read()
            let rtp: UInt32 = try reader.read()
            let packets: UInt32 = try reader.read()
            let octets: UInt32 = try reader.read()
            let reports = try readReports(count: count, reader: &reader)
            return .senderReport(RTCPSenderReport(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: rtp, packetCount: packets,
                                                  octetCount: octets, reports: reports))
        case RTCPPacketType.receiverReport:
            guard reader.remaining >= 4 + RTCPReceptionReport.length * Int(count) else { throw .truncatedBody(packetType: packetType) }
            let ssrc: UInt32 = try reader.read()
            return .receiverReport(ssrc: ssrc, reports: try readReports(count: count, reader: &reader))
        case RTCPPacketType.sourceDescription:
            return .sourceDescription(try readSourceDescription(count: count, reader: &reader))
        case RTCPPacketType.goodbye:
            guard reader.remaining >= 4 * Int(count) else { throw .truncatedBody(packetType: packetType) }
            var ssrcs: [UInt32] = []
            for _ in 0..<count { ssrcs.append(try reader.read()) }
            return .bye(ssrcs: ssrcs)
        case RTCPPacketType.transportLayerFeedback:
            let sender: UInt32 = try reader.read()
            let media: UInt32 = try reader.read()
            switch count {
            case 1:
                guard reader.remaining % 4 == 0 else { throw .malformedBody(packetType: packetType, format: count) }
                var lost: [UInt16] = []
                while reader.remaining > 0 {
                    RTCPNACKList.expand(packetID: try reader.read(), bitmask: try reader.read(), into: &lost)
                }
                return .nack(senderSSRC: sender, mediaSSRC: media, lost: lost)
            case RTCPTransportFeedback.format:
                return .transportCC(try RTCPTransportFeedback(senderSSRC: sender, mediaSSRC: media, reading: &reader))
            default:
                return .unknown(packetType: packetType, format: count)
            }
        case RTCPPacketType.payloadSpecificFeedback:
            let sender: UInt32 = try reader.read()
            let media: UInt32 = try reader.read()
            switch count {
            case 1:
                return .pli(senderSSRC: sender, mediaSSRC: media)
            case 4:
                guard reader.remaining % 8 == 0 else { throw .malformedBody(packetType: packetType, format: count) }
                var entries: [RTCPFIREntry] = []
                while reader.remaining > 0 {
                    let ssrc: UInt32 = try reader.read()
                    let sequence: UInt8 = try reader.read()
                    try reader.skip(3)
                    entries.append(RTCPFIREntry(ssrc: ssrc, sequenceNumber: sequence))
                }
                return .fir(senderSSRC: sender, entries: entries)
            case 15:
                guard reader.remaining >= 4, try reader.read(UInt32.self) == 0x5245_4D42 else { // "REMB"
                    return .unknown(packetType: packetType, format: count)
                }
                let ssrcCount = Int(try reader.read(UInt8.self))
                let field = try reader.readUInt24()
                let bitrate = REMBBitrate.decode(exponent: UInt8(field >> 18), mantissa: field & 0x3FFFF)
                guard reader.remaining >= 4 * ssrcCount else { throw .truncatedBody(packetType: packetType) }
                var ssrcs: [UInt32] = []
                for _ in 0..<ssrcCount { ssrcs.append(try reader.read()) }
                return .remb(senderSSRC: sender, bitrate: bitrate, ssrcs: ssrcs)
            default:
                return .unknown(packetType: packetType, format: count)
            }
        default:
            return .unknown(packetType: packetType, format: count)
        }
    }

    private static func readReports(count: UInt8, reader: inout RTCPBodyReader) throws(RTCPParseError) -> [RTCPReceptionReport] {
        var reports: [RTCPReceptionReport] = []
        reports.reserveCapacity(Int(count))
        for _ in 0..<count { reports.append(try RTCPReceptionReport(reading: &reader)) }
        return reports
    }

    /// Chunks are an SSRC then items (type, length, text) ended by a zero type and padded to
    /// 32 bits (RFC 3550 §6.5).
    private static func readSourceDescription(count: UInt8,
                                              reader: inout RTCPBodyReader) throws(RTCPParseError) -> [RTCPSourceDescriptionChunk] {
        let malformed = RTCPParseError.malformedBody(packetType: RTCPPacketType.sourceDescription, format: count)
        var chunks: [RTCPSourceDescriptionChunk] = []
        for _ in 0..<count {
            let ssrc: UInt32 = try reader.read()
            var consumed = 4
            var cname: String?
            while true {
                guard reader.remaining >= 1 else { throw malformed }
                let itemType: UInt8 = try reader.read()
                consumed += 1
                if itemType == 0 { break }
                guard reader.remaining >= 1 else { throw malformed }
                let length = Int(try reader.read(UInt8.self))
                guard reader.remaining >= length else { throw malformed }
                let text = try reader.readBytes(length)
                consumed += 1 + length
                if itemType == 1 { cname = String(decoding: text, as: UTF8.self) }
            }
            let padding = (4 - consumed % 4) % 4
            guard reader.remaining >= padding else { throw malformed }
            try reader.skip(padding)
            chunks.append(RTCPSourceDescriptionChunk(ssrc: ssrc, cname: cname))
        }
        return chunks
    }
}

import NIOCore
import RTP

/// The clear-text part of an RTP packet read in place, without allocating: SRTP encrypts only the payload, so
/// sequence numbers, SSRC and header extensions can be read from a packet that was never decrypted
/// (`--mode count`), and after decryption the same reader finds the payload.
///
/// `RTPPacket(parsing:)` builds arrays for CSRCs and extension elements; at tens of thousands of packets a
/// second across all viewers, this reader keeps the per-packet cost to a few loads.
struct RTPHeaderFields {
    var marker: Bool
    var payloadType: UInt8
    var sequenceNumber: UInt16
    var ssrc: UInt32
    var hasPadding: Bool
    /// Offset of the payload from the reader index.
    var headerLength: Int
    /// Offset (from the reader index) and length of the extension elements, after the 4-byte block header.
    private var extensionBlock: (offset: Int, length: Int, profile: UInt16)?

    init?(_ packet: ByteBuffer) {
        let base = packet.readerIndex
        let count = packet.readableBytes
        guard count >= 12, let first = packet.getInteger(at: base, as: UInt8.self), first >> 6 == 2,
              let second = packet.getInteger(at: base + 1, as: UInt8.self), !RTPDemux.isRTCP(packetType: second),
              let sequence = packet.getInteger(at: base + 2, as: UInt16.self),
              let ssrc = packet.getInteger(at: base + 8, as: UInt32.self)
        else { return nil }
        marker = second & 0x80 != 0
        payloadType = second & 0x7F
        sequenceNumber = sequence
        self.ssrc = ssrc
        hasPadding = first & 0x20 != 0
        var offset = 12 + 4 * Int(first & 0x0F)
        guard count >= offset else { return nil }
        if first & 0x10 != 0 {
            guard count >= offset + 4, let profile = packet.getInteger(at: base + offset, as: UInt16.self),
                  let words = packet.getInteger(at: base + offset + 2, as: UInt16.self),
                  count >= offset + 4 + Int(words) * 4
            else { return nil }
            extensionBlock = (offset + 4, Int(words) * 4, profile)
            offset += 4 + Int(words) * 4
        }
        headerLength = offset
    }

    /// The payload without RTP padding; only meaningful once the packet is decrypted (the padding count is the
    /// payload's last byte).
    func payload(of packet: ByteBuffer) -> ByteBuffer? {
        var length = packet.readableBytes - headerLength
        if hasPadding {
            guard let padding = packet.getInteger(at: packet.writerIndex - 1, as: UInt8.self), Int(padding) <= length else { return nil }
            length -= Int(padding)
        }
        guard length > 0 else { return nil }
        return packet.getSlice(at: packet.readerIndex + headerLength, length: length)
    }

    /// The first two bytes of extension element `id` (one- or two-byte header form, RFC 8285), big-endian.
    func extensionUInt16(id: UInt8, in packet: ByteBuffer) -> UInt16? {
        guard let block = extensionBlock else { return nil }
        let base = packet.readerIndex + block.offset
        let end = base + block.length
        var cursor = base
        if block.profile == RTPHeader.oneByteExtensionProfile {
            while cursor < end, let byte = packet.getInteger(at: cursor, as: UInt8.self) {
                if byte == 0 { cursor += 1; continue }
                let elementID = byte >> 4
                if elementID == 15 { return nil }
                let length = Int(byte & 0x0F) + 1
                guard cursor + 1 + length <= end else { return nil }
                if elementID == id { return length >= 2 ? packet.getInteger(at: cursor + 1, as: UInt16.self) : nil }
                cursor += 1 + length
            }
        } else if block.profile & 0xFFF0 == RTPHeader.twoByteExtensionProfile {
            while cursor + 1 < end, let elementID = packet.getInteger(at: cursor, as: UInt8.self) {
                if elementID == 0 { cursor += 1; continue }
                guard let lengthByte = packet.getInteger(at: cursor + 1, as: UInt8.self) else { return nil }
                let length = Int(lengthByte)
                guard cursor + 2 + length <= end else { return nil }
                if elementID == id { return length >= 2 ? packet.getInteger(at: cursor + 2, as: UInt16.self) : nil }
                cursor += 2 + length
            }
        }
        return nil
    }
}

import NIOCore

/// Bounds-checked big-endian reads over one RTCP packet's body, turning "ran out of bytes"
/// into the typed error for that packet type.
struct RTCPBodyReader {
    var buffer: ByteBuffer
    let packetType: UInt8

    var remaining: Int { buffer.readableBytes }

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(RTCPParseError) -> T {
        guard let value = buffer.readInteger(as: T.self) else { throw .truncatedBody(packetType: packetType) }
        return value
    }

    mutating func readUInt24() throws(RTCPParseError) -> UInt32 {
        let high: UInt8 = try read()
        let low: UInt16 = try read()
        return UInt32(high) << 16 | UInt32(low)
    }

    /// A 24-bit two's-complement field (cumulative loss, transport-cc reference time).
    mutating func readInt24() throws(RTCPParseError) -> Int32 {
        Int32(bitPattern: try readUInt24() << 8) >> 8
    }

    mutating func readBytes(_ count: Int) throws(RTCPParseError) -> [UInt8] {
        guard let bytes = buffer.readBytes(length: count) else { throw .truncatedBody(packetType: packetType) }
        return bytes
    }

    mutating func skip(_ count: Int) throws(RTCPParseError) {
        guard buffer.readableBytes >= count else { throw .truncatedBody(packetType: packetType) }
        buffer.moveReaderIndex(forwardBy: count)
    }
}

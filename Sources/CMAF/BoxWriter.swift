import NIOCore

// LiveRelay writes ISO-BMFF (ISO/IEC 14496-12) itself rather than round-tripping through libavformat's
// fragmented-MP4 muxer: frame bytes arrive as ByteBuffers and are copied exactly once, into the chunk that carries
// them; `tfdt` and `trun` are ours to set for every low-latency part; and no C state sits in the hot path.

extension ByteBuffer {
    /// Writes a box: a 32-bit size back-patched after `body` runs, then the four-character type, then the body.
    @inlinable
    public mutating func writeBox(_ type: FourCC, _ body: (inout ByteBuffer) -> Void) {
        let start = writerIndex
        writeInteger(UInt32(0))
        writeInteger(type.rawValue)
        body(&self)
        setInteger(UInt32(writerIndex - start), at: start)
    }

    /// Writes a full box: a box whose body starts with an 8-bit version and 24-bit flags.
    @inlinable
    public mutating func writeFullBox(_ type: FourCC, version: UInt8, flags: UInt32, _ body: (inout ByteBuffer) -> Void) {
        writeBox(type) { buffer in
            buffer.writeInteger(UInt32(version) << 24 | (flags & 0x00FF_FFFF))
            body(&buffer)
        }
    }

    @inlinable
    mutating func writeZeros(_ count: Int) {
        writeRepeatingByte(0, count: count)
    }
}

/// A box type or brand: four ASCII characters as a big-endian integer.
public struct FourCC: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(stringLiteral value: StaticString) {
        precondition(value.utf8CodeUnitCount == 4, "a four-character code has four characters")
        var raw: UInt32 = 0
        value.withUTF8Buffer { for byte in $0 { raw = raw << 8 | UInt32(byte) } }
        rawValue = raw
    }

    public var description: String {
        String(decoding: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: rawValue >> $0) }, as: UTF8.self)
    }
}

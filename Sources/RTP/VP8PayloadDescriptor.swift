import NIOCore

/// The VP8 payload descriptor at the start of every VP8 RTP payload (RFC 7741 §4.2).
///
/// ```
///       0 1 2 3 4 5 6 7
///      +-+-+-+-+-+-+-+-+
///      |X|R|N|S|R| PID | (REQUIRED)
///      +-+-+-+-+-+-+-+-+
/// X:   |I|L|T|K| RSV   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// I:   |M| PictureID   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
///      |   PictureID   |  (second byte when M = 1)
///      +-+-+-+-+-+-+-+-+
/// L:   |   TL0PICIDX   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// T/K: |TID|Y| KEYIDX  | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// ```
public struct VP8PayloadDescriptor: Sendable, Hashable {
    /// N: the frame can be discarded without hurting later ones.
    public var nonReference: Bool
    /// S: the first packet of a VP8 partition.
    public var startOfPartition: Bool
    public var partitionIndex: UInt8
    /// 7- or 15-bit picture ID, when present.
    public var pictureID: UInt16?
    public var pictureIDIs15Bit: Bool
    public var tl0PictureIndex: UInt8?
    public var temporalLayerIndex: UInt8?
    public var layerSync: Bool
    public var keyIndex: UInt8?
    /// Bytes the descriptor occupies; the VP8 data starts after them.
    public var length: Int

    /// The first packet of a frame: S set in partition 0.
    public var isStartOfFrame: Bool { startOfPartition && partitionIndex == 0 }

    /// The form LiveRelay sends: X=1, I=1, M=1 and nothing else, four bytes.
    public static let sentLength = 4

    /// Reads the descriptor at the reader index without consuming it.
    public static func parse(_ payload: ByteBuffer) throws(VP8PayloadDescriptorError) -> VP8PayloadDescriptor {
        let bytes = payload.readableBytesView
        let base = bytes.startIndex
        func require(_ count: Int) throws(VP8PayloadDescriptorError) {
            guard bytes.count >= count else { throw .truncated(needed: count, available: bytes.count) }
        }
        try require(1)
        let first = bytes[base]
        var descriptor = VP8PayloadDescriptor(nonReference: first & 0x20 != 0, startOfPartition: first & 0x10 != 0,
                                              partitionIndex: first & 0x07, pictureID: nil, pictureIDIs15Bit: false,
                                              tl0PictureIndex: nil, temporalLayerIndex: nil, layerSync: false,
                                              keyIndex: nil, length: 1)
        guard first & 0x80 != 0 else { return descriptor }
        try require(2)
        let extended = bytes[base + 1]
        var offset = 2
        if extended & 0x80 != 0 {
            try require(offset + 1)
            let picture = bytes[base + offset]
            if picture & 0x80 != 0 {
                try require(offset + 2)
                descriptor.pictureID = UInt16(picture & 0x7F) << 8 | UInt16(bytes[base + offset + 1])
                descriptor.pictureIDIs15Bit = true
                offset += 2
            } else {
                descriptor.pictureID = UInt16(picture)
                offset += 1
            }
        }
        if extended & 0x40 != 0 {
            try require(offset + 1)
            descriptor.tl0PictureIndex = bytes[base + offset]
            offset += 1
        }
        if extended & 0x30 != 0 {
            try require(offset + 1)
            let layer = bytes[base + offset]
            if extended & 0x20 != 0 {
                descriptor.temporalLayerIndex = layer >> 6
                descriptor.layerSync = layer & 0x20 != 0
            }
            if extended & 0x10 != 0 { descriptor.keyIndex = layer & 0x1F }
            offset += 1
        }
        descriptor.length = offset
        return descriptor
    }

    /// Writes the four-byte form LiveRelay sends (partition 0, 15-bit picture ID).
    static func writeSentForm(into buffer: inout ByteBuffer, start: Bool, pictureID: UInt16) {
        buffer.writeInteger(UInt8(0x80 | (start ? 0x10 : 0)))
        buffer.writeInteger(UInt8(0x80))
        buffer.writeInteger(0x8000 | (pictureID & 0x7FFF))
    }

    /// The same four bytes at `destination`.
    @inline(__always)
    static func writeSentForm(to destination: UnsafeMutableRawPointer, start: Bool, pictureID: UInt16) {
        destination.storeBytes(of: UInt8(0x80 | (start ? 0x10 : 0)), as: UInt8.self)
        destination.storeBytes(of: UInt8(0x80), toByteOffset: 1, as: UInt8.self)
        destination.storeBytes(of: (0x8000 | (pictureID & 0x7FFF)).bigEndian, toByteOffset: 2, as: UInt16.self)
    }
}

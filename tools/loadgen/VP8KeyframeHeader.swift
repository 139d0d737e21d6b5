import NIOCore

/// The frame size a VP8 keyframe announces (RFC 6386 §9.1), read from the first packet of the frame after
/// its payload descriptor: a 3-byte frame tag whose lowest bit is 0 for a keyframe, the start code
/// 9d 01 2a, then width and height as 16-bit little-endian values whose top two bits are the scaling mode.
struct VP8KeyframeHeader: Sendable, Hashable {
    var width: Int
    var height: Int

    init?(frameStart bytes: ByteBuffer) {
        let base = bytes.readerIndex
        guard bytes.readableBytes >= 10, let tag = bytes.getInteger(at: base, as: UInt8.self), tag & 0x01 == 0,
              bytes.getInteger(at: base + 3, as: UInt8.self) == 0x9D,
              bytes.getInteger(at: base + 4, as: UInt8.self) == 0x01,
              bytes.getInteger(at: base + 5, as: UInt8.self) == 0x2A,
              let width = bytes.getInteger(at: base + 6, endianness: .little, as: UInt16.self),
              let height = bytes.getInteger(at: base + 8, endianness: .little, as: UInt16.self)
        else { return nil }
        self.width = Int(width & 0x3FFF)
        self.height = Int(height & 0x3FFF)
    }

    var label: String { "\(width)x\(height)" }
}

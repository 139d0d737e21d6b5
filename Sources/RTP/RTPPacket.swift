import NIOCore

/// A received RTP packet split into header and payload. The payload is a slice of the input,
/// so parsing copies no media bytes.
public struct RTPPacket: Sendable, Hashable {
    public var header: RTPHeader
    public var payload: ByteBuffer
    /// Bytes of RTP padding that followed the payload (already removed from `payload`).
    public var paddingLength: Int

    public init(header: RTPHeader, payload: ByteBuffer, paddingLength: Int = 0) {
        self.header = header
        self.payload = payload
        self.paddingLength = paddingLength
    }

    /// Parses the readable bytes of `packet` without moving its reader index.
    public init(parsing packet: ByteBuffer) throws(RTPParseError) {
        let bytes = packet.readableBytesView
        let base = bytes.startIndex
        let count = bytes.count
        func byte(_ offset: Int) -> UInt8 { bytes[base + offset] }
        func uint16(_ offset: Int) -> UInt16 { UInt16(byte(offset)) << 8 | UInt16(byte(offset + 1)) }
        func uint32(_ offset: Int) -> UInt32 { UInt32(uint16(offset)) << 16 | UInt32(uint16(offset + 2)) }

        guard count >= 12 else { throw .truncatedHeader(available: count) }
        let version = byte(0) >> 6
        guard version == RTPHeader.version else { throw .unsupportedVersion(version) }
        let hasPadding = byte(0) & 0x20 != 0
        let hasExtension = byte(0) & 0x10 != 0
        let csrcCount = Int(byte(0) & 0x0F)
        var offset = 12
        guard count >= offset + 4 * csrcCount else { throw .truncatedCSRCList(count: csrcCount) }
        var csrcs: [UInt32] = []
        csrcs.reserveCapacity(csrcCount)
        for index in 0..<csrcCount { csrcs.append(uint32(offset + 4 * index)) }
        offset += 4 * csrcCount

        var profile: UInt16?
        var extensions: [RTPHeaderExtension] = []
        if hasExtension {
            guard count >= offset + 4 else { throw .truncatedExtension }
            let extensionProfile = uint16(offset)
            let blockLength = Int(uint16(offset + 2)) * 4
            offset += 4
            guard count >= offset + blockLength else { throw .truncatedExtension }
            profile = extensionProfile
            let end = offset + blockLength
            if extensionProfile == RTPHeader.oneByteExtensionProfile {
                var cursor = offset
                while cursor < end {
                    let id = byte(cursor) >> 4
                    if byte(cursor) == 0 { cursor += 1; continue } // padding
                    if id == 15 { break } // reserved: stop reading the block (RFC 8285 §4.2)
                    let length = Int(byte(cursor) & 0x0F) + 1
                    guard cursor + 1 + length <= end else { throw .extensionElementOverrun(id: id) }
                    let data = (0..<length).map { byte(cursor + 1 + $0) }
                    if let element = RTPHeaderExtension(id: id, data: data) { extensions.append(element) }
                    cursor += 1 + length
                }
            } else if extensionProfile & 0xFFF0 == RTPHeader.twoByteExtensionProfile {
                var cursor = offset
                while cursor < end {
                    let id = byte(cursor)
                    if id == 0 { cursor += 1; continue }
                    guard cursor + 2 <= end else { throw .extensionElementOverrun(id: id) }
                    let length = Int(byte(cursor + 1))
                    guard cursor + 2 + length <= end else { throw .extensionElementOverrun(id: id) }
                    let data = (0..<length).map { byte(cursor + 2 + $0) }
                    if let element = RTPHeaderExtension(id: id, data: data) { extensions.append(element) }
                    cursor += 2 + length
                }
            }
            offset = end
        }

        var paddingLength = 0
        if hasPadding {
            paddingLength = Int(byte(count - 1))
            guard paddingLength > 0, paddingLength <= count - offset else { throw .badPadding(count: paddingLength) }
        }

        var header = RTPHeader(padding: hasPadding, marker: byte(1) & 0x80 != 0, payloadType: byte(1) & 0x7F,
                               sequenceNumber: uint16(2), timestamp: uint32(4), ssrc: uint32(8), csrcs: csrcs,
                               extensions: extensions)
        header.extensionProfile = profile
        self.header = header
        self.payload = packet.getSlice(at: packet.readerIndex + offset, length: count - offset - paddingLength)!
        self.paddingLength = paddingLength
    }
}

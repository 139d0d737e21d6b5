/// Why bytes were refused as an RTP packet. Offsets and counts say exactly what was short.
public enum RTPParseError: Error, Equatable, Sendable {
    /// Fewer than the 12 bytes of the fixed header.
    case truncatedHeader(available: Int)
    /// Only version 2 exists (RFC 3550 §5.1).
    case unsupportedVersion(UInt8)
    /// The CC field promises more CSRCs than there are bytes.
    case truncatedCSRCList(count: Int)
    /// The X bit is set but the extension header or its declared length runs past the packet.
    case truncatedExtension
    /// A one- or two-byte extension element claims more bytes than its block holds (RFC 8285).
    case extensionElementOverrun(id: UInt8)
    /// The P bit is set but the last byte's count is zero or larger than the payload.
    case badPadding(count: Int)
}

/// Why a VP8 payload descriptor (RFC 7741 §4.2) could not be read.
public enum VP8PayloadDescriptorError: Error, Equatable, Sendable {
    /// The descriptor's own bits announce more bytes than the payload has.
    case truncated(needed: Int, available: Int)
}

/// Why a datagram was refused as a STUN message.
///
/// Every check the parser makes has its own case, so a caller can count refusals by reason
/// and a test can assert the exact one. Offsets are from the first byte of the message.
public enum STUNParseError: Error, Equatable, Sendable {
    /// Fewer than the 20 bytes of the fixed header.
    case truncatedHeader(available: Int)
    /// The two most significant bits of the first byte are not zero (RFC 8489 §5), so this is
    /// not STUN (RTP, RTCP or DTLS share the port and start differently).
    case notSTUN(firstByte: UInt8)
    /// The magic cookie is not 0x2112A442: an RFC 3489 message or not STUN at all.
    case badMagicCookie(UInt32)
    /// The header's message length is not a multiple of four (attributes are 32-bit aligned).
    case lengthNotMultipleOfFour(Int)
    /// The header's message length disagrees with the bytes that follow the header.
    case lengthMismatch(declared: Int, available: Int)
    /// Fewer than four bytes remain where an attribute header should start.
    case truncatedAttributeHeader(offset: Int)
    /// An attribute's length (plus padding) runs past the end of the message.
    case attributeOverrunsMessage(type: UInt16, offset: Int, declaredLength: Int)
    /// More attributes than `STUNMessage.maximumAttributeCount`; refused before more work is done.
    case tooManyAttributes(limit: Int)
    /// FINGERPRINT must be the last attribute (RFC 8489 §14.7).
    case attributeAfterFingerprint(type: UInt16)
}

import NIOCore

/// A parsed STUN message (RFC 8489), with the ICE attributes (RFC 8445 §16) as typed accessors.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// |                     Transaction ID (96 bits)                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// The message keeps its own bytes (`rawBytes`) because MESSAGE-INTEGRITY and FINGERPRINT are
/// checked over the exact bytes received, not over a re-encoding.
public struct STUNMessage: Sendable, Hashable {
    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerLength = 20
    /// ICE Binding messages carry fewer than ten attributes; a hostile peer sending thousands of
    /// tiny ones is refused before it costs anything.
    public static let maximumAttributeCount = 64

    public var type: STUNMessageType
    public var transactionID: STUNTransactionID
    /// In wire order. Attributes after MESSAGE-INTEGRITY other than FINGERPRINT and
    /// MESSAGE-INTEGRITY-SHA256 are dropped, as RFC 8489 §14.5 says to ignore them.
    public var attributes: [STUNAttribute]
    public let rawBytes: [UInt8]

    public var messageClass: STUNClass { type.messageClass }
    public var method: STUNMethod { type.method }

    public init(parsing buffer: ByteBuffer) throws(STUNParseError) {
        try self.init(parsing: Array(buffer.readableBytesView))
    }

    public init(parsing bytes: some Collection<UInt8>) throws(STUNParseError) {
        let raw = Array(bytes)
        guard raw.count >= Self.headerLength else { throw .truncatedHeader(available: raw.count) }
        guard raw[0] & 0xC0 == 0 else { throw .notSTUN(firstByte: raw[0]) }
        let cookie = Self.readUInt32(raw, at: 4)
        guard cookie == Self.magicCookie else { throw .badMagicCookie(cookie) }
        let length = Int(Self.readUInt16(raw, at: 2))
        guard length % 4 == 0 else { throw .lengthNotMultipleOfFour(length) }
        guard length == raw.count - Self.headerLength else {
            throw .lengthMismatch(declared: length, available: raw.count - Self.headerLength)
        }

        var attributes: [STUNAttribute] = []
        var offset = Self.headerLength
        var count = 0
        var sawIntegrity = false
        var sawFingerprint = false
        while offset < raw.count {
            guard raw.count - offset >= 4 else { throw .truncatedAttributeHeader(offset: offset) }
            count += 1
            guard count <= Self.maximumAttributeCount else { throw .tooManyAttributes(limit: Self.maximumAttributeCount) }
            let typeCode = Self.readUInt16(raw, at: offset)
            let valueLength = Int(Self.readUInt16(raw, at: offset + 2))
            let padded = (valueLength + 3) & ~3
            guard padded <= raw.count - offset - 4 else {
                throw .attributeOverrunsMessage(type: typeCode, offset: offset, declaredLength: valueLength)
            }
            if sawFingerprint { throw .attributeAfterFingerprint(type: typeCode) }
            let type = STUNAttributeType(rawValue: typeCode)
            let valueStart = offset + 4
            let keep = !sawIntegrity || type == .fingerprint || type == .messageIntegritySHA256
            if keep {
                attributes.append(STUNAttribute(type: type, value: raw[valueStart..<(valueStart + valueLength)], offset: offset))
            }
            if type == .messageIntegrity { sawIntegrity = true }
            if type == .fingerprint { sawFingerprint = true }
            offset = valueStart + padded
        }

        self.type = STUNMessageType(rawValue: Self.readUInt16(raw, at: 0))
        self.transactionID = STUNTransactionID(bytes: raw[8..<20])!
        self.attributes = attributes
        self.rawBytes = raw
    }

    /// RFC 7983 demultiplexing: STUN starts with 0...3, DTLS 20...63, RTP/RTCP 128...191.
    public static func isSTUN(firstByte: UInt8) -> Bool { firstByte <= 3 }

    /// The first attribute of that type.
    public func attribute(_ type: STUNAttributeType) -> STUNAttribute? {
        attributes.first { $0.type == type }
    }

    /// `nil` when absent or not valid UTF-8. ICE usernames are "remote-ufrag:local-ufrag".
    public var username: String? {
        guard let value = attribute(.username)?.value, value.count <= 513 else { return nil }
        return String(validating: value, as: UTF8.self)
    }

    public var software: String? {
        guard let value = attribute(.software)?.value else { return nil }
        return String(validating: value, as: UTF8.self)
    }

    public var priority: UInt32? {
        guard let value = attribute(.priority)?.value, value.count == 4 else { return nil }
        return value.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var useCandidate: Bool { attribute(.useCandidate) != nil }

    public var iceControlling: UInt64? { tieBreaker(.iceControlling) }
    public var iceControlled: UInt64? { tieBreaker(.iceControlled) }

    public var errorCode: STUNErrorCode? {
        guard let value = attribute(.errorCode)?.value else { return nil }
        return STUNErrorCode(attributeValue: value)
    }

    /// `nil` when absent or malformed (unknown family, wrong length).
    public var xorMappedAddress: SocketAddress? {
        guard let value = attribute(.xorMappedAddress)?.value else { return nil }
        return STUNXORAddress.decode(value, transactionID: transactionID)
    }

    public var hasMessageIntegrity: Bool { attribute(.messageIntegrity) != nil }
    public var hasFingerprint: Bool { attribute(.fingerprint) != nil }

    private func tieBreaker(_ type: STUNAttributeType) -> UInt64? {
        guard let value = attribute(type)?.value, value.count == 8 else { return nil }
        return value.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func readUInt16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(readUInt16(bytes, at: offset)) << 16 | UInt32(readUInt16(bytes, at: offset + 2))
    }
}

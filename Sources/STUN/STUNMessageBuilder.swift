import Crypto

/// Appends attributes to a message under construction, keeping the header's length current so
/// that MESSAGE-INTEGRITY and FINGERPRINT can be computed over exactly what will be sent.
struct STUNMessageBuilder {
    private(set) var bytes: [UInt8]

    init(type: STUNMessageType, transactionID: STUNTransactionID) {
        let raw = type.rawValue
        bytes = [UInt8(raw >> 8), UInt8(raw & 0xFF), 0, 0, 0x21, 0x12, 0xA4, 0x42]
        bytes.append(contentsOf: transactionID.bytes)
    }

    mutating func append(_ type: STUNAttributeType, value: [UInt8]) {
        precondition(value.count <= 0xFFFF)
        bytes.append(UInt8(type.rawValue >> 8))
        bytes.append(UInt8(type.rawValue & 0xFF))
        bytes.append(UInt8(value.count >> 8))
        bytes.append(UInt8(value.count & 0xFF))
        bytes.append(contentsOf: value)
        let padding = (4 - value.count % 4) % 4
        bytes.append(contentsOf: repeatElement(0, count: padding))
        setLength(bytes.count - STUNMessage.headerLength)
    }

    mutating func append(_ type: STUNAttributeType, uint32 value: UInt32) {
        append(type, value: (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) })
    }

    mutating func append(_ type: STUNAttributeType, uint64 value: UInt64) {
        append(type, value: (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) })
    }

    /// The HMAC is taken with the length already counting the 24-byte attribute about to follow.
    mutating func appendMessageIntegrity(key: [UInt8]) {
        setLength(bytes.count - STUNMessage.headerLength + 24)
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: SymmetricKey(data: key))
        append(.messageIntegrity, value: Array(mac))
    }

    mutating func appendFingerprint() {
        setLength(bytes.count - STUNMessage.headerLength + 8)
        append(.fingerprint, uint32: CRC32.checksum(bytes) ^ STUNMessage.fingerprintXOR)
    }

    private mutating func setLength(_ length: Int) {
        bytes[2] = UInt8(length >> 8)
        bytes[3] = UInt8(length & 0xFF)
    }
}

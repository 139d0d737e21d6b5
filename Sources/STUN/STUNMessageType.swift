/// The class of a STUN message: the two C bits interleaved into the message type (RFC 8489 §5).
public enum STUNClass: UInt8, Sendable, Hashable {
    case request = 0b00
    case indication = 0b01
    case successResponse = 0b10
    case errorResponse = 0b11
}

/// A STUN method (the 12 M bits of the message type). ICE only ever uses Binding.
public struct STUNMethod: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }

    public static let binding = STUNMethod(rawValue: 0x001)
}

/// Class and method together, as packed into the first 14 bits of the header.
///
/// ```
///  0                 1
///  2  3  4 5 6 7 8 9 0 1 2 3 4 5
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
/// |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
/// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct STUNMessageType: Sendable, Hashable {
    public var messageClass: STUNClass
    public var method: STUNMethod

    public init(messageClass: STUNClass, method: STUNMethod) {
        self.messageClass = messageClass
        self.method = method
    }

    /// Decodes the 14-bit field; the two top bits are ignored (the parser checks them).
    public init(rawValue: UInt16) {
        let c = ((rawValue >> 7) & 0b10) | ((rawValue >> 4) & 0b01)
        self.messageClass = STUNClass(rawValue: UInt8(c))!
        let m = (rawValue & 0x000F) | ((rawValue >> 1) & 0x0070) | ((rawValue >> 2) & 0x0F80)
        self.method = STUNMethod(rawValue: m)
    }

    public var rawValue: UInt16 {
        let m = method.rawValue
        let c = UInt16(messageClass.rawValue)
        return (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 0b01) << 4) | ((c & 0b10) << 7)
    }
}

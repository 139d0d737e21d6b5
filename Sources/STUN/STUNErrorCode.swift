/// The ERROR-CODE attribute (RFC 8489 §14.8).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Reserved, should be 0         |Class|     Number    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      Reason Phrase (variable)                                ..
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct STUNErrorCode: Sendable, Hashable {
    /// 300 through 699, e.g. 400 Bad Request, 401 Unauthorized, 487 Role Conflict.
    public var code: Int
    public var reason: String

    public init(code: Int, reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let badRequest = 400
    public static let unauthorized = 401
    public static let unknownAttribute = 420
    public static let roleConflict = 487
    public static let serverError = 500

    /// `nil` when the class is outside 3...6 or the number outside 0...99.
    init?(attributeValue value: ArraySlice<UInt8>) {
        let bytes = Array(value)
        guard bytes.count >= 4 else { return nil }
        let errorClass = Int(bytes[2] & 0x07)
        let number = Int(bytes[3])
        guard (3...6).contains(errorClass), number < 100 else { return nil }
        self.code = errorClass * 100 + number
        self.reason = String(decoding: bytes[4...], as: UTF8.self)
    }

    /// The attribute value; the reason is cut to the 127 characters the RFC allows.
    var attributeValue: [UInt8] {
        precondition((300...699).contains(code), "STUN error codes are 300...699, got \(code)")
        var bytes: [UInt8] = [0, 0, UInt8(code / 100), UInt8(code % 100)]
        bytes.append(contentsOf: Array(String(reason.prefix(127)).utf8))
        return bytes
    }
}

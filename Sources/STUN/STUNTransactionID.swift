/// The 96-bit transaction ID. Kept as two integers rather than an array so it is cheap to hash
/// and compare when matching responses to outstanding requests.
public struct STUNTransactionID: Sendable, Hashable, CustomStringConvertible {
    private var high: UInt64
    private var low: UInt32

    /// `nil` unless exactly 12 bytes are given.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 12 else { return nil }
        var high: UInt64 = 0
        var low: UInt32 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt32(byte) }
        }
        self.high = high
        self.low = low
    }

    /// A fresh ID from the system's cryptographic generator (RFC 8489 §6 asks for unpredictability).
    public static func random() -> STUNTransactionID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random(using generator: inout some RandomNumberGenerator) -> STUNTransactionID {
        var id = STUNTransactionID(bytes: [UInt8](repeating: 0, count: 12))!
        id.high = generator.next()
        id.low = generator.next()
        return id
    }

    public var bytes: [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(12)
        for shift in stride(from: 56, through: 0, by: -8) { result.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { result.append(UInt8(truncatingIfNeeded: low >> UInt32(shift))) }
        return result
    }

    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// Reads bits most-significant first, plus the Exp-Golomb codes of H.264 (ISO/IEC 14496-10 §9.1).
///
/// Codec configuration is parsed once per publisher, so this favours clarity over speed and works on a byte array
/// from which emulation-prevention bytes have already been removed.
public struct BitReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var bitPosition = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var bitsRemaining: Int { bytes.count * 8 - bitPosition }

    /// Reads `count` (0...32) bits as an unsigned number.
    public mutating func readBits(_ count: Int, _ field: String) throws(CodecConfigurationError) -> UInt32 {
        precondition(count >= 0 && count <= 32, "bit count is chosen by the parser, never by input")
        guard count <= bitsRemaining else { throw .truncated(field) }
        var value: UInt32 = 0
        for _ in 0..<count {
            let byte = bytes[bitPosition >> 3]
            let bit = (byte >> (7 - UInt8(bitPosition & 7))) & 1
            value = (value << 1) | UInt32(bit)
            bitPosition += 1
        }
        return value
    }

    public mutating func readFlag(_ field: String) throws(CodecConfigurationError) -> Bool {
        try readBits(1, field) == 1
    }

    public mutating func skipBits(_ count: Int, _ field: String) throws(CodecConfigurationError) {
        guard count >= 0, count <= bitsRemaining else { throw .truncated(field) }
        bitPosition += count
    }

    /// ue(v). More than 31 leading zeros cannot encode a 32-bit value, so they mark corrupt input rather than a number.
    public mutating func readUnsignedExpGolomb(_ field: String) throws(CodecConfigurationError) -> UInt32 {
        var leadingZeros = 0
        while try readBits(1, field) == 0 {
            leadingZeros += 1
            guard leadingZeros <= 31 else { throw .invalid(field) }
        }
        guard leadingZeros > 0 else { return 0 }
        let suffix = UInt64(try readBits(leadingZeros, field))
        let value = (UInt64(1) << UInt64(leadingZeros)) - 1 + suffix
        guard value <= UInt64(UInt32.max) else { throw .invalid(field) }
        return UInt32(value)
    }

    /// se(v): 1, -1, 2, -2, ... mapped from ue(v).
    public mutating func readSignedExpGolomb(_ field: String) throws(CodecConfigurationError) -> Int32 {
        let codeNumber = Int64(try readUnsignedExpGolomb(field))
        let magnitude = (codeNumber + 1) / 2
        return Int32(truncatingIfNeeded: codeNumber % 2 == 1 ? magnitude : -magnitude)
    }
}

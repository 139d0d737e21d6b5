/// The REMB bitrate field (draft-alvestrand-rmcat-remb-03 §2.2): an 18-bit mantissa and a 6-bit
/// exponent, bitrate = mantissa × 2^exponent bits per second.
enum REMBBitrate {
    static let maximumMantissa: UInt64 = 0x3FFFF

    /// The smallest exponent whose mantissa fits; low bits are truncated, so the encoded value
    /// never exceeds the estimate.
    static func encode(_ bitrate: UInt64) -> (exponent: UInt8, mantissa: UInt32) {
        var mantissa = bitrate
        var exponent: UInt8 = 0
        while mantissa > maximumMantissa {
            mantissa >>= 1
            exponent += 1
        }
        return (exponent, UInt32(mantissa))
    }

    /// Saturates at `UInt64.max` for exponents that would overflow (up to 2^63 × 2^18 is sayable).
    static func decode(exponent: UInt8, mantissa: UInt32) -> UInt64 {
        let value = UInt64(mantissa)
        guard value != 0 else { return 0 }
        guard exponent < 64, value.leadingZeroBitCount >= Int(exponent) else { return .max }
        return value << UInt64(exponent)
    }
}

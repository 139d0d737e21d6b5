import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the address is XORed with the magic cookie (and, for
/// IPv6, the transaction ID) so NATs that rewrite addresses they find in payloads leave it alone.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0 0 0 0 0 0 0|    Family     |         X-Port                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                X-Address (Variable)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
enum STUNXORAddress {
    static let familyIPv4: UInt8 = 0x01
    static let familyIPv6: UInt8 = 0x02

    /// The bytes the address is XORed with: the cookie, then the transaction ID.
    private static func mask(transactionID: STUNTransactionID) -> [UInt8] {
        [0x21, 0x12, 0xA4, 0x42] + transactionID.bytes
    }

    static func decode(_ value: ArraySlice<UInt8>, transactionID: STUNTransactionID) -> SocketAddress? {
        let bytes = Array(value)
        guard bytes.count >= 4 else { return nil }
        let addressLength: Int
        switch bytes[1] {
        case familyIPv4: addressLength = 4
        case familyIPv6: addressLength = 16
        default: return nil
        }
        guard bytes.count == 4 + addressLength else { return nil }
        let port = Int((UInt16(bytes[2]) << 8 | UInt16(bytes[3])) ^ 0x2112)
        let mask = mask(transactionID: transactionID)
        var packed = ByteBuffer()
        for index in 0..<addressLength {
            packed.writeInteger(bytes[4 + index] ^ mask[index])
        }
        return try? SocketAddress(packedIPAddress: packed, port: port)
    }

    /// Only IP addresses have a STUN encoding; a Unix socket address here is a programming error.
    static func encode(_ address: SocketAddress, transactionID: STUNTransactionID) -> [UInt8] {
        let family: UInt8
        var raw: [UInt8]
        switch address {
        case .v4(let v4):
            family = familyIPv4
            raw = withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            family = familyIPv6
            raw = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        case .unixDomainSocket:
            preconditionFailure("XOR-MAPPED-ADDRESS needs an IP address, got \(address)")
        }
        let port = UInt16(truncatingIfNeeded: address.port ?? 0) ^ 0x2112
        let mask = mask(transactionID: transactionID)
        for index in raw.indices { raw[index] ^= mask[index] }
        return [0, family, UInt8(port >> 8), UInt8(port & 0xFF)] + raw
    }
}

/// Why a compound RTCP datagram was refused. A lying length is reported, never followed.
public enum RTCPParseError: Error, Equatable, Sendable {
    /// Fewer than the 4 bytes of a common header remain (or the datagram is empty).
    case truncatedHeader(available: Int)
    case unsupportedVersion(UInt8)
    /// The header's length field covers more bytes than the datagram has left.
    case lengthExceedsBuffer(declared: Int, available: Int)
    /// The P bit is set but the padding count is zero or larger than the packet.
    case badPadding(count: Int)
    /// The packet is shorter than its own counts (report blocks, chunks, SSRCs, FCI) require.
    case truncatedBody(packetType: UInt8)
    /// The body is the right size but self-contradictory (FCI not a whole number of entries,
    /// a reserved transport-cc status symbol, an SDES chunk without terminator...).
    case malformedBody(packetType: UInt8, format: UInt8)
    /// More packets than `RTCPPacket.maximumPacketsPerCompound` in one datagram.
    case tooManyPackets(limit: Int)
}

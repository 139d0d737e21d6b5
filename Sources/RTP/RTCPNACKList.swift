/// Generic NACK FCI (RFC 4585 §6.2.1): each entry names one lost packet (PID) and, in a 16-bit
/// mask (BLP), which of the 16 packets after it were lost too.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            PID                |             BLP               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
enum RTCPNACKList {
    /// Packs lost sequence numbers, given in sending order (wrap-aware ascending), into PID/BLP
    /// pairs. A number that is not within 1...16 after the current PID starts a new pair.
    static func pairs(lost: [UInt16]) -> [(packetID: UInt16, bitmask: UInt16)] {
        var result: [(packetID: UInt16, bitmask: UInt16)] = []
        for sequence in lost {
            if let last = result.last {
                let distance = sequence &- last.packetID
                if distance == 0 { continue }
                if distance <= 16 {
                    result[result.count - 1].bitmask |= 1 << (distance - 1)
                    continue
                }
            }
            result.append((sequence, 0))
        }
        return result
    }

    static func expand(packetID: UInt16, bitmask: UInt16, into lost: inout [UInt16]) {
        lost.append(packetID)
        for bit in 0..<16 where bitmask & (1 << UInt16(bit)) != 0 {
            lost.append(packetID &+ UInt16(bit + 1))
        }
    }
}

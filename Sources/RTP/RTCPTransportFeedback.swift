import NIOCore

/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
/// §3.1, RTPFB FMT=15): for a run of transport-wide sequence numbers, whether each packet arrived
/// and when, which is what the sender's bandwidth estimator feeds on.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  FMT=15 |    PT=205     |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     SSRC of packet sender                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      SSRC of media source                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      base sequence number     |      packet status count      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 reference time                | fb pkt. count |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          packet chunk         |         packet chunk          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// .                                                               .
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         packet chunk          |  recv delta   |  recv delta   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// .                                                               .
/// ```
///
/// A chunk is either a run length (`0|S S|run length:13`) or a status vector
/// (`1|0|14 one-bit symbols` or `1|1|7 two-bit symbols`). Symbols: 0 not received,
/// 1 received with a one-byte delta, 2 received with a two-byte signed delta; deltas count 250 µs.
public struct RTCPTransportFeedback: Sendable, Hashable {
    public struct PacketStatus: Sendable, Hashable {
        public var sequenceNumber: UInt16
        /// Microseconds (a multiple of 250) since the previous received packet of this feedback,
        /// or since the reference time for the first one; `nil` when the packet was not received.
        public var receiveDelta: Int?
        public var received: Bool { receiveDelta != nil }

        public init(sequenceNumber: UInt16, receiveDelta: Int?) {
            self.sequenceNumber = sequenceNumber
            self.receiveDelta = receiveDelta
        }
    }

    public static let format: UInt8 = 15
    static let deltaUnit = 250
    /// Symbols no chunk type can hold more of; bounds the work a hostile status count can cause.
    static let maximumRunLength = 0x1FFF
    /// Statuses one feedback packet may report. libwebrtc reports every 50–100 ms, a few hundred packets at most at
    /// tens of Mbit/s; the egress remembers the last 1,024 it sent, so a longer report could only be noise.
    public static let maximumStatusCount = 4096

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var baseSequenceNumber: UInt16
    /// 24-bit signed, in units of 64 ms.
    public var referenceTime: Int32
    /// Counts feedback packets so the sender can tell one was lost.
    public var feedbackPacketCount: UInt8
    /// One entry per sequence number from `baseSequenceNumber` on, consecutive (wrapping).
    public var packets: [PacketStatus]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32,
                feedbackPacketCount: UInt8, packets: [PacketStatus]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequenceNumber = baseSequenceNumber
        self.referenceTime = referenceTime
        self.feedbackPacketCount = feedbackPacketCount
        self.packets = packets
    }

    /// Builds the packet list from one receive delta (µs, `nil` for lost) per sequence number.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32,
                feedbackPacketCount: UInt8, receiveDeltas: [Int?]) {
        let packets = receiveDeltas.enumerated().map { index, delta in
            PacketStatus(sequenceNumber: baseSequenceNumber &+ UInt16(truncatingIfNeeded: index), receiveDelta: delta)
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: baseSequenceNumber,
                  referenceTime: referenceTime, feedbackPacketCount: feedbackPacketCount, packets: packets)
    }

    init(senderSSRC: UInt32, mediaSSRC: UInt32, reading reader: inout RTCPBodyReader) throws(RTCPParseError) {
        let malformed = RTCPParseError.malformedBody(packetType: reader.packetType, format: Self.format)
        let base: UInt16 = try reader.read()
        let statusCount = Int(try reader.read(UInt16.self))
        // Run-length chunks let a few bytes declare thousands of statuses; no sender keeps that many packets.
        guard statusCount <= Self.maximumStatusCount else { throw malformed }
        let referenceTime = try reader.readInt24()
        let feedbackCount: UInt8 = try reader.read()

        // Each chunk is 2 bytes and covers at most 8191 symbols, so the body bounds the work.
        var symbols: [UInt8] = []
        symbols.reserveCapacity(min(statusCount, reader.remaining * 7))
        while symbols.count < statusCount {
            guard reader.remaining >= 2 else { throw malformed }
            let chunk: UInt16 = try reader.read()
            let left = statusCount - symbols.count
            if chunk & 0x8000 == 0 {
                let symbol = UInt8((chunk >> 13) & 0x03)
                let run = Int(chunk & 0x1FFF)
                guard symbol != 3 else { throw malformed }
                symbols.append(contentsOf: repeatElement(symbol, count: min(run, left)))
            } else if chunk & 0x4000 == 0 {
                for bit in (0..<14).reversed().prefix(left) {
                    symbols.append(UInt8((chunk >> UInt16(bit)) & 0x01))
                }
            } else {
                for pair in (0..<7).reversed().prefix(left) {
                    let symbol = UInt8((chunk >> UInt16(2 * pair)) & 0x03)
                    guard symbol != 3 else { throw malformed }
                    symbols.append(symbol)
                }
            }
        }

        var packets: [PacketStatus] = []
        packets.reserveCapacity(symbols.count)
        for (index, symbol) in symbols.enumerated() {
            let sequence = base &+ UInt16(truncatingIfNeeded: index)
            switch symbol {
            case 1:
                guard reader.remaining >= 1 else { throw malformed }
                packets.append(PacketStatus(sequenceNumber: sequence, receiveDelta: Int(try reader.read(UInt8.self)) * Self.deltaUnit))
            case 2:
                guard reader.remaining >= 2 else { throw malformed }
                packets.append(PacketStatus(sequenceNumber: sequence, receiveDelta: Int(try reader.read(Int16.self)) * Self.deltaUnit))
            default:
                packets.append(PacketStatus(sequenceNumber: sequence, receiveDelta: nil))
            }
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: base, referenceTime: referenceTime,
                  feedbackPacketCount: feedbackCount, packets: packets)
    }

    /// Deltas are rounded to 250 µs and clamped to what two bytes hold (±8.19 s). Runs of seven or
    /// more equal symbols become run-length chunks, anything else two-bit status vectors.
    func write(into buffer: inout ByteBuffer) {
        let units: [Int?] = packets.prefix(0xFFFF).map { status in
            status.receiveDelta.map { delta in
                let rounded = delta >= 0 ? (delta + Self.deltaUnit / 2) / Self.deltaUnit
                                         : -((-delta + Self.deltaUnit / 2) / Self.deltaUnit)
                return min(max(rounded, Int(Int16.min)), Int(Int16.max))
            }
        }
        let symbols: [UInt16] = units.map { unit in
            guard let unit else { return 0 }
            return (0...255).contains(unit) ? 1 : 2
        }

        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0)) // header, patched below
        buffer.writeInteger(senderSSRC)
        buffer.writeInteger(mediaSSRC)
        buffer.writeInteger(baseSequenceNumber)
        buffer.writeInteger(UInt16(symbols.count))
        let reference = UInt32(bitPattern: min(max(referenceTime, -0x80_0000), 0x7F_FFFF)) & 0x00FF_FFFF
        buffer.writeInteger(reference << 8 | UInt32(feedbackPacketCount))

        var index = 0
        while index < symbols.count {
            var run = 1
            while index + run < symbols.count, symbols[index + run] == symbols[index], run < Self.maximumRunLength { run += 1 }
            if run >= 7 {
                buffer.writeInteger(symbols[index] << 13 | UInt16(run))
                index += run
            } else {
                var chunk: UInt16 = 0xC000
                for slot in 0..<7 where index + slot < symbols.count {
                    chunk |= symbols[index + slot] << UInt16(2 * (6 - slot))
                }
                buffer.writeInteger(chunk)
                index += 7
            }
        }
        for (symbol, unit) in zip(symbols, units) {
            switch symbol {
            case 1: buffer.writeInteger(UInt8(unit!))
            case 2: buffer.writeInteger(Int16(unit!))
            default: break
            }
        }
        RTCPWriter.finishPacket(startingAt: start, count: Self.format, packetType: RTCPPacketType.transportLayerFeedback,
                                in: &buffer)
    }
}

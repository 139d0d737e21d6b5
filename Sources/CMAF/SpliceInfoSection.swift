import NIOCore

/// A minimal SCTE-35 `splice_info_section` carrying one `splice_insert` (ANSI/SCTE 35 §9.7.3), the form ad markers
/// take in DASH (`urn:scte:scte35:2014:xml+bin`) and HLS (`SCTE35-OUT` / `SCTE35-IN`).
public struct SpliceInsert: Sendable, Equatable {
    public var eventID: UInt32
    /// true: leave the programme for a break (cue-out); false: return (cue-in).
    public var outOfNetwork: Bool
    /// Break duration in 90 kHz ticks, when known.
    public var duration90k: UInt64?

    public init(eventID: UInt32, outOfNetwork: Bool, duration90k: UInt64? = nil) {
        self.eventID = eventID
        self.outOfNetwork = outOfNetwork
        self.duration90k = duration90k
    }

    /// The whole section, CRC-32 included. Splice immediately (no splice_time): the marker sits on the timeline.
    public func section() -> ByteBuffer {
        var command = ByteBufferAllocator().buffer(capacity: 32)
        command.writeInteger(eventID)
        command.writeInteger(UInt8(0x7F))                               // cancel 0, reserved
        let hasDuration = duration90k != nil
        // out_of_network, program_splice 1, duration_flag, splice_immediate 1, reserved 1111
        command.writeInteger(UInt8((outOfNetwork ? 0x80 : 0) | 0x40 | (hasDuration ? 0x20 : 0) | 0x10 | 0x0F))
        if let duration90k {
            // auto_return 1, reserved 111111, duration 33 bits
            command.writeInteger(UInt8(0xFE | UInt8((duration90k >> 32) & 1)))
            command.writeInteger(UInt32(truncatingIfNeeded: duration90k))
        }
        command.writeInteger(UInt16(0))                                 // unique_program_id
        command.writeInteger(UInt8(0)); command.writeInteger(UInt8(0))  // avail_num, avails_expected

        var section = ByteBufferAllocator().buffer(capacity: 64)
        section.writeInteger(UInt8(0xFC))                               // table_id
        let lengthPosition = section.writerIndex
        section.writeInteger(UInt16(0))
        section.writeInteger(UInt8(0))                                  // protocol_version
        section.writeInteger(UInt8(0)); section.writeInteger(UInt32(0)) // encrypted 0, algorithm 0, pts_adjustment 0
        section.writeInteger(UInt8(0))                                  // cw_index
        let tierAndLength = UInt32(0xFFF) << 12 | UInt32(command.readableBytes)
        section.writeInteger(UInt8(truncatingIfNeeded: tierAndLength >> 16))
        section.writeInteger(UInt16(truncatingIfNeeded: tierAndLength))
        section.writeInteger(UInt8(0x05))                               // splice_insert
        section.writeImmutableBuffer(command)
        section.writeInteger(UInt16(0))                                 // descriptor_loop_length
        // section_length counts from after itself through the CRC.
        let sectionLength = section.writerIndex - (lengthPosition + 2) + 4
        section.setInteger(UInt16(0x3000 | sectionLength), at: lengthPosition)  // section_syntax 0, private 0, sap 11
        let crc = Self.crc32(section.readableBytesView)
        section.writeInteger(crc)
        return section
    }

    /// CRC-32/MPEG-2: polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final xor.
    static func crc32<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte) << 24
            for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        }
        return crc
    }
}

@testable import CMAF
import NIOCore
import Testing

@Suite("SCTE-35 splice_insert")
struct SpliceInsertTests {
    @Test func crcKnownAnswer() {
        // CRC-32/MPEG-2 check value.
        #expect(SpliceInsert.crc32(Array("123456789".utf8)) == 0x0376_E6E7)
    }

    @Test func sectionIsWellFormed() throws {
        let section = SpliceInsert(eventID: 42, outOfNetwork: true, duration90k: 30 * 90000).section()
        let bytes = Array(section.readableBytesView)
        #expect(bytes[0] == 0xFC)
        let sectionLength = Int(bytes[1] & 0x0F) << 8 | Int(bytes[2])
        #expect(sectionLength == bytes.count - 3)
        // The CRC over a section including its CRC is zero.
        #expect(SpliceInsert.crc32(bytes) == 0)
        // splice_command_length, type 5, event id 42, out_of_network + duration + immediate.
        let commandLength = Int(bytes[11] & 0x0F) << 8 | Int(bytes[12])
        #expect(commandLength == 15)
        #expect(bytes[13] == 0x05)
        #expect(Array(bytes[14...17]) == [0, 0, 0, 42])
        #expect(bytes[19] & 0xF0 == 0xF0)
        // break_duration: auto_return, 33-bit duration.
        let duration = UInt64(bytes[20] & 1) << 32 | UInt64(bytes[21]) << 24 | UInt64(bytes[22]) << 16 | UInt64(bytes[23]) << 8 | UInt64(bytes[24])
        #expect(duration == 2_700_000)
    }

    @Test func cueInHasNoDuration() {
        let bytes = Array(SpliceInsert(eventID: 1, outOfNetwork: false).section().readableBytesView)
        #expect(bytes[19] == 0x5F)
        #expect(SpliceInsert.crc32(bytes) == 0)
    }
}

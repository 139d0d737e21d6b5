import NIOCore
import RTMP
import Testing

@Suite("AMF0")
struct AMF0Tests {
    private func encoded(_ value: AMF0Value) -> [UInt8] {
        var buffer = ByteBuffer()
        AMF0Encoder.encode(value, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    private func decoded(_ bytes: [UInt8], maximumDepth: Int = 32) throws(AMF0Error) -> [AMF0Value] {
        try AMF0Decoder(maximumDepth: maximumDepth).decodeAll(ByteBuffer(bytes: bytes))
    }

    @Test("each type encodes to its exact bytes and decodes back", arguments: [
        (AMF0Value.number(1), [0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0] as [UInt8]),
        (.boolean(true), [0x01, 0x01]),
        (.boolean(false), [0x01, 0x00]),
        (.string("ab"), [0x02, 0x00, 0x02, 0x61, 0x62]),
        (.string(""), [0x02, 0x00, 0x00]),
        (.null, [0x05]),
        (.undefined, [0x06]),
        (.object([AMF0Property("a", .null)]), [0x03, 0x00, 0x01, 0x61, 0x05, 0x00, 0x00, 0x09]),
        (.ecmaArray([AMF0Property("w", .number(0))]),
         [0x08, 0, 0, 0, 1, 0x00, 0x01, 0x77, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x09]),
        (.strictArray([.boolean(true), .null]), [0x0A, 0, 0, 0, 2, 0x01, 0x01, 0x05]),
        (.date(milliseconds: 1, timeZone: -60), [0x0B, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xFF, 0xC4]),
        (.longString("x"), [0x0C, 0, 0, 0, 1, 0x78]),
    ])
    func exactBytes(value: AMF0Value, bytes: [UInt8]) throws {
        #expect(encoded(value) == bytes)
        #expect(try decoded(bytes) == [value])
    }

    @Test func roundTripsAConnectCommand() throws {
        let values: [AMF0Value] = [
            .string("connect"), .number(1),
            .object([
                AMF0Property("app", .string("live")),
                AMF0Property("tcUrl", .string("rtmp://127.0.0.1:1935/live")),
                AMF0Property("fpad", .boolean(false)),
                AMF0Property("capabilities", .number(15)),
                AMF0Property("nested", .object([AMF0Property("list", .strictArray([.number(1), .string("é")]))])),
            ]),
            .null,
        ]
        var buffer = ByteBuffer()
        AMF0Encoder.encode(values, into: &buffer)
        #expect(try AMF0Decoder().decodeAll(buffer) == values)
        #expect(values[2]["app"] == .string("live"))
    }

    @Test func longStringsAreWrittenAsLongStrings() throws {
        let text = String(repeating: "a", count: 70_000)
        let bytes = encoded(.string(text))
        #expect(Array(bytes.prefix(5)) == [0x0C, 0x00, 0x01, 0x11, 0x70])
        #expect(try decoded(bytes) == [.longString(text)])
    }

    @Test func rejectsHostileInput() {
        #expect(throws: AMF0Error.truncated) { try decoded([0x00, 0x3F]) }
        #expect(throws: AMF0Error.truncated) { try decoded([0x02, 0xFF, 0xFF, 0x41]) }
        #expect(throws: AMF0Error.truncated) { try decoded([0x03, 0x00, 0x01, 0x61]) }
        #expect(throws: AMF0Error.unsupportedMarker(0x11)) { try decoded([0x11, 0x00]) }
        #expect(throws: AMF0Error.unsupportedMarker(0x07)) { try decoded([0x07, 0x00, 0x01]) }
        #expect(throws: AMF0Error.invalidArrayLength(0xFFFF_FFFF)) { try decoded([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05]) }
        #expect(throws: AMF0Error.invalidString) { try decoded([0x02, 0x00, 0x02, 0xC3, 0x28]) }
    }

    @Test("array counts are checked against the bytes left and the value budget, never reserved")
    func arrayCountsAreNotTrusted() throws {
        // 2^32−1 elements declared, three bytes present: refused before anything is allocated for them.
        #expect(throws: AMF0Error.invalidArrayLength(0xFFFF_FFFF)) {
            try decoded([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05, 0x05, 0x05])
        }
        #expect(throws: AMF0Error.truncated) { try decoded([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x61]) }
        // A count the bytes could hold, but more values than one message may produce: one-byte nulls would
        // otherwise expand 40-fold once decoded.
        let manyNulls: [UInt8] = [0x0A, 0x00, 0x01, 0x86, 0xA0] + [UInt8](repeating: 0x05, count: 100_000)
        #expect(throws: AMF0Error.tooManyValues(limit: 65_536)) { try decoded(manyNulls) }
        // Loose values at the top level and object properties draw on the same budget.
        let looseNulls = [UInt8](repeating: 0x05, count: 70_000)
        #expect(throws: AMF0Error.tooManyValues(limit: 65_536)) { try decoded(looseNulls) }
        var object: [UInt8] = [0x03]
        for index in 0..<70_000 {
            let key = Array(String(index).utf8)
            object += [0x00, UInt8(key.count)] + key + [0x05]
        }
        object += [0x00, 0x00, 0x09]
        #expect(throws: AMF0Error.tooManyValues(limit: 65_536)) { try decoded(object) }
        // Within the budget, a declared count is honoured exactly.
        let fewNulls: [UInt8] = [0x0A, 0x00, 0x00, 0x03, 0xE8] + [UInt8](repeating: 0x05, count: 1000)
        #expect(try decoded(fewNulls) == [.strictArray([AMF0Value](repeating: .null, count: 1000))])
    }

    @Test func limitsNesting() throws {
        let nestedArrays = Array([[UInt8]](repeating: [0x0A, 0, 0, 0, 1], count: 40).joined()) + [0x05]
        #expect(throws: AMF0Error.nestingTooDeep(limit: 32)) { try decoded(nestedArrays) }
        let nestedObjects = Array([[UInt8]](repeating: [0x03, 0x00, 0x01, 0x6F], count: 40).joined())
        #expect(throws: AMF0Error.nestingTooDeep(limit: 32)) { try decoded(nestedObjects) }
        // Within the limit, nesting is fine.
        let shallow = Array([[UInt8]](repeating: [0x0A, 0, 0, 0, 1], count: 5).joined()) + [0x05]
        #expect(try decoded(shallow).count == 1)
    }
}

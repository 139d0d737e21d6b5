import NIOCore
import RTMP
import Testing

/// Builds chunk streams by hand, so that every header form is exercised exactly as the specification lays it out.
struct ChunkBytes {
    var bytes: [UInt8] = []

    mutating func basicHeader(format: UInt8, csid: Int) {
        switch csid {
        case 2...63: bytes.append(format << 6 | UInt8(csid))
        case 64...319: bytes += [format << 6, UInt8(csid - 64)]
        default: bytes += [format << 6 | 1, UInt8((csid - 64) & 0xFF), UInt8((csid - 64) >> 8)]
        }
    }

    mutating func u24(_ value: Int) { bytes += [UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    mutating func u32(_ value: UInt32) { bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    mutating func type0(csid: Int, timestamp: Int, length: Int, type: UInt8, streamID: UInt8 = 1, extended: UInt32? = nil) {
        basicHeader(format: 0, csid: csid)
        u24(extended == nil ? timestamp : 0xFFFFFF)
        u24(length)
        bytes += [type, streamID, 0, 0, 0]
        if let extended { u32(extended) }
    }

    mutating func type1(csid: Int, delta: Int, length: Int, type: UInt8) {
        basicHeader(format: 1, csid: csid)
        u24(delta)
        u24(length)
        bytes.append(type)
    }

    mutating func type2(csid: Int, delta: Int) {
        basicHeader(format: 2, csid: csid)
        u24(delta)
    }

    mutating func type3(csid: Int, extended: UInt32? = nil) {
        basicHeader(format: 3, csid: csid)
        if let extended { u32(extended) }
    }

    mutating func payload(_ count: Int, fill: UInt8) { bytes += [UInt8](repeating: fill, count: count) }

    mutating func controlMessage(type: UInt8, value: UInt32) {
        type0(csid: 2, timestamp: 0, length: 4, type: type, streamID: 0)
        u32(value)
    }
}

struct ExpectedMessage: Equatable, CustomStringConvertible {
    var typeID: UInt8
    var timestamp: UInt32
    var payload: [UInt8]
    init(_ message: RTMPMessage) {
        typeID = message.typeID
        timestamp = message.timestamp
        payload = Array(message.payload.readableBytesView)
    }
    init(typeID: UInt8, timestamp: UInt32, payload: [UInt8]) {
        self.typeID = typeID
        self.timestamp = timestamp
        self.payload = payload
    }
    var description: String { "type \(typeID) ts \(timestamp) \(payload.count) bytes" }
}

@Suite("RTMP chunk decoder")
struct RTMPChunkDecoderTests {
    /// Interleaved chunk streams with every header type, all three basic header sizes, extended timestamps (with the
    /// type 3 continuation repeating them) and a Set Chunk Size in the middle.
    static func sampleStream() -> (bytes: [UInt8], messages: [ExpectedMessage]) {
        var chunks = ChunkBytes()
        chunks.type0(csid: 4, timestamp: 1000, length: 300, type: 9)
        chunks.payload(128, fill: 0xA1)
        chunks.type0(csid: 6, timestamp: 1010, length: 200, type: 8)
        chunks.payload(128, fill: 0xB1)
        chunks.type3(csid: 4)
        chunks.payload(128, fill: 0xA2)
        chunks.type3(csid: 6)
        chunks.payload(72, fill: 0xB2)
        chunks.type3(csid: 4)
        chunks.payload(44, fill: 0xA3)
        chunks.type1(csid: 6, delta: 23, length: 5, type: 8)
        chunks.payload(5, fill: 1)
        chunks.type2(csid: 6, delta: 23)
        chunks.payload(5, fill: 2)
        chunks.type3(csid: 6)
        chunks.payload(5, fill: 3)
        chunks.type0(csid: 100, timestamp: 0, length: 3, type: 18)
        chunks.payload(3, fill: 0xD0)
        chunks.type0(csid: 400, timestamp: 0, length: 200, type: 20, extended: 0x0100_0000)
        chunks.payload(128, fill: 0xC1)
        chunks.type3(csid: 400, extended: 0x0100_0000)
        chunks.payload(72, fill: 0xC2)
        chunks.controlMessage(type: 1, value: 256)
        chunks.type0(csid: 4, timestamp: 2000, length: 250, type: 9)
        chunks.payload(250, fill: 0xE0)
        let messages = [
            ExpectedMessage(typeID: 8, timestamp: 1010, payload: [UInt8](repeating: 0xB1, count: 128) + [UInt8](repeating: 0xB2, count: 72)),
            ExpectedMessage(typeID: 9, timestamp: 1000, payload: [UInt8](repeating: 0xA1, count: 128) + [UInt8](repeating: 0xA2, count: 128)
                + [UInt8](repeating: 0xA3, count: 44)),
            ExpectedMessage(typeID: 8, timestamp: 1033, payload: [1, 1, 1, 1, 1]),
            ExpectedMessage(typeID: 8, timestamp: 1056, payload: [2, 2, 2, 2, 2]),
            ExpectedMessage(typeID: 8, timestamp: 1079, payload: [3, 3, 3, 3, 3]),
            ExpectedMessage(typeID: 18, timestamp: 0, payload: [0xD0, 0xD0, 0xD0]),
            ExpectedMessage(typeID: 20, timestamp: 0x0100_0000, payload: [UInt8](repeating: 0xC1, count: 128) + [UInt8](repeating: 0xC2, count: 72)),
            ExpectedMessage(typeID: 9, timestamp: 2000, payload: [UInt8](repeating: 0xE0, count: 250)),
        ]
        return (chunks.bytes, messages)
    }

    private static func drain(_ decoder: inout RTMPChunkDecoder, _ buffer: inout ByteBuffer,
                              into messages: inout [ExpectedMessage]) throws(RTMPProtocolError) {
        while true {
            switch try decoder.parseStep(&buffer) {
            case .insufficientData: return
            case .continueParsing: continue
            case .message(let message): messages.append(ExpectedMessage(message))
            }
        }
    }

    @Test func reassemblesWhateverTheSplitPoint() throws {
        let (bytes, expected) = Self.sampleStream()
        for split in 0...bytes.count {
            var decoder = RTMPChunkDecoder()
            var messages: [ExpectedMessage] = []
            var buffer = ByteBuffer(bytes: bytes.prefix(split))
            try Self.drain(&decoder, &buffer, into: &messages)
            buffer.writeBytes(bytes.dropFirst(split))
            try Self.drain(&decoder, &buffer, into: &messages)
            #expect(messages == expected, "split at \(split)")
            #expect(buffer.readableBytes == 0)
            #expect(decoder.chunkSize == 256)
            if messages != expected { break }
        }
    }

    @Test func reassemblesByteByByte() throws {
        let (bytes, expected) = Self.sampleStream()
        var decoder = RTMPChunkDecoder()
        var messages: [ExpectedMessage] = []
        var buffer = ByteBuffer()
        for byte in bytes {
            buffer.writeInteger(byte)
            try Self.drain(&decoder, &buffer, into: &messages)
        }
        #expect(messages == expected)
    }

    @Test func encoderOutputDecodesBack() throws {
        var encoder = RTMPChunkEncoder()
        encoder.chunkSize = 100
        var buffer = ByteBuffer()
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        encoder.encode(RTMPMessage(typeID: 9, streamID: 1, timestamp: 0x0200_0000, payload: ByteBuffer(bytes: payload)),
                       chunkStreamID: 300, into: &buffer)
        encoder.encode(RTMPMessage(typeID: 20, streamID: 0, timestamp: 5, payload: ByteBuffer(bytes: [1, 2])),
                       chunkStreamID: 3, into: &buffer)
        var setChunkSize = ChunkBytes()
        setChunkSize.controlMessage(type: 1, value: 100)
        var input = ByteBuffer(bytes: setChunkSize.bytes)
        input.writeImmutableBuffer(buffer)
        var decoder = RTMPChunkDecoder()
        var messages: [ExpectedMessage] = []
        try Self.drain(&decoder, &input, into: &messages)
        #expect(messages == [ExpectedMessage(typeID: 9, timestamp: 0x0200_0000, payload: payload),
                             ExpectedMessage(typeID: 20, timestamp: 5, payload: [1, 2])])
    }

    private func decode(_ bytes: [UInt8], limits: RTMPChunkLimits = RTMPChunkLimits()) throws(RTMPProtocolError) -> [ExpectedMessage] {
        var decoder = RTMPChunkDecoder(limits: limits)
        var buffer = ByteBuffer(bytes: bytes)
        var messages: [ExpectedMessage] = []
        try Self.drain(&decoder, &buffer, into: &messages)
        return messages
    }

    @Test func refusesChunkSizesOutsideTheLimit() {
        var huge = ChunkBytes()
        huge.controlMessage(type: 1, value: 16 << 20)
        #expect(throws: RTMPProtocolError.chunkSizeAboveLimit(requested: 16 << 20, limit: 65536)) { try decode(huge.bytes) }
        var zero = ChunkBytes()
        zero.controlMessage(type: 1, value: 0)
        #expect(throws: RTMPProtocolError.invalidChunkSize(0)) { try decode(zero.bytes) }
        var topBit = ChunkBytes()
        topBit.controlMessage(type: 1, value: 0x8000_0000)
        #expect(throws: RTMPProtocolError.invalidChunkSize(0x8000_0000)) { try decode(topBit.bytes) }
    }

    @Test func refusesOversizedMessagesBeforeBufferingThem() {
        var chunks = ChunkBytes()
        chunks.type0(csid: 4, timestamp: 0, length: 0xFFFFFF, type: 9)  // header only: no payload needed to refuse
        #expect(throws: RTMPProtocolError.messageTooLong(length: 0xFFFFFF, limit: 8 << 20)) { try decode(chunks.bytes) }
    }

    @Test("a header declaring 16 MiB costs only the bytes that arrived; the buffer grows with the message")
    func declaredLengthIsNotReserved() throws {
        let declared = 0xFF_FFFF  // the largest length a chunk header can carry: 16 MiB less one byte
        let limits = RTMPChunkLimits(maximumMessageLength: 16 << 20, maximumBufferedBytes: 16 << 20)
        var decoder = RTMPChunkDecoder(limits: limits)
        var chunks = ChunkBytes()
        chunks.type0(csid: 4, timestamp: 0, length: declared, type: 9)
        chunks.payload(128, fill: 0x5A)
        var buffer = ByteBuffer(bytes: chunks.bytes)
        var messages: [ExpectedMessage] = []
        try Self.drain(&decoder, &buffer, into: &messages)
        #expect(messages.isEmpty)
        #expect(decoder.partialMessageCapacity >= 128)
        #expect(decoder.partialMessageCapacity <= 4096, "held \(decoder.partialMessageCapacity) bytes for 128 received")

        // A quarter of a MiB more: storage stays within twice what arrived.
        var more = ChunkBytes()
        for _ in 0..<2048 {
            more.type3(csid: 4)
            more.payload(128, fill: 0x5B)
        }
        buffer = ByteBuffer(bytes: more.bytes)
        try Self.drain(&decoder, &buffer, into: &messages)
        let received = 128 * 2049
        #expect(messages.isEmpty)
        #expect(decoder.partialMessageCapacity >= received)
        #expect(decoder.partialMessageCapacity <= 2 * received, "held \(decoder.partialMessageCapacity) bytes for \(received) received")
    }

    @Test("a message that grows chunk by chunk reassembles byte for byte")
    func grownMessageReassembles() throws {
        var chunks = ChunkBytes()
        chunks.controlMessage(type: 1, value: 1000)
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        chunks.type0(csid: 4, timestamp: 40, length: payload.count, type: 9)
        for start in stride(from: 0, to: payload.count, by: 1000) {
            if start > 0 { chunks.type3(csid: 4) }
            chunks.bytes += payload[start..<min(start + 1000, payload.count)]
        }
        #expect(try decode(chunks.bytes) == [ExpectedMessage(typeID: 9, timestamp: 40, payload: payload)])
    }

    @Test func limitsChunkStreams() {
        var chunks = ChunkBytes()
        for csid in 3...7 {
            chunks.type0(csid: csid, timestamp: 0, length: 1, type: 8)
            chunks.payload(1, fill: 0)
        }
        #expect(throws: RTMPProtocolError.tooManyChunkStreams(limit: 4)) {
            try decode(chunks.bytes, limits: RTMPChunkLimits(maximumChunkStreams: 4))
        }
    }

    @Test func limitsBufferedBytesAcrossChunkStreams() {
        var chunks = ChunkBytes()
        chunks.type0(csid: 4, timestamp: 0, length: 300, type: 9)
        chunks.payload(128, fill: 0)
        chunks.type0(csid: 5, timestamp: 0, length: 300, type: 9)
        chunks.payload(128, fill: 0)
        #expect(throws: RTMPProtocolError.bufferedBytesExceeded(limit: 500)) {
            try decode(chunks.bytes, limits: RTMPChunkLimits(maximumBufferedBytes: 500))
        }
    }

    @Test func abortReleasesThePartialMessage() throws {
        var chunks = ChunkBytes()
        chunks.type0(csid: 4, timestamp: 0, length: 300, type: 9)
        chunks.payload(128, fill: 0)
        chunks.controlMessage(type: 2, value: 4)
        chunks.type0(csid: 5, timestamp: 7, length: 300, type: 9)
        chunks.payload(128, fill: 1)
        chunks.type3(csid: 5)
        chunks.payload(128, fill: 1)
        chunks.type3(csid: 5)
        chunks.payload(44, fill: 1)
        let messages = try decode(chunks.bytes, limits: RTMPChunkLimits(maximumBufferedBytes: 400))
        #expect(messages == [ExpectedMessage(typeID: 9, timestamp: 7, payload: [UInt8](repeating: 1, count: 300))])
    }

    @Test func refusesContinuationWithoutHeader() {
        var chunks = ChunkBytes()
        chunks.type1(csid: 9, delta: 0, length: 1, type: 8)
        #expect(throws: RTMPProtocolError.missingPreviousHeader(chunkStreamID: 9)) { try decode(chunks.bytes) }
        var type3 = ChunkBytes()
        type3.type3(csid: 70)
        #expect(throws: RTMPProtocolError.missingPreviousHeader(chunkStreamID: 70)) { try decode(type3.bytes) }
    }
}

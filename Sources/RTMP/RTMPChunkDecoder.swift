import NIOCore

/// Reassembles RTMP messages from the interleaved chunk streams of one connection (RTMP 1.0 §5.3).
///
/// ```
/// basic header:  fmt(2) csid(6)  [csid 0: +1 byte → 64...319]  [csid 1: +2 bytes LE → 64...65599]
/// fmt 0: timestamp(24) length(24) type(8) streamID(32 LE)      fmt 1: delta(24) length(24) type(8)
/// fmt 2: delta(24)                                             fmt 3: (nothing)
/// timestamp or delta 0xFFFFFF → extended timestamp(32) follows; fmt 3 chunks repeat it when their header had one
/// ```
/// `parseStep` consumes one whole chunk or nothing, so a read split anywhere simply returns `.insufficientData`.
/// Set Chunk Size and Abort Message change how the following chunks are read, so the decoder applies them itself.
public struct RTMPChunkDecoder: Sendable {
    public enum ParseResult: Sendable {
        case insufficientData
        /// A chunk was consumed without completing a message.
        case continueParsing
        case message(RTMPMessage)
    }

    struct ChunkStream {
        var timestamp: UInt32 = 0
        var timestampDelta: UInt32 = 0
        var length = 0
        var typeID: UInt8 = 0
        var streamID: UInt32 = 0
        var hasExtendedTimestamp = false
        var hasHeader = false
        /// The message being reassembled, if a chunk of it has arrived.
        var partial: ByteBuffer?
    }

    public let limits: RTMPChunkLimits
    /// Peers start at 128 bytes (§5.4.1) until they send Set Chunk Size.
    public private(set) var chunkSize = 128
    private var chunkStreams: [UInt32: ChunkStream] = [:]
    /// Declared lengths of the messages currently being reassembled, checked against `maximumBufferedBytes`. Nothing
    /// is allocated for them until their bytes arrive.
    private var reservedBytes = 0

    public init(limits: RTMPChunkLimits = RTMPChunkLimits()) {
        self.limits = limits
    }

    /// Bytes of storage held for incomplete messages. It follows what arrived, not what the headers declared.
    public var partialMessageCapacity: Int {
        chunkStreams.values.reduce(0) { $0 + ($1.partial?.capacity ?? 0) }
    }

    public mutating func parseStep(_ buffer: inout ByteBuffer) throws(RTMPProtocolError) -> ParseResult {
        let start = buffer.readerIndex
        guard let result = try readChunk(&buffer) else {
            buffer.moveReaderIndex(to: start)
            return .insufficientData
        }
        return result
    }

    /// Returns nil when the chunk is not complete in `buffer`; the caller rewinds.
    private mutating func readChunk(_ buffer: inout ByteBuffer) throws(RTMPProtocolError) -> ParseResult? {
        guard let first = buffer.readInteger(as: UInt8.self) else { return nil }
        let format = first >> 6
        var csid = UInt32(first & 0x3F)
        if csid == 0 {
            guard let next = buffer.readInteger(as: UInt8.self) else { return nil }
            csid = 64 + UInt32(next)
        } else if csid == 1 {
            guard let low = buffer.readInteger(as: UInt8.self), let high = buffer.readInteger(as: UInt8.self) else { return nil }
            csid = 64 + UInt32(low) + UInt32(high) * 256
        }

        var stream: ChunkStream
        if let existing = chunkStreams[csid] {
            stream = existing
        } else {
            guard chunkStreams.count < limits.maximumChunkStreams else { throw .tooManyChunkStreams(limit: limits.maximumChunkStreams) }
            stream = ChunkStream()
        }
        guard format == 0 || stream.hasHeader else { throw .missingPreviousHeader(chunkStreamID: csid) }

        let startsMessage = stream.partial == nil
        let previousLength = stream.length
        var timestampField: UInt32 = 0
        switch format {
        case 0:
            guard let ts = buffer.readUInt24(), let length = buffer.readUInt24(), let type = buffer.readInteger(as: UInt8.self),
                  let streamID = buffer.readInteger(endianness: .little, as: UInt32.self) else { return nil }
            timestampField = ts
            stream.length = Int(length)
            stream.typeID = type
            stream.streamID = streamID
        case 1:
            guard let delta = buffer.readUInt24(), let length = buffer.readUInt24(),
                  let type = buffer.readInteger(as: UInt8.self) else { return nil }
            timestampField = delta
            stream.length = Int(length)
            stream.typeID = type
        case 2:
            guard let delta = buffer.readUInt24() else { return nil }
            timestampField = delta
        default:
            break
        }
        if format != 3 {
            stream.hasExtendedTimestamp = timestampField == 0xFFFFFF
        }
        var timestampValue = timestampField
        if stream.hasExtendedTimestamp {
            guard let extended = buffer.readInteger(as: UInt32.self) else { return nil }
            timestampValue = extended
        }
        // A full header in the middle of a message starts a new one: the old message is abandoned, as after Abort.
        // Its reservation is released only once this chunk is known to be complete (nothing changes before that).
        let abandonsMessage = format != 3 && !startsMessage
        if abandonsMessage { stream.partial = nil }
        let beginning = stream.partial == nil
        if beginning {
            switch format {
            case 0:
                // ffmpeg and SRS treat a type 0 timestamp as the delta that a following type 3 repeats.
                stream.timestamp = timestampValue
                stream.timestampDelta = timestampValue
            case 1, 2:
                stream.timestampDelta = timestampValue
                stream.timestamp &+= timestampValue
            default:
                // A type 3 chunk that starts a message repeats the previous delta (§5.3.1.2.4).
                stream.timestamp &+= stream.timestampDelta
            }
            guard stream.length <= limits.maximumMessageLength else {
                throw .messageTooLong(length: stream.length, limit: limits.maximumMessageLength)
            }
        }
        stream.hasHeader = true

        let received = stream.partial?.readableBytes ?? 0
        let payloadLength = min(chunkSize, stream.length - received)
        guard buffer.readableBytes >= payloadLength else { return nil }
        // From here the chunk is consumed: state changes below are final.
        guard let payload = buffer.readSlice(length: payloadLength) else { return nil }
        if abandonsMessage { reservedBytes -= previousLength }

        let message: RTMPMessage?
        if beginning && payloadLength == stream.length {
            // The whole message is in one chunk: hand out a slice of the read buffer, no copy.
            message = RTMPMessage(typeID: stream.typeID, streamID: stream.streamID, timestamp: stream.timestamp, payload: payload)
        } else {
            if beginning {
                guard reservedBytes + stream.length <= limits.maximumBufferedBytes else {
                    throw .bufferedBytesExceeded(limit: limits.maximumBufferedBytes)
                }
                reservedBytes += stream.length
                // The declared length only counts against the limits; memory follows the bytes that actually
                // arrive (the buffer doubles as it fills), so a header claiming megabytes costs a few bytes.
                stream.partial = ByteBufferAllocator().buffer(capacity: payload.readableBytes)
            }
            stream.partial?.writeImmutableBuffer(payload)
            if let partial = stream.partial, partial.readableBytes == stream.length {
                message = RTMPMessage(typeID: stream.typeID, streamID: stream.streamID, timestamp: stream.timestamp, payload: partial)
                releasePartial(of: &stream)
            } else {
                message = nil
            }
        }
        chunkStreams[csid] = stream

        guard let message else { return .continueParsing }
        switch message.typeID {
        case RTMPMessageType.setChunkSize:
            try applySetChunkSize(message.payload)
            return .continueParsing
        case RTMPMessageType.abort:
            try applyAbort(message.payload)
            return .continueParsing
        default:
            break
        }
        return .message(message)
    }

    private mutating func releasePartial(of stream: inout ChunkStream) {
        if stream.partial != nil {
            reservedBytes -= stream.length
            stream.partial = nil
        }
    }

    private mutating func applySetChunkSize(_ payload: ByteBuffer) throws(RTMPProtocolError) {
        guard let value = payload.getInteger(at: payload.readerIndex, as: UInt32.self) else {
            throw .malformedControlMessage(type: RTMPMessageType.setChunkSize)
        }
        guard value > 0, value & 0x8000_0000 == 0 else { throw .invalidChunkSize(value) }
        guard Int(value) <= limits.maximumChunkSize else {
            throw .chunkSizeAboveLimit(requested: value, limit: limits.maximumChunkSize)
        }
        chunkSize = Int(value)
    }

    private mutating func applyAbort(_ payload: ByteBuffer) throws(RTMPProtocolError) {
        guard let csid = payload.getInteger(at: payload.readerIndex, as: UInt32.self) else {
            throw .malformedControlMessage(type: RTMPMessageType.abort)
        }
        guard var stream = chunkStreams[csid] else { return }
        releasePartial(of: &stream)
        chunkStreams[csid] = stream
    }
}

extension ByteBuffer {
    mutating func readUInt24() -> UInt32? {
        guard let high = getInteger(at: readerIndex, as: UInt16.self),
              let low = getInteger(at: readerIndex + 2, as: UInt8.self) else { return nil }
        moveReaderIndex(forwardBy: 3)
        return UInt32(high) << 8 | UInt32(low)
    }

    mutating func writeUInt24(_ value: UInt32) {
        writeInteger(UInt8(truncatingIfNeeded: value >> 16))
        writeInteger(UInt8(truncatingIfNeeded: value >> 8))
        writeInteger(UInt8(truncatingIfNeeded: value))
    }
}

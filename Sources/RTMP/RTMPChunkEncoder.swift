import NIOCore

/// Splits outgoing messages into chunks (RTMP 1.0 §5.3): a type 0 chunk, then type 3 continuations.
///
/// The server sends little (control messages and command replies), so it always uses full headers rather than
/// tracking per-stream deltas.
public struct RTMPChunkEncoder: Sendable {
    /// The chunk size the peer expects from us; change it only right after sending Set Chunk Size.
    public var chunkSize = 128

    public init() {}

    /// Chunk stream ids conventionally used for each kind of message (ffmpeg, nginx-rtmp and SRS agree).
    public enum ChunkStreamID {
        public static let protocolControl: UInt32 = 2
        public static let command: UInt32 = 3
        public static let streamStatus: UInt32 = 5
    }

    public func encode(_ message: RTMPMessage, chunkStreamID: UInt32, into buffer: inout ByteBuffer) {
        let length = message.payload.readableBytes
        let extended = message.timestamp >= 0xFFFFFF
        var payload = message.payload
        var first = true
        repeat {
            writeBasicHeader(format: first ? 0 : 3, chunkStreamID: chunkStreamID, into: &buffer)
            if first {
                buffer.writeUInt24(extended ? 0xFFFFFF : message.timestamp)
                buffer.writeUInt24(UInt32(truncatingIfNeeded: length))
                buffer.writeInteger(message.typeID)
                buffer.writeInteger(message.streamID, endianness: .little)
            }
            if extended { buffer.writeInteger(message.timestamp) }
            let piece = min(chunkSize, payload.readableBytes)
            if let slice = payload.readSlice(length: piece) { buffer.writeImmutableBuffer(slice) }
            first = false
        } while payload.readableBytes > 0
    }

    private func writeBasicHeader(format: UInt8, chunkStreamID: UInt32, into buffer: inout ByteBuffer) {
        switch chunkStreamID {
        case 2...63:
            buffer.writeInteger(format << 6 | UInt8(chunkStreamID))
        case 64...319:
            buffer.writeInteger(format << 6)
            buffer.writeInteger(UInt8(chunkStreamID - 64))
        default:
            let id = min(max(chunkStreamID, 64), 65599) - 64
            buffer.writeInteger(format << 6 | 1)
            buffer.writeInteger(UInt8(truncatingIfNeeded: id))
            buffer.writeInteger(UInt8(truncatingIfNeeded: id >> 8))
        }
    }
}

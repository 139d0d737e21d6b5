import NIOCore

/// The server side of the RTMP simple handshake (RTMP 1.0 §5.2).
///
/// ```
/// client → C0 (version = 3) C1 (time 4, zero 4, random 1528)
/// server → S0 (3) S1 (time 4, zero 4, random 1528) S2 (echo of C1)
/// client → C2 (echo of S1)
/// ```
/// ffmpeg, OBS and GStreamer fall back to this handshake when S1's version field (bytes 4...7) is zero, so the
/// digest ("complex") handshake of Flash Player is not needed for encoders.
public struct RTMPServerHandshake: Sendable {
    public static let packetSize = 1536
    public static let version: UInt8 = 3

    enum State {
        case awaitingC0C1
        case awaitingC2
        case complete
    }

    public enum Step: Sendable {
        /// Wait for more bytes; a peer that never sends them is dropped by the connection's timeout.
        case needMoreData
        /// Send S0, S1 and S2.
        case send(ByteBuffer)
        /// C2 arrived; anything after it in the buffer is chunk stream data.
        case complete
    }

    private var state = State.awaitingC0C1

    public init() {}

    public var isComplete: Bool {
        if case .complete = state { return true }
        return false
    }

    /// Consumes handshake bytes from `buffer`, leaving any bytes after the handshake unread.
    public mutating func parseStep(_ buffer: inout ByteBuffer) throws(RTMPProtocolError) -> Step {
        switch state {
        case .awaitingC0C1:
            // Check the version as soon as it arrives so that a non-RTMP peer is refused before 1536 bytes.
            guard let version = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return .needMoreData }
            guard version == Self.version else { throw .unsupportedVersion(version) }
            guard buffer.readableBytes >= 1 + Self.packetSize else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 1)
            guard let c1 = buffer.readSlice(length: Self.packetSize) else { return .needMoreData }
            var reply = ByteBuffer()
            reply.reserveCapacity(1 + 2 * Self.packetSize)
            reply.writeInteger(Self.version)
            reply.writeInteger(UInt32(0))  // S1 time
            reply.writeInteger(UInt32(0))  // S1 version zero: selects the simple handshake in clients
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<(Self.packetSize - 8) / 8 { reply.writeInteger(generator.next() as UInt64) }
            reply.writeImmutableBuffer(c1)  // S2 echoes C1
            state = .awaitingC2
            return .send(reply)
        case .awaitingC2:
            guard buffer.readableBytes >= Self.packetSize else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: Self.packetSize)
            state = .complete
            return .complete
        case .complete:
            return .complete
        }
    }
}

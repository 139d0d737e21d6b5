import NIOCore

/// One RTP packet per Opus frame (RFC 7587 §4.2), written into a buffer the caller owns.
///
/// The marker bit stays clear: RFC 7587 allows setting it on the first packet after a talk spurt
/// (DTX), but the encoder feeding LiveRelay sends continuously, and receivers ignore it for Opus.
public struct OpusPacketizer: Sendable {
    public var header: RTPHeaderTemplate
    public var maximumPacketSize: Int
    /// Bytes kept free at the end of each packet for the SRTP authentication tag.
    public var reservedTrailerLength: Int
    /// The sequence number of the next packet; wraps at 65535.
    public var sequenceNumber: UInt16

    public init(payloadType: UInt8, ssrc: UInt32, extensions: RTPHeaderExtensionLayout = .none,
                maximumPacketSize: Int = 1200, reservedTrailerLength: Int = 16,
                sequenceNumber: UInt16 = .random(in: 0...UInt16.max)) {
        self.header = RTPHeaderTemplate(payloadType: payloadType, ssrc: ssrc, extensions: extensions)
        self.maximumPacketSize = maximumPacketSize
        self.reservedTrailerLength = reservedTrailerLength
        self.sequenceNumber = sequenceNumber
    }

    /// Writes the packet for `frame` into `buffer` (cleared first) and hands it to `emit`.
    ///
    /// - Returns: `false`, emitting nothing and using no sequence number, when the frame is empty
    ///   or would not fit in `maximumPacketSize` (Opus frames cannot be fragmented).
    @discardableResult
    public mutating func packetize(frame: ByteBuffer, timestamp: UInt32, absSendTime: UInt32 = 0,
                                   into buffer: inout ByteBuffer, emit: (inout ByteBuffer) -> Void) -> Bool {
        guard let length = packetLength(frame: frame) else { return false }
        buffer.clear(minimumCapacity: maximumPacketSize)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            write(frame: frame, timestamp: timestamp, absSendTime: absSendTime, to: bytes.baseAddress!)
        }
        emit(&buffer)
        return true
    }

    /// Bytes of the packet for `frame`, or nil when it has none (empty, or too large for `maximumPacketSize`).
    public func packetLength(frame: ByteBuffer) -> Int? {
        let length = frame.readableBytes
        guard length > 0, header.headerLength + length + reservedTrailerLength <= maximumPacketSize else { return nil }
        return header.headerLength + length
    }

    /// Writes the packet for `frame` at `destination` (room for `packetLength(frame:)` bytes, which must not be
    /// nil) and uses up its sequence number; returns its length. The fan-out writes straight into a send slot.
    @discardableResult
    public mutating func write(frame: ByteBuffer, timestamp: UInt32, absSendTime: UInt32 = 0,
                               to destination: UnsafeMutableRawPointer) -> Int {
        let headerLength = header.write(to: destination, marker: false, sequenceNumber: sequenceNumber, timestamp: timestamp,
                                        absSendTime: absSendTime)
        let length = frame.readableBytes
        frame.withUnsafeReadableBytes { bytes in
            (destination + headerLength).copyMemory(from: bytes.baseAddress!, byteCount: length)
        }
        sequenceNumber &+= 1
        return headerLength + length
    }
}

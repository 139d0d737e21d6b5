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
        let length = frame.readableBytes
        guard length > 0, header.headerLength + length + reservedTrailerLength <= maximumPacketSize else { return false }
        buffer.clear(minimumCapacity: maximumPacketSize)
        header.write(into: &buffer, marker: false, sequenceNumber: sequenceNumber, timestamp: timestamp,
                     absSendTime: absSendTime)
        buffer.writeImmutableBuffer(frame)
        emit(&buffer)
        sequenceNumber &+= 1
        return true
    }
}

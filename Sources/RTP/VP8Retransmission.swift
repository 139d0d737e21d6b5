import NIOCore

/// Writing one packet of a frame sent earlier again, for a NACK (RFC 4585 §6.2.1).
///
/// The sender keeps frames, not packets: a frame's packets are a pure function of the frame, its timestamp,
/// PictureID and first sequence number, so packet `index` is rebuilt byte for byte on demand and a second of
/// history costs a reference to each frame (shared by every viewer) instead of a copy of every packet.
extension VP8Packetizer {
    /// Rebuilds packet `index` (0-based) of a frame that was packetized with these settings, with the sequence
    /// number it had. Returns false when the frame has no such packet.
    public func writePacket(index: Int, of frame: ByteBuffer, timestamp: UInt32, pictureID: UInt16,
                            sequenceNumber: UInt16, absSendTime: UInt32 = 0, into buffer: inout ByteBuffer) -> Bool {
        guard let (fragment, last) = fragment(index: index, of: frame) else { return false }
        buffer.clear(minimumCapacity: maximumPacketSize)
        header.write(into: &buffer, marker: last, sequenceNumber: sequenceNumber, timestamp: timestamp, absSendTime: absSendTime)
        VP8PayloadDescriptor.writeSentForm(into: &buffer, start: index == 0, pictureID: pictureID)
        buffer.writeImmutableBuffer(fragment)
        return true
    }

    /// The RTX form (RFC 4588 §4) of packet `index`: the retransmission stream's payload type, SSRC and
    /// sequence number, the original sequence number (OSN) first in the payload, then the original payload.
    /// The RTX stream carries the same header extensions as the original.
    public func writeRetransmission(index: Int, of frame: ByteBuffer, timestamp: UInt32, pictureID: UInt16,
                                    originalSequenceNumber: UInt16, rtx: RTPHeaderTemplate, rtxSequenceNumber: UInt16,
                                    absSendTime: UInt32 = 0, into buffer: inout ByteBuffer) -> Bool {
        guard let (fragment, last) = fragment(index: index, of: frame) else { return false }
        buffer.clear(minimumCapacity: maximumPacketSize + 2)
        rtx.write(into: &buffer, marker: last, sequenceNumber: rtxSequenceNumber, timestamp: timestamp, absSendTime: absSendTime)
        buffer.writeInteger(originalSequenceNumber)
        VP8PayloadDescriptor.writeSentForm(into: &buffer, start: index == 0, pictureID: pictureID)
        buffer.writeImmutableBuffer(fragment)
        return true
    }

    private func fragment(index: Int, of frame: ByteBuffer) -> (ByteBuffer, last: Bool)? {
        let length = maximumFragmentLength
        let offset = index * length
        guard index >= 0, length > 0, offset < frame.readableBytes else { return nil }
        let size = min(length, frame.readableBytes - offset)
        guard let slice = frame.getSlice(at: frame.readerIndex + offset, length: size) else { return nil }
        return (slice, offset + size == frame.readableBytes)
    }
}

import NIOCore

/// The header fields fixed for one outgoing stream. Packetizers write every packet's header from
/// it straight into the caller's buffer, so the hot path builds no `RTPHeader` and no arrays.
public struct RTPHeaderTemplate: Sendable, Hashable {
    public var payloadType: UInt8
    public var ssrc: UInt32
    public var extensions: RTPHeaderExtensionLayout

    public init(payloadType: UInt8, ssrc: UInt32, extensions: RTPHeaderExtensionLayout = .none) {
        self.payloadType = payloadType
        self.ssrc = ssrc
        self.extensions = extensions
    }

    /// Fixed header plus extension block.
    public var headerLength: Int { 12 + extensions.blockLength }

    func write(into buffer: inout ByteBuffer, marker: Bool, sequenceNumber: UInt16, timestamp: UInt32,
               absSendTime: UInt32) {
        buffer.writeInteger(RTPHeader.version << 6 | (extensions.isEmpty ? 0 : 0x10))
        buffer.writeInteger((marker ? 0x80 : 0) | (payloadType & 0x7F))
        buffer.writeInteger(sequenceNumber)
        buffer.writeInteger(timestamp)
        buffer.writeInteger(ssrc)
        extensions.write(into: &buffer, absSendTime: absSendTime)
    }
}

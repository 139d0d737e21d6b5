import NIOCore

/// Which header extensions a sender stream writes, with the IDs negotiated in SDP (`a=extmap`).
/// Any of them may be absent. Elements are written in the one-byte form (RFC 8285 §4.2) in a
/// fixed order, so every packet of a stream has them at the same offsets.
///
/// The transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions) is
/// written as zero and patched by the caller with `setTransportSequenceNumber(_:in:)`: the
/// counter is shared by every stream of a transport and belongs to the moment a packet is
/// handed to the socket (after pacing and SRTP ordering), not to the moment it was packetized.
public struct RTPHeaderExtensionLayout: Sendable, Hashable {
    public enum Error: Swift.Error, Equatable, Sendable {
        /// One-byte IDs are 1...14.
        case invalidID(UInt8)
        case duplicateID(UInt8)
        /// The one-byte form carries 1...16 bytes of MID.
        case invalidMIDLength(Int)
    }

    public let midID: UInt8?
    public let mid: String
    public let absSendTimeID: UInt8?
    public let transportSequenceNumberID: UInt8?

    /// No extensions at all: the X bit stays clear.
    public static let none = RTPHeaderExtensionLayout()

    private init() {
        midID = nil
        mid = ""
        absSendTimeID = nil
        transportSequenceNumberID = nil
    }

    public init(mid: (id: UInt8, value: String)? = nil, absSendTimeID: UInt8? = nil,
                transportSequenceNumberID: UInt8? = nil) throws(Error) {
        var seen: Set<UInt8> = []
        for id in [mid?.id, absSendTimeID, transportSequenceNumberID].compactMap({ $0 }) {
            guard (1...14).contains(id) else { throw .invalidID(id) }
            guard seen.insert(id).inserted else { throw .duplicateID(id) }
        }
        if let mid {
            let length = mid.value.utf8.count
            guard (1...16).contains(length) else { throw .invalidMIDLength(length) }
        }
        self.midID = mid?.id
        self.mid = mid?.value ?? ""
        self.absSendTimeID = absSendTimeID
        self.transportSequenceNumberID = transportSequenceNumberID
    }

    public var isEmpty: Bool { midID == nil && absSendTimeID == nil && transportSequenceNumberID == nil }

    private var elementsLength: Int {
        (midID == nil ? 0 : 1 + mid.utf8.count) + (absSendTimeID == nil ? 0 : 4)
            + (transportSequenceNumberID == nil ? 0 : 3)
    }

    /// Bytes of the extension block, 0xBEDE header and padding included (0 when empty).
    public var blockLength: Int { isEmpty ? 0 : 4 + (elementsLength + 3) / 4 * 4 }

    /// Offset of the 24-bit abs-send-time value from the first byte of the packet.
    public var absSendTimeOffset: Int? {
        guard absSendTimeID != nil else { return nil }
        return 16 + (midID == nil ? 0 : 1 + mid.utf8.count) + 1
    }

    /// Offset of the 16-bit transport-wide sequence number from the first byte of the packet.
    public var transportSequenceNumberOffset: Int? {
        guard transportSequenceNumberID != nil else { return nil }
        return 16 + (midID == nil ? 0 : 1 + mid.utf8.count) + (absSendTimeID == nil ? 0 : 4) + 1
    }

    /// Writes the block at `destination`, just after a 12-byte fixed header with no CSRCs; returns its length
    /// (`blockLength`, 0 when empty).
    func write(to destination: UnsafeMutableRawPointer, absSendTime: UInt32) -> Int {
        guard !isEmpty else { return 0 }
        let length = blockLength
        destination.storeBytes(of: RTPHeader.oneByteExtensionProfile.bigEndian, as: UInt16.self)
        destination.storeBytes(of: UInt16((length - 4) / 4).bigEndian, toByteOffset: 2, as: UInt16.self)
        var offset = 4
        func put(_ byte: UInt8) {
            destination.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
        if let midID {
            put(midID << 4 | UInt8(mid.utf8.count - 1))
            for byte in mid.utf8 { put(byte) }
        }
        if let absSendTimeID {
            put(absSendTimeID << 4 | 2)
            put(UInt8(truncatingIfNeeded: absSendTime >> 16))
            put(UInt8(truncatingIfNeeded: absSendTime >> 8))
            put(UInt8(truncatingIfNeeded: absSendTime))
        }
        if let transportSequenceNumberID {
            put(transportSequenceNumberID << 4 | 1)
            put(0)
            put(0)
        }
        while offset < length { put(0) }
        return length
    }

    /// Patches the transport-wide sequence number into a packet this layout wrote at `packet`.
    @inline(__always)
    public func setTransportSequenceNumber(_ sequenceNumber: UInt16, at packet: UnsafeMutableRawPointer) {
        guard let offset = transportSequenceNumberOffset else { return }
        packet.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// Patches the transport-wide sequence number into a packet this layout wrote (the packet
    /// starts at the buffer's reader index). Does nothing when the layout has no such element.
    public func setTransportSequenceNumber(_ sequenceNumber: UInt16, in packet: inout ByteBuffer) {
        guard let offset = transportSequenceNumberOffset, packet.readableBytes >= offset + 2 else { return }
        packet.setInteger(sequenceNumber, at: packet.readerIndex + offset)
    }

    /// Patches abs-send-time into a packet this layout wrote at `packet` (one written before it was due to go).
    @inline(__always)
    public func setAbsSendTime(_ value: UInt32, at packet: UnsafeMutableRawPointer) {
        guard let offset = absSendTimeOffset else { return }
        packet.storeBytes(of: UInt8(truncatingIfNeeded: value >> 16), toByteOffset: offset, as: UInt8.self)
        packet.storeBytes(of: UInt16(truncatingIfNeeded: value).bigEndian, toByteOffset: offset + 1, as: UInt16.self)
    }

    /// Patches abs-send-time (6.18 fixed-point seconds, 24 bits) into a packet this layout wrote.
    public func setAbsSendTime(_ value: UInt32, in packet: inout ByteBuffer) {
        guard let offset = absSendTimeOffset, packet.readableBytes >= offset + 3 else { return }
        packet.setInteger(UInt8(truncatingIfNeeded: value >> 16), at: packet.readerIndex + offset)
        packet.setInteger(UInt16(truncatingIfNeeded: value), at: packet.readerIndex + offset + 1)
    }

    /// abs-send-time from a monotonic clock: seconds in 6.18 fixed point, wrapping every 64 s.
    public static func absSendTime(nanoseconds: UInt64) -> UInt32 {
        let withinWrap = nanoseconds % 64_000_000_000
        return UInt32(truncatingIfNeeded: (withinWrap << 18) / 1_000_000_000) & 0x00FF_FFFF
    }
}

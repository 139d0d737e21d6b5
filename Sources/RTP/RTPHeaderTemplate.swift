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
        let length = headerLength
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            write(to: bytes.baseAddress!, marker: marker, sequenceNumber: sequenceNumber, timestamp: timestamp,
                  absSendTime: absSendTime)
        }
    }

    /// Writes the header at `destination`, which must have room for `headerLength` bytes; returns that length.
    @discardableResult
    func write(to destination: UnsafeMutableRawPointer, marker: Bool, sequenceNumber: UInt16, timestamp: UInt32,
               absSendTime: UInt32) -> Int {
        destination.storeBytes(of: RTPHeader.version << 6 | (extensions.isEmpty ? 0 : 0x10), as: UInt8.self)
        destination.storeBytes(of: (marker ? 0x80 : 0) | (payloadType & 0x7F), toByteOffset: 1, as: UInt8.self)
        destination.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: 2, as: UInt16.self)
        destination.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
        return 12 + extensions.write(to: destination + 12, absSendTime: absSendTime)
    }
}

/// One stream's header as laid out for one frame (its timestamp and abs-send-time), kept inline: each packet of
/// the frame copies it and patches its own sequence number and marker, so a frame's header is built once per
/// viewer however many packets it has.
public struct RTPHeaderBytes: Sendable {
    /// The longest header a template writes: 12 fixed bytes and an extension block of at most 4 + 24.
    public static let capacity = 40
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    public private(set) var length = 0

    /// No header (length 0).
    public init() {}

    public init(_ template: RTPHeaderTemplate, timestamp: UInt32, absSendTime: UInt32) {
        precondition(template.headerLength <= Self.capacity)
        length = withUnsafeMutableBytes(of: &storage) { bytes in
            template.write(to: bytes.baseAddress!, marker: false, sequenceNumber: 0, timestamp: timestamp,
                           absSendTime: absSendTime)
        }
    }

    /// Writes the header with this sequence number and marker at `destination`; returns its length.
    @inline(__always)
    public func write(to destination: UnsafeMutableRawPointer, marker: Bool, sequenceNumber: UInt16) -> Int {
        withUnsafeBytes(of: storage) { bytes in
            destination.copyMemory(from: bytes.baseAddress!, byteCount: length)
        }
        if marker {
            destination.storeBytes(of: destination.load(fromByteOffset: 1, as: UInt8.self) | 0x80, toByteOffset: 1, as: UInt8.self)
        }
        destination.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: 2, as: UInt16.self)
        return length
    }
}

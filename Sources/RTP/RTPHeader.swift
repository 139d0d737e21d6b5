import NIOCore

/// The RTP fixed header (RFC 3550 §5.1) with RFC 8285 header extensions.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      0xBE     |      0xDE     |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ID   |  L-1  |     data      |  ...  (padding to 32 bits)    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// This value type is for tests, tools and the receive side; the packetizers write headers
/// straight into the packet buffer through `RTPHeaderTemplate` and never build one of these.
public struct RTPHeader: Sendable, Hashable {
    public static let version: UInt8 = 2
    public static let oneByteExtensionProfile: UInt16 = 0xBEDE
    public static let twoByteExtensionProfile: UInt16 = 0x1000

    public var padding: Bool
    public var marker: Bool
    /// 0...127.
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    /// At most 15.
    public var csrcs: [UInt32]
    /// The profile of the extension block when one was present; written as 0xBEDE or 0x1000
    /// according to `extensions` (an unknown profile's contents are not kept).
    public var extensionProfile: UInt16?
    public var extensions: [RTPHeaderExtension]

    public init(padding: Bool = false, marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16,
                timestamp: UInt32, ssrc: UInt32, csrcs: [UInt32] = [], extensions: [RTPHeaderExtension] = []) {
        self.padding = padding
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.extensionProfile = extensions.isEmpty ? nil : (extensions.allSatisfy(\.fitsOneByteForm)
            ? Self.oneByteExtensionProfile : Self.twoByteExtensionProfile)
        self.extensions = extensions
    }

    public var hasExtension: Bool { !extensions.isEmpty }

    public func extensionData(id: UInt8) -> [UInt8]? {
        extensions.first { $0.id == id }?.data
    }

    /// Bytes `write(into:)` produces.
    public var serializedLength: Int {
        12 + 4 * csrcs.count + extensionBlockLength
    }

    private var usesOneByteForm: Bool { extensions.allSatisfy(\.fitsOneByteForm) }

    private var extensionBlockLength: Int {
        guard !extensions.isEmpty else { return 0 }
        let perElement = usesOneByteForm ? 1 : 2
        let elements = extensions.reduce(0) { $0 + perElement + $1.data.count }
        return 4 + (elements + 3) / 4 * 4
    }

    @discardableResult
    public func write(into buffer: inout ByteBuffer) -> Int {
        precondition(csrcs.count <= 15, "RTP carries at most 15 CSRCs")
        let start = buffer.writerIndex
        var first = Self.version << 6 | UInt8(csrcs.count)
        if padding { first |= 0x20 }
        if !extensions.isEmpty { first |= 0x10 }
        buffer.writeInteger(first)
        buffer.writeInteger((marker ? 0x80 : 0) | (payloadType & 0x7F))
        buffer.writeInteger(sequenceNumber)
        buffer.writeInteger(timestamp)
        buffer.writeInteger(ssrc)
        for csrc in csrcs { buffer.writeInteger(csrc) }
        if !extensions.isEmpty {
            let oneByte = usesOneByteForm
            let words = (extensionBlockLength - 4) / 4
            buffer.writeInteger(oneByte ? Self.oneByteExtensionProfile : Self.twoByteExtensionProfile)
            buffer.writeInteger(UInt16(words))
            var written = 0
            for element in extensions {
                if oneByte {
                    buffer.writeInteger(element.id << 4 | UInt8(element.data.count - 1))
                    written += 1
                } else {
                    buffer.writeInteger(element.id)
                    buffer.writeInteger(UInt8(element.data.count))
                    written += 2
                }
                buffer.writeBytes(element.data)
                written += element.data.count
            }
            buffer.writeRepeatingByte(0, count: words * 4 - written)
        }
        return buffer.writerIndex - start
    }
}

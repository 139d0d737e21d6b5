import NIOCore

/// One report block of an SR or RR (RFC 3550 §6.4.1): how one source's stream arrived.
///
/// ```
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 SSRC_1 (SSRC of first source)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | fraction lost |       cumulative number of packets lost       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           extended highest sequence number received           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      interarrival jitter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         last SR (LSR)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   delay since last SR (DLSR)                  |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
public struct RTCPReceptionReport: Sendable, Hashable {
    public var ssrc: UInt32
    /// Fixed point, lost/expected × 256 since the previous report.
    public var fractionLost: UInt8
    /// 24-bit signed: duplicates can make it negative.
    public var cumulativeLost: Int32
    public var highestSequenceNumber: UInt32
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received from this source.
    public var lastSenderReport: UInt32
    /// In units of 1/65536 s.
    public var delaySinceLastSenderReport: UInt32

    public init(ssrc: UInt32, fractionLost: UInt8 = 0, cumulativeLost: Int32 = 0, highestSequenceNumber: UInt32 = 0,
                jitter: UInt32 = 0, lastSenderReport: UInt32 = 0, delaySinceLastSenderReport: UInt32 = 0) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.highestSequenceNumber = highestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    static let length = 24

    init(reading reader: inout RTCPBodyReader) throws(RTCPParseError) {
        ssrc = try reader.read()
        fractionLost = try reader.read()
        cumulativeLost = try reader.readInt24()
        highestSequenceNumber = try reader.read()
        jitter = try reader.read()
        lastSenderReport = try reader.read()
        delaySinceLastSenderReport = try reader.read()
    }

    /// Cumulative loss outside the 24-bit signed range is clamped to it.
    func write(into buffer: inout ByteBuffer) {
        buffer.writeInteger(ssrc)
        let lost = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        buffer.writeInteger(UInt32(fractionLost) << 24 | (UInt32(bitPattern: lost) & 0x00FF_FFFF))
        buffer.writeInteger(highestSequenceNumber)
        buffer.writeInteger(jitter)
        buffer.writeInteger(lastSenderReport)
        buffer.writeInteger(delaySinceLastSenderReport)
    }
}

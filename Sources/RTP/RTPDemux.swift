import NIOCore

/// Telling RTP, RTCP and the rest apart on the one UDP port WebRTC uses.
public enum RTPDemux {
    /// RFC 7983: a first byte of 128...191 is RTP or RTCP (version 2).
    public static func isRTPOrRTCP(firstByte: UInt8) -> Bool { (128...191).contains(firstByte) }

    /// RFC 5761 §4: with rtcp-mux, a second byte of 192...223 is an RTCP packet type (SR, RR,
    /// SDES, BYE, APP, RTPFB, PSFB...). Read as RTP that is the marker bit plus payload types
    /// 64...95, which is why those payload types are never negotiated.
    public static func isRTCP(packetType secondByte: UInt8) -> Bool { (192...223).contains(secondByte) }

    /// Applies `isRTCP(packetType:)` to the second readable byte; `false` when there is none.
    public static func isRTCP(_ packet: ByteBuffer) -> Bool {
        guard let second = packet.getInteger(at: packet.readerIndex + 1, as: UInt8.self) else { return false }
        return isRTCP(packetType: second)
    }
}

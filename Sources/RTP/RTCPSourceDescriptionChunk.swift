/// One SDES chunk (RFC 3550 §6.5): the CNAME is the only item WebRTC relies on, as it ties a
/// participant's audio and video SSRCs together for lip sync. Other items are skipped.
public struct RTCPSourceDescriptionChunk: Sendable, Hashable {
    public var ssrc: UInt32
    public var cname: String?

    public init(ssrc: UInt32, cname: String?) {
        self.ssrc = ssrc
        self.cname = cname
    }
}

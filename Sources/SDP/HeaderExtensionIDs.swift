/// The extension ids to stamp into outgoing RTP, all taken from the offer; nil when not negotiated.
public struct HeaderExtensionIDs: Equatable, Hashable, Sendable {
    public var mid: UInt8?
    public var absSendTime: UInt8?
    public var transportCC: UInt8?

    public init(mid: UInt8? = nil, absSendTime: UInt8? = nil, transportCC: UInt8? = nil) {
        self.mid = mid
        self.absSendTime = absSendTime
        self.transportCC = transportCC
    }
}

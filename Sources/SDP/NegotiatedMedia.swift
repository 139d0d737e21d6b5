/// What the sender needs for one accepted track.
public struct NegotiatedMedia: Equatable, Hashable, Sendable {
    public var mid: String
    public var payloadType: UInt8
    public var rtxPayloadType: UInt8?
    public var feedback: Set<RTCPFeedback>
    public var extensionIDs: HeaderExtensionIDs
    /// Our direction: `sendonly`, or `inactive` when the viewer will not receive (it offered sendonly/inactive).
    public var direction: MediaDirection
    /// Whether reduced-size RTCP (RFC 5506) was agreed.
    public var rtcpReducedSize: Bool

    public init(mid: String, payloadType: UInt8, rtxPayloadType: UInt8? = nil, feedback: Set<RTCPFeedback> = [],
                extensionIDs: HeaderExtensionIDs = HeaderExtensionIDs(), direction: MediaDirection = .sendonly,
                rtcpReducedSize: Bool = false) {
        self.mid = mid
        self.payloadType = payloadType
        self.rtxPayloadType = rtxPayloadType
        self.feedback = feedback
        self.extensionIDs = extensionIDs
        self.direction = direction
        self.rtcpReducedSize = rtcpReducedSize
    }
}

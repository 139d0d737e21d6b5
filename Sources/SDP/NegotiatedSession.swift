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

/// The outcome of one offer/answer, handed to the WebRTC transport.
public struct NegotiatedSession: Equatable, Hashable, Sendable {
    /// The accepted mids in offer order, all on one ICE/DTLS transport.
    public var bundleMids: [String]
    public var video: NegotiatedMedia?
    public var audio: NegotiatedMedia?
    /// The sha-256 fingerprint the viewer's DTLS certificate must match.
    public var remoteFingerprint: Fingerprint
    public var remoteUfrag: String
    public var remotePwd: String
    /// The viewer's candidates from the offer, verbatim.
    public var remoteCandidates: [String]

    public init(bundleMids: [String], video: NegotiatedMedia?, audio: NegotiatedMedia?, remoteFingerprint: Fingerprint,
                remoteUfrag: String, remotePwd: String, remoteCandidates: [String]) {
        self.bundleMids = bundleMids
        self.video = video
        self.audio = audio
        self.remoteFingerprint = remoteFingerprint
        self.remoteUfrag = remoteUfrag
        self.remotePwd = remotePwd
        self.remoteCandidates = remoteCandidates
    }
}

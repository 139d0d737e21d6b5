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

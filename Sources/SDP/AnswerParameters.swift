/// LiveRelay's side of the session: its ICE credentials, certificate and outgoing streams.
public struct AnswerParameters: Equatable, Hashable, Sendable {
    public var iceUfrag: String
    public var icePwd: String
    /// `AB:CD:...`, 32 bytes; lowercase is accepted and written uppercase.
    public var fingerprintSHA256: String
    public var candidates: [ICECandidate]
    public var videoSSRC: UInt32
    public var videoRTXSSRC: UInt32
    public var audioSSRC: UInt32
    public var cname: String
    /// The MediaStream id (`a=msid`); tracks are named `video` and `audio` inside it.
    public var streamID: String
    public var sessionID: UInt64

    public init(iceUfrag: String, icePwd: String, fingerprintSHA256: String, candidates: [ICECandidate],
                videoSSRC: UInt32, videoRTXSSRC: UInt32, audioSSRC: UInt32, cname: String, streamID: String,
                sessionID: UInt64) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.fingerprintSHA256 = fingerprintSHA256
        self.candidates = candidates
        self.videoSSRC = videoSSRC
        self.videoRTXSSRC = videoRTXSSRC
        self.audioSSRC = audioSSRC
        self.cname = cname
        self.streamID = streamID
        self.sessionID = sessionID
    }

    /// Every value here ends up inside an SDP line, so each is checked against its grammar: a stray
    /// space or line break would otherwise change the meaning of the answer. The reasons start with
    /// "answer parameters" because these are LiveRelay's own values, not the viewer's.
    /// Returns the fingerprint in its uppercase form.
    func validated() throws(SDPError) -> String {
        do {
            try ICECredentials.validateUfrag(iceUfrag)
            try ICECredentials.validatePwd(icePwd)
        } catch {
            throw .malformed(reason: "answer parameters: \(error.reason)")
        }
        guard let fingerprint = Fingerprint.normalizedHex(fingerprintSHA256, byteCount: 32) else {
            throw .malformed(reason: "answer parameters: fingerprint is not 32 colon-separated hex bytes")
        }
        guard SDPToken.isVisibleField(cname), cname.utf8.count <= 255 else {
            throw .malformed(reason: "answer parameters: cname must be 1 to 255 visible characters without spaces")
        }
        // RFC 8830: msid-id = 1*64token-char
        guard SDPToken.isToken(streamID), streamID.utf8.count <= 64 else {
            throw .malformed(reason: "answer parameters: streamID must be 1 to 64 token characters")
        }
        for candidate in candidates {
            guard IPAddressLiteral.isIPv4(candidate.host) || IPAddressLiteral.isIPv6(candidate.host) else {
                throw .malformed(reason: "answer parameters: candidate host \"\(candidate.host.prefix(64))\" is not an IP literal")
            }
            guard (1...65535).contains(candidate.port) else {
                throw .malformed(reason: "answer parameters: candidate port \(candidate.port) is not 1-65535")
            }
        }
        return fingerprint
    }
}

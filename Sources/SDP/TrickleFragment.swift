/// An `application/trickle-ice-sdpfrag` body (RFC 8840 §9) sent by PATCH to a WHEP session.
/// New credentials in it mean the viewer restarts ICE.
public struct TrickleFragment: Equatable, Hashable, Sendable {
    public struct Candidate: Equatable, Hashable, Sendable {
        /// The mid of the m-line the candidate was listed under, if any.
        public var mid: String?
        /// The value after `a=candidate:`, verbatim.
        public var value: String

        public init(mid: String?, value: String) {
            self.mid = mid
            self.value = value
        }
    }

    public var iceUfrag: String?
    public var icePwd: String?
    public var candidates: [Candidate]
    public var endOfCandidates: Bool

    public init(iceUfrag: String?, icePwd: String?, candidates: [Candidate], endOfCandidates: Bool) {
        self.iceUfrag = iceUfrag
        self.icePwd = icePwd
        self.candidates = candidates
        self.endOfCandidates = endOfCandidates
    }

    /// Whether the fragment carries credentials other than the session's, which signals an ICE restart.
    public func isICERestart(currentUfrag: String, currentPwd: String) -> Bool {
        (iceUfrag != nil && iceUfrag != currentUfrag) || (icePwd != nil && icePwd != currentPwd)
    }

    static func parse(_ text: String) throws(SDPError) -> TrickleFragment {
        let lines = try SDPLineReader.lines(of: text)
        var fragment = TrickleFragment(iceUfrag: nil, icePwd: nil, candidates: [], endOfCandidates: false)
        var mid: String?
        var mediaCount = 0
        for line in lines {
            switch line.type {
            case "m":
                mediaCount += 1
                guard mediaCount <= SDPLimits.maxMediaSections else {
                    throw .malformed(reason: "SDP fragment has more than \(SDPLimits.maxMediaSections) m-lines")
                }
                _ = try MediaDescription(parsingMediaLine: line.value, index: mediaCount)
                mid = nil
            case "a":
                let attribute = try SDPAttribute(parsing: line.value, line: line.number)
                let value = attribute.value ?? ""
                switch attribute.name {
                case "ice-ufrag":
                    try ICECredentials.validateUfrag(value)
                    guard fragment.iceUfrag == nil || fragment.iceUfrag == value else {
                        throw .malformed(reason: "SDP fragment has two different ice-ufrag values")
                    }
                    fragment.iceUfrag = value
                case "ice-pwd":
                    try ICECredentials.validatePwd(value)
                    guard fragment.icePwd == nil || fragment.icePwd == value else {
                        throw .malformed(reason: "SDP fragment has two different ice-pwd values")
                    }
                    fragment.icePwd = value
                case "mid":
                    guard SDPToken.isToken(value), value.utf8.count <= 64 else {
                        throw .malformed(reason: "line \(line.number) has an invalid mid")
                    }
                    mid = value
                case "candidate":
                    try CandidateLine.validate(value)
                    fragment.candidates.append(Candidate(mid: mid, value: value))
                case "end-of-candidates": fragment.endOfCandidates = true
                default: break
                }
            default:
                throw .malformed(reason: "line \(line.number): \"\(line.type)=\" is not allowed in an SDP fragment")
            }
        }
        return fragment
    }
}

extension WHEPOffer {
    /// Parses a trickle PATCH body; errors follow the offer's (malformed → 400).
    public static func candidates(fromTrickleFragment text: String) throws(SDPError) -> TrickleFragment {
        try TrickleFragment.parse(text)
    }
}

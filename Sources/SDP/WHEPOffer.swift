/// A viewer's WHEP offer, checked for what an ICE-lite, DTLS-passive sender needs before any answer is written.
public struct WHEPOffer: Equatable, Hashable, Sendable {
    public var sessionDescription: SessionDescription
    /// Credentials of the transport every bundled section shares: those of the BUNDLE-tagged section,
    /// falling back to session level.
    public var iceUfrag: String
    public var icePwd: String
    /// The sha-256 fingerprint of that transport, the one the DTLS handshake is checked against.
    public var fingerprint: Fingerprint
    /// Every fingerprint given for that transport (aiortc also sends sha-384 and sha-512).
    public var fingerprints: [Fingerprint]
    public var setup: SetupRole
    /// The mids of each `a=group:BUNDLE`, in order.
    public var bundleGroups: [[String]]
    public var media: [OfferedMedia]
    /// Every `a=candidate` value of the offer, session level first, then section by section.
    public var candidates: [String]
    public var extmapAllowMixed: Bool

    /// The first BUNDLE group: JSEP offers have exactly one.
    public var bundle: [String]? { bundleGroups.first }

    public static func parse(_ text: String) throws(SDPError) -> WHEPOffer {
        try WHEPOffer(SessionDescription.parse(text))
    }

    public init(_ description: SessionDescription) throws(SDPError) {
        guard !description.media.isEmpty else {
            throw .malformed(reason: "offer has no m-line")
        }
        sessionDescription = description
        var media: [OfferedMedia] = []
        var mids: Set<String> = []
        for (index, section) in description.media.enumerated() {
            let offered = try OfferedMedia(section, index: index)
            if let mid = offered.mid, !mids.insert(mid).inserted {
                throw .malformed(reason: "mid \"\(mid)\" is used by two m-lines")
            }
            media.append(offered)
        }
        self.media = media

        var sessionUfrag: String?
        var sessionPwd: String?
        var sessionSetup: SetupRole?
        var sessionFingerprints: [Fingerprint] = []
        var groups: [[String]] = []
        var sessionCandidates: [String] = []
        for attribute in description.attributes {
            let value = attribute.value ?? ""
            switch attribute.name {
            case "ice-ufrag":
                guard sessionUfrag == nil else { throw .malformed(reason: "session has two ice-ufrag attributes") }
                try ICECredentials.validateUfrag(value)
                sessionUfrag = value
            case "ice-pwd":
                guard sessionPwd == nil else { throw .malformed(reason: "session has two ice-pwd attributes") }
                try ICECredentials.validatePwd(value)
                sessionPwd = value
            case "fingerprint": sessionFingerprints.append(try Fingerprint(parsing: value))
            case "setup":
                guard sessionSetup == nil else { throw .malformed(reason: "session has two setup attributes") }
                sessionSetup = try OfferedMedia.setupRole(value)
            case "group":
                let fields = SDPToken.fields(value)
                guard fields[0] == "BUNDLE" else { continue }
                let groupMids = fields.dropFirst().map(String.init)
                for mid in groupMids where !mids.contains(mid) {
                    throw .malformed(reason: "BUNDLE group names mid \"\(mid.prefix(64))\" that no m-line has")
                }
                groups.append(groupMids)
            case "candidate":
                try CandidateLine.validate(value)
                sessionCandidates.append(value)
            default: break
            }
        }
        bundleGroups = groups
        candidates = sessionCandidates + media.flatMap(\.candidates)
        extmapAllowMixed = description.hasAttribute("extmap-allow-mixed")
            || description.media.contains { $0.hasAttribute("extmap-allow-mixed") }

        // The BUNDLE-tagged section (first mid of the group) carries the shared transport (RFC 8843 §7.3.2).
        let transport = groups.first?.first.flatMap { mid in media.first { $0.mid == mid } }
            ?? media.first { !$0.isRejected } ?? media[0]
        guard let ufrag = transport.iceUfrag ?? sessionUfrag else {
            throw .malformed(reason: "ice-ufrag missing")
        }
        guard let pwd = transport.icePwd ?? sessionPwd else {
            throw .malformed(reason: "ice-pwd missing")
        }
        iceUfrag = ufrag
        icePwd = pwd
        fingerprints = transport.fingerprints.isEmpty ? sessionFingerprints : transport.fingerprints
        guard !fingerprints.isEmpty else {
            throw .malformed(reason: "fingerprint missing")
        }
        guard let sha256 = fingerprints.first(where: { $0.algorithm == "sha-256" }) else {
            throw .unsupported(reason: "offer has no sha-256 fingerprint")
        }
        fingerprint = sha256
        guard let role = transport.setup ?? sessionSetup else {
            throw .malformed(reason: "setup missing")
        }
        switch role {
        case .actpass, .active: setup = role
        case .passive: throw .unsupported(reason: "offer's setup is passive; LiveRelay is DTLS passive too")
        case .holdconn: throw .unsupported(reason: "offer's setup is holdconn")
        }
    }
}

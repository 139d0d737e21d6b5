/// One m-section of an offer, reduced to what the answer and the transport need.
public struct OfferedMedia: Equatable, Hashable, Sendable {
    /// Position in the offer, 0-based; the answer keeps every section at its position (JSEP §5.3.1).
    public var index: Int
    public var kind: MediaKind
    /// The media token as written, echoed in a rejecting answer.
    public var mediaToken: String
    /// 0 means the offerer rejected or removed the section.
    public var port: UInt16
    public var proto: String
    public var formats: [String]
    public var mid: String?
    public var direction: MediaDirection
    /// In m-line order, which is the offerer's preference order; empty for non-RTP sections.
    public var payloadTypes: [OfferedPayloadType]
    public var extensions: [HeaderExtension]
    public var rtcpMux: Bool
    public var rtcpReducedSize: Bool
    public var iceUfrag: String?
    public var icePwd: String?
    public var fingerprints: [Fingerprint]
    public var setup: SetupRole?
    /// `a=candidate` values, verbatim (without the `candidate:` name).
    public var candidates: [String]
    public var endOfCandidates: Bool

    public var isRejected: Bool { port == 0 }

    /// Whether the protocol carries RTP, in which case formats are payload type numbers.
    public var isRTP: Bool { Self.isRTP(proto) }

    public func payloadType(_ number: UInt8) -> OfferedPayloadType? {
        payloadTypes.first { $0.number == number }
    }

    public func headerExtension(uri: String) -> HeaderExtension? {
        extensions.first { $0.uri == uri }
    }

    static func isRTP(_ proto: String) -> Bool {
        proto.uppercased().split(separator: "/").contains("RTP")
    }

    init(_ section: MediaDescription, index: Int) throws(SDPError) {
        let number = index + 1
        self.index = index
        kind = MediaKind(token: section.media)
        mediaToken = section.media
        port = section.port
        proto = section.proto
        formats = section.formats
        mid = nil
        direction = .sendrecv
        payloadTypes = []
        extensions = []
        rtcpMux = false
        rtcpReducedSize = false
        iceUfrag = nil
        icePwd = nil
        fingerprints = []
        setup = nil
        candidates = []
        endOfCandidates = false

        let rtp = Self.isRTP(section.proto)
        if rtp {
            for format in section.formats {
                guard let pt = Self.payloadTypeNumber(format) else {
                    throw .malformed(reason: "m-line \(number) has non-numeric payload type \"\(format)\"")
                }
                guard payloadType(pt) == nil else {
                    throw .malformed(reason: "m-line \(number) lists payload type \(pt) twice")
                }
                payloadTypes.append(OfferedPayloadType(number: pt))
            }
        }
        var sawDirection = false
        var wildcardFeedback: [String] = []
        var rtpmapSeen: Set<UInt8> = []
        for attribute in section.attributes {
            let value = attribute.value ?? ""
            switch attribute.name {
            case "mid":
                guard mid == nil else { throw .malformed(reason: "m-line \(number) has two mid attributes") }
                guard SDPToken.isToken(value), value.utf8.count <= 64 else {
                    throw .malformed(reason: "m-line \(number) has an invalid mid")
                }
                mid = value
            case "sendrecv", "sendonly", "recvonly", "inactive":
                guard !sawDirection else {
                    throw .malformed(reason: "m-line \(number) has more than one direction attribute")
                }
                sawDirection = true
                direction = MediaDirection(rawValue: attribute.name)!
            case "rtcp-mux": rtcpMux = true
            case "rtcp-rsize": rtcpReducedSize = true
            case "ice-ufrag":
                guard iceUfrag == nil else { throw .malformed(reason: "m-line \(number) has two ice-ufrag attributes") }
                try ICECredentials.validateUfrag(value)
                iceUfrag = value
            case "ice-pwd":
                guard icePwd == nil else { throw .malformed(reason: "m-line \(number) has two ice-pwd attributes") }
                try ICECredentials.validatePwd(value)
                icePwd = value
            case "fingerprint": fingerprints.append(try Fingerprint(parsing: value))
            case "setup":
                guard setup == nil else { throw .malformed(reason: "m-line \(number) has two setup attributes") }
                setup = try Self.setupRole(value)
            case "candidate":
                try CandidateLine.validate(value)
                candidates.append(value)
            case "end-of-candidates": endOfCandidates = true
            case "extmap":
                let headerExtension = try HeaderExtension(parsing: value, mediaIndex: number)
                guard !extensions.contains(where: { $0.id == headerExtension.id }) else {
                    throw .malformed(reason: "m-line \(number) uses extmap id \(headerExtension.id) twice")
                }
                extensions.append(headerExtension)
            case "rtpmap" where rtp:
                let (pt, rest) = try Self.splitPayloadType(value, attribute: "rtpmap", number: number)
                guard rtpmapSeen.insert(pt).inserted else {
                    throw .malformed(reason: "m-line \(number) has two rtpmap lines for payload type \(pt)")
                }
                let encoding = try Self.encoding(rest, number: number)
                update(pt) {
                    $0.encodingName = encoding.name
                    $0.clockRate = encoding.clockRate
                    $0.channels = encoding.channels
                }
            case "fmtp" where rtp:
                let (pt, rest) = try Self.splitPayloadType(value, attribute: "fmtp", number: number)
                update(pt) { $0.formatParameters = rest }
            case "rtcp-fb" where rtp:
                let fields = value.split(separator: " ", maxSplits: 1)
                guard fields.count == 2, !fields[1].trimmingSpaces.isEmpty else {
                    throw .malformed(reason: "m-line \(number): rtcp-fb must be <payload type> <feedback>")
                }
                let feedback = String(fields[1].trimmingSpaces)
                if fields[0] == "*" {
                    wildcardFeedback.append(feedback)
                } else {
                    guard let pt = Self.payloadTypeNumber(fields[0]) else {
                        throw .malformed(reason: "m-line \(number): rtcp-fb payload type \"\(fields[0])\" is not 0-127")
                    }
                    update(pt) { $0.feedback.append(feedback) }
                }
            default: break
            }
        }
        if !wildcardFeedback.isEmpty {
            for position in payloadTypes.indices {
                payloadTypes[position].feedback += wildcardFeedback.filter { !payloadTypes[position].feedback.contains($0) }
            }
        }
    }

    /// Attributes for payload types missing from the m-line are ignored, as RFC 8866 §6.6 allows.
    private mutating func update(_ pt: UInt8, _ change: (inout OfferedPayloadType) -> Void) {
        if let position = payloadTypes.firstIndex(where: { $0.number == pt }) {
            change(&payloadTypes[position])
        }
    }

    static func payloadTypeNumber(_ text: some StringProtocol) -> UInt8? {
        guard text.utf8.count <= 3, let value = SDPToken.decimal(text, as: UInt8.self), value <= 127 else { return nil }
        return value
    }

    static func setupRole(_ value: String) throws(SDPError) -> SetupRole {
        guard let role = SetupRole(rawValue: value.lowercased()) else {
            throw .malformed(reason: "setup \"\(value.prefix(32))\" is not actpass, active, passive or holdconn")
        }
        return role
    }

    private static func splitPayloadType(_ value: String, attribute: String, number: Int) throws(SDPError) -> (UInt8, String) {
        let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard fields.count == 2, let pt = payloadTypeNumber(fields[0]) else {
            throw .malformed(reason: "m-line \(number): \(attribute) must start with a payload type 0-127")
        }
        return (pt, String(fields[1]))
    }

    /// `<encoding name>/<clock rate>[/<channels>]`
    private static func encoding(_ text: String, number: Int) throws(SDPError) -> (name: String, clockRate: UInt32, channels: UInt8?) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), SDPToken.isToken(parts[0]),
              let clockRate = SDPToken.decimal(parts[1], as: UInt32.self) else {
            throw .malformed(reason: "m-line \(number): rtpmap \"\(text.prefix(40))\" is not <name>/<clock rate>[/<channels>]")
        }
        var channels: UInt8?
        if parts.count == 3 {
            guard let count = SDPToken.decimal(parts[2], as: UInt8.self), count > 0 else {
                throw .malformed(reason: "m-line \(number): rtpmap channel count \"\(parts[2])\" is invalid")
            }
            channels = count
        }
        return (String(parts[0]), clockRate, channels)
    }
}

import NIOCore
import SDP

/// One `a=candidate` of the answer, the parts a controlling agent needs to pick a pair.
struct RemoteCandidate: Sendable, Hashable {
    var address: SocketAddress
    var host: String
    var port: Int
    var priority: UInt32
    var type: String

    /// `<foundation> <component> <transport> <priority> <address> <port> typ <type> ...` (RFC 8839 §5.1);
    /// only component 1 over UDP with an IP literal is usable (no RTCP component: rtcp-mux is offered).
    init?(attribute value: String) {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 8, fields[1] == "1", fields[2].lowercased() == "udp", fields[6] == "typ",
              let priority = UInt32(fields[3]), let port = Int(fields[5]), (1...65535).contains(port),
              let address = try? SocketAddress(ipAddress: String(fields[4]), port: port)
        else { return nil }
        self.address = address
        self.host = String(fields[4])
        self.port = port
        self.priority = priority
        self.type = String(fields[7])
    }
}

/// What the load generator takes from a WHEP answer: the server's ICE credentials, DTLS fingerprint and role,
/// its candidates, and which payload types and SSRCs carry video, RTX and audio. Read with the project's SDP
/// parser, but nothing here assumes the answer came from LiveRelay.
struct WHEPAnswerSummary: Sendable {
    var iceUfrag: String
    var icePassword: String
    /// The sha-256 `a=fingerprint` value.
    var fingerprint: String
    /// `a=setup`: "passive" (we are the DTLS client, as with LiveRelay) or "active".
    var setup: String
    var candidates: [RemoteCandidate]
    var videoPayloadType: UInt8?
    var rtxPayloadType: UInt8?
    var audioPayloadType: UInt8?
    var videoSSRC: UInt32?
    var rtxSSRC: UInt32?
    var audioSSRC: UInt32?
    /// The transport-wide sequence number extension id, when the server accepted it.
    var transportCCExtensionID: UInt8?

    static func parse(_ text: String) -> Result<WHEPAnswerSummary, AnswerProblem> {
        let description: SessionDescription
        do {
            description = try SessionDescription.parse(text)
        } catch {
            return .failure(AnswerProblem(reason: "SDP: \(error.reason)"))
        }
        let live = description.media.filter { $0.port != 0 }
        func first(_ name: String) -> String? {
            for media in live { if let value = media.attribute(name) { return value } }
            return description.attribute(name)
        }
        guard let ufrag = first("ice-ufrag"), let password = first("ice-pwd") else {
            return .failure(AnswerProblem(reason: "no ice-ufrag/ice-pwd"))
        }
        let fingerprints = live.flatMap { $0.attributes(named: "fingerprint") } + description.attributes(named: "fingerprint")
        guard let fingerprint = fingerprints.lazy.compactMap(Self.sha256Value).first else {
            return .failure(AnswerProblem(reason: "no sha-256 fingerprint"))
        }
        var seen = Set<String>()
        let candidateLines = (live.flatMap { $0.attributes(named: "candidate") } + description.attributes(named: "candidate"))
            .filter { seen.insert($0).inserted }

        var summary = WHEPAnswerSummary(iceUfrag: ufrag, icePassword: password, fingerprint: fingerprint,
                                        setup: first("setup") ?? "passive",
                                        candidates: candidateLines.compactMap(RemoteCandidate.init(attribute:)))
        if let video = live.first(where: { $0.media == "video" }) {
            let codecs = Self.codecs(video)
            summary.videoPayloadType = codecs.first { $0.name == "vp8" }?.payloadType
            if let vp8 = summary.videoPayloadType {
                summary.rtxPayloadType = video.attributes(named: "fmtp").lazy.compactMap { line -> UInt8? in
                    let parts = line.split(separator: " ", maxSplits: 1)
                    guard parts.count == 2, parts[1].contains("apt=\(vp8)"), let type = UInt8(parts[0]),
                          codecs.contains(where: { $0.payloadType == type && $0.name == "rtx" }) else { return nil }
                    return type
                }.first
            }
            let ssrcs = Self.ssrcs(video)
            summary.rtxSSRC = video.attributes(named: "ssrc-group").lazy.compactMap { line -> UInt32? in
                let parts = line.split(separator: " ")
                return parts.count == 3 && parts[0] == "FID" ? UInt32(parts[2]) : nil
            }.first
            summary.videoSSRC = ssrcs.first { $0 != summary.rtxSSRC }
            summary.transportCCExtensionID = Self.extensionID(video, uri: HeaderExtension.transportCCURI)
        }
        if let audio = live.first(where: { $0.media == "audio" }) {
            summary.audioPayloadType = Self.codecs(audio).first { $0.name == "opus" }?.payloadType
            summary.audioSSRC = Self.ssrcs(audio).first
        }
        return .success(summary)
    }

    /// The candidate to check: `preferredHost` when the answer lists it, else the highest-priority one of
    /// `family` (the address family the viewer's socket and the target share).
    func candidate(preferredHost: String?, family: NIOBSDSocket.ProtocolFamily) -> RemoteCandidate? {
        let usable = candidates.filter { $0.address.protocol == family }
        if let preferredHost, let exact = usable.first(where: { $0.host == preferredHost }) { return exact }
        let hosts = usable.filter { $0.type == "host" }
        return (hosts.isEmpty ? usable : hosts).max { $0.priority < $1.priority }
    }

    private static func sha256Value(_ attribute: String) -> String? {
        let parts = attribute.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "sha-256" else { return nil }
        return String(parts[1])
    }

    private static func codecs(_ media: MediaDescription) -> [(payloadType: UInt8, name: String)] {
        media.attributes(named: "rtpmap").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let type = UInt8(parts[0]), let name = parts[1].split(separator: "/").first else { return nil }
            return (type, name.lowercased())
        }
    }

    private static func ssrcs(_ media: MediaDescription) -> [UInt32] {
        var seen = Set<UInt32>()
        return media.attributes(named: "ssrc").compactMap { line in
            line.split(separator: " ").first.flatMap { UInt32($0) }
        }.filter { seen.insert($0).inserted }
    }

    private static func extensionID(_ media: MediaDescription, uri: String) -> UInt8? {
        media.attributes(named: "extmap").lazy.compactMap { line -> UInt8? in
            let parts = line.split(separator: " ")
            guard parts.count >= 2, parts[1] == uri else { return nil }
            return UInt8(parts[0].split(separator: "/").first ?? "")
        }.first
    }
}

struct AnswerProblem: Error, Sendable {
    var reason: String
}

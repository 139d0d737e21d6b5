/// One viewer's ICE identity: its credentials for the offer and the tie-breaker it sends as controlling agent.
struct ViewerCredentials: Sendable {
    var ufrag: String
    var password: String
    var tieBreaker: UInt64
    /// Our SSRC in the RTCP we send (receiver reports and feedback).
    var rtcpSSRC: UInt32

    static func random() -> ViewerCredentials {
        var generator = SystemRandomNumberGenerator()
        return ViewerCredentials(ufrag: iceString(length: 8, using: &generator),
                                 password: iceString(length: 24, using: &generator),
                                 tieBreaker: generator.next(), rtcpSSRC: UInt32.random(in: 1...UInt32.max, using: &generator))
    }

    /// ice-char only (RFC 8839 §5.4): letters, digits, "+" and "/".
    private static func iceString(length: Int, using generator: inout some RandomNumberGenerator) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

/// The offer a receive-only browser-like client makes (the shape aiortc sends): recvonly VP8 with RTX and Opus,
/// bundled on one rtcp-mux transport, mid and abs-send-time extensions, NACK/PLI/REMB feedback offered; with
/// transport-cc also its extension and feedback type. Candidates are not listed: an ICE-lite server learns the
/// viewer's address from its checks, and a full agent from the peer-reflexive candidate those checks create.
enum ViewerOffer {
    static let videoPayloadType = 97
    static let rtxPayloadType = 98
    static let audioPayloadType = 111
    static let transportCCExtensionID = 3

    static func make(credentials: ViewerCredentials, fingerprint: String, transportCC: Bool) -> String {
        let session = UInt64.random(in: 1...UInt64(Int64.max))
        var lines = [
            "v=0", "o=- \(session) \(session) IN IP4 0.0.0.0", "s=-", "t=0 0",
            "a=group:BUNDLE 0 1", "a=msid-semantic:WMS *",
        ]
        let transport = [
            "a=ice-ufrag:\(credentials.ufrag)", "a=ice-pwd:\(credentials.password)",
            "a=fingerprint:sha-256 \(fingerprint)", "a=setup:actpass",
        ]
        let transportCCExtension = "a=extmap:\(transportCCExtensionID) http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

        lines += [
            "m=video 9 UDP/TLS/RTP/SAVPF \(videoPayloadType) \(rtxPayloadType)", "c=IN IP4 0.0.0.0",
            "a=recvonly", "a=mid:0", "a=rtcp:9 IN IP4 0.0.0.0", "a=rtcp-mux",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        ]
        if transportCC { lines.append(transportCCExtension) }
        lines += [
            "a=rtpmap:\(videoPayloadType) VP8/90000", "a=rtcp-fb:\(videoPayloadType) nack",
            "a=rtcp-fb:\(videoPayloadType) nack pli", "a=rtcp-fb:\(videoPayloadType) goog-remb",
        ]
        if transportCC { lines.append("a=rtcp-fb:\(videoPayloadType) transport-cc") }
        lines += ["a=rtpmap:\(rtxPayloadType) rtx/90000", "a=fmtp:\(rtxPayloadType) apt=\(videoPayloadType)"]
        lines += transport

        lines += [
            "m=audio 9 UDP/TLS/RTP/SAVPF \(audioPayloadType)", "c=IN IP4 0.0.0.0",
            "a=recvonly", "a=mid:1", "a=rtcp:9 IN IP4 0.0.0.0", "a=rtcp-mux",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        ]
        if transportCC { lines.append(transportCCExtension) }
        lines += ["a=rtpmap:\(audioPayloadType) opus/48000/2"]
        if transportCC { lines.append("a=rtcp-fb:\(audioPayloadType) transport-cc") }
        lines += transport
        return (lines + [""]).joined(separator: "\r\n")
    }
}

import SDP
import Testing
import TestSupport

@Suite("WHEP answer")
struct WHEPAnswerTests {
    static let fingerprint = "0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9"
    static let parameters = AnswerParameters(
        iceUfrag: "LRvw", icePwd: "0123456789abcdefABCDEF+/", fingerprintSHA256: fingerprint,
        candidates: [ICECandidate(host: "192.0.2.10", port: 5004), ICECandidate(host: "2001:db8::10", port: 5004)],
        videoSSRC: 1111, videoRTXSSRC: 2222, audioSSRC: 3333, cname: "liverelay", streamID: "live",
        sessionID: 7_000_000_000)

    static func answer(_ text: String, _ parameters: AnswerParameters = parameters) throws -> (sdp: String, session: NegotiatedSession) {
        try WHEPAnswer.make(offer: WHEPOffer.parse(text), parameters: parameters)
    }

    /// Checked byte for byte: what the viewer's browser reads.
    @Test func aiortcAnswerText() throws {
        let transport = """
        c=IN IP4 0.0.0.0\r
        a=rtcp:9 IN IP4 0.0.0.0\r
        a=candidate:1 1 udp 2130706431 192.0.2.10 5004 typ host\r
        a=candidate:2 1 udp 2130706175 2001:db8::10 5004 typ host\r
        a=end-of-candidates\r
        a=ice-ufrag:LRvw\r
        a=ice-pwd:0123456789abcdefABCDEF+/\r
        a=fingerprint:sha-256 \(Self.fingerprint.uppercased())\r
        a=setup:passive\r

        """
        let expected = """
        v=0\r
        o=- 7000000000 2 IN IP4 127.0.0.1\r
        s=-\r
        t=0 0\r
        a=ice-lite\r
        a=group:BUNDLE 0 1\r
        a=msid-semantic: WMS live\r
        m=video 9 UDP/TLS/RTP/SAVPF 97 98\r

        """ + transport + """
        a=mid:0\r
        a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r
        a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
        a=sendonly\r
        a=msid:live video\r
        a=rtcp-mux\r
        a=rtpmap:97 VP8/90000\r
        a=rtcp-fb:97 nack\r
        a=rtcp-fb:97 nack pli\r
        a=rtcp-fb:97 goog-remb\r
        a=rtpmap:98 rtx/90000\r
        a=fmtp:98 apt=97\r
        a=ssrc-group:FID 1111 2222\r
        a=ssrc:1111 cname:liverelay\r
        a=ssrc:1111 msid:live video\r
        a=ssrc:2222 cname:liverelay\r
        a=ssrc:2222 msid:live video\r
        m=audio 9 UDP/TLS/RTP/SAVPF 96\r

        """ + transport + """
        a=mid:1\r
        a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r
        a=sendonly\r
        a=msid:live audio\r
        a=rtcp-mux\r
        a=rtpmap:96 opus/48000/2\r
        a=fmtp:96 minptime=10;useinbandfec=1\r
        a=ssrc:3333 cname:liverelay\r
        a=ssrc:3333 msid:live audio\r

        """
        let (sdp, session) = try Self.answer(CapturedOffers.aiortc)
        #expect(sdp == expected)
        #expect(session == NegotiatedSession(
            bundleMids: ["0", "1"],
            video: NegotiatedMedia(mid: "0", payloadType: 97, rtxPayloadType: 98, feedback: [.nack, .pli, .remb],
                                   extensionIDs: HeaderExtensionIDs(mid: 1, absSendTime: 3, transportCC: nil),
                                   direction: .sendonly, rtcpReducedSize: false),
            audio: NegotiatedMedia(mid: "1", payloadType: 96, rtxPayloadType: nil, feedback: [],
                                   extensionIDs: HeaderExtensionIDs(mid: 1), direction: .sendonly, rtcpReducedSize: false),
            remoteFingerprint: Fingerprint(algorithm: "sha-256", value:
                "E1:C6:1F:EF:FB:5B:28:FD:CC:FB:A1:CF:90:25:78:B7:E4:55:F4:79:83:94:C2:F7:D3:85:6D:65:44:6E:82:87"),
            remoteUfrag: "TJsu", remotePwd: "RWj8Q80vg7cIW7ypO4nB0b",
            remoteCandidates: try WHEPOffer.parse(CapturedOffers.aiortc).candidates))
    }

    @Test func chromiumNegotiation() throws {
        let session = try Self.answer(CapturedOffers.chromium).session
        #expect(session.bundleMids == ["0", "1"])
        #expect(session.video == NegotiatedMedia(mid: "0", payloadType: 96, rtxPayloadType: 97,
                                                 feedback: Set(RTCPFeedback.allCases),
                                                 extensionIDs: HeaderExtensionIDs(mid: 9, absSendTime: 2, transportCC: 4),
                                                 direction: .sendonly, rtcpReducedSize: true))
        #expect(session.audio == NegotiatedMedia(mid: "1", payloadType: 111, feedback: [.transportCC],
                                                 extensionIDs: HeaderExtensionIDs(mid: 9, absSendTime: 2, transportCC: 4),
                                                 direction: .sendonly, rtcpReducedSize: true))
        #expect(session.remoteUfrag == "nSTq")
        #expect(session.remoteCandidates.count == 4)
    }

    @Test func firefoxNegotiation() throws {
        let session = try Self.answer(CapturedOffers.firefox).session
        #expect(session.video == NegotiatedMedia(mid: "0", payloadType: 120, rtxPayloadType: 124,
                                                 feedback: Set(RTCPFeedback.allCases),
                                                 extensionIDs: HeaderExtensionIDs(mid: 3, absSendTime: 4, transportCC: 7),
                                                 direction: .sendonly, rtcpReducedSize: true))
        // Firefox also asks for transport-wide feedback on audio (extension 7 and `transport-cc` on every codec).
        #expect(session.audio == NegotiatedMedia(mid: "1", payloadType: 109, feedback: [.transportCC],
                                                 extensionIDs: HeaderExtensionIDs(mid: 3, transportCC: 7), direction: .sendonly))
        #expect(session.remoteFingerprint.value.hasPrefix("C7:65:1C"))
    }

    /// The checks every answer must pass, read back from the answer text itself.
    @Test(arguments: [CapturedOffers.aiortc, CapturedOffers.chromium, CapturedOffers.firefox])
    func answerToCapturedOffer(_ text: String) throws {
        let offer = try WHEPOffer.parse(text)
        let (sdp, session) = try WHEPAnswer.make(offer: offer, parameters: Self.parameters)
        let answer = try SessionDescription.parse(sdp)
        #expect(answer.serialized() == sdp)
        #expect(answer.hasAttribute("ice-lite"))
        #expect(answer.attribute("group") == "BUNDLE 0 1")
        #expect(answer.media.count == offer.media.count)
        #expect(answer.media.map { $0.attribute("mid") } == offer.media.map(\.mid))
        #expect(answer.media.map(\.media) == ["video", "audio"])

        for (section, offered) in zip(answer.media, offer.media) {
            let negotiated = section.media == "video" ? session.video! : session.audio!
            #expect(section.port == 9)
            #expect(section.attribute("setup") == "passive")
            #expect(section.attribute("fingerprint") == "sha-256 " + Self.fingerprint.uppercased())
            #expect(section.attribute("ice-ufrag") == "LRvw")
            #expect(section.attribute("ice-pwd") == "0123456789abcdefABCDEF+/")
            #expect(section.hasAttribute("sendonly"))
            #expect(section.hasAttribute("rtcp-mux"))
            #expect(section.hasAttribute("rtcp-rsize") == offered.rtcpReducedSize)
            #expect(section.attributes(named: "candidate") == ["1 1 udp 2130706431 192.0.2.10 5004 typ host",
                                                               "2 1 udp 2130706175 2001:db8::10 5004 typ host"])
            #expect(section.hasAttribute("end-of-candidates"))

            // Payload types are the offer's own numbers, with the codec the offer gave them.
            let pts = section.formats.map { UInt8($0)! }
            #expect(pts.first == negotiated.payloadType)
            for pt in pts {
                let mine = section.attributes(named: "rtpmap").first { $0.hasPrefix("\(pt) ") }!
                let theirs = offered.payloadType(pt)!
                #expect(mine.lowercased().hasPrefix("\(pt) \(theirs.encodingName!.lowercased())/\(theirs.clockRate!)"))
            }
            // Every feedback line was offered for that payload type.
            for line in section.attributes(named: "rtcp-fb") {
                let parts = line.split(separator: " ", maxSplits: 1)
                #expect(offered.payloadType(UInt8(parts[0])!)!.offersFeedback(String(parts[1])))
            }
            // Every extension id means in the answer what it meant in the offer.
            for line in section.attributes(named: "extmap") {
                let parts = line.split(separator: " ")
                let id = UInt8(parts[0].split(separator: "/")[0])!
                #expect(offered.extensions.first { $0.id == id }?.uri == String(parts[1]))
            }
        }
        #expect(session.video?.payloadType == offer.media[0].payloadTypes.first { $0.encodingName == "VP8" }?.number)
        #expect(session.audio?.payloadType == offer.media[1].payloadTypes.first { $0.encodingName == "opus" }?.number)
    }

    // MARK: Sections that are rejected or changed

    static let session = """
    v=0\r
    o=- 1 1 IN IP4 0.0.0.0\r
    s=-\r
    t=0 0\r
    a=ice-ufrag:abcd\r
    a=ice-pwd:abcdefghijklmnopqrstuv\r
    a=fingerprint:sha-256 E1:C6:1F:EF:FB:5B:28:FD:CC:FB:A1:CF:90:25:78:B7:E4:55:F4:79:83:94:C2:F7:D3:85:6D:65:44:6E:82:87\r
    a=setup:actpass\r

    """

    static func videoSection(mid: String, codec: String = "VP8/90000", direction: String = "recvonly") -> String {
        """
        m=video 9 UDP/TLS/RTP/SAVPF 96\r
        c=IN IP4 0.0.0.0\r
        a=mid:\(mid)\r
        a=\(direction)\r
        a=rtcp-mux\r
        a=rtpmap:96 \(codec)\r
        a=rtcp-fb:96 nack\r

        """
    }

    static func audioSection(mid: String, formats: String = "111", rtpmap: String = "a=rtpmap:111 opus/48000/2\r\n") -> String {
        "m=audio 9 UDP/TLS/RTP/SAVPF \(formats)\r\nc=IN IP4 0.0.0.0\r\na=mid:\(mid)\r\na=recvonly\r\na=rtcp-mux\r\n" + rtpmap
    }

    static let dataChannel = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n"

    static func offer(bundle: String?, _ sections: String...) -> String {
        session + (bundle.map { "a=group:BUNDLE \($0)\r\n" } ?? "") + sections.joined()
    }

    static func expect(_ text: String, throws error: SDPError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: error, sourceLocation: sourceLocation) { try answer(text) }
    }

    @Test func onlyH264IsUnsupported() {
        Self.expect(Self.offer(bundle: "0", Self.videoSection(mid: "0", codec: "H264/90000")),
                    throws: .unsupported(reason: "no VP8 or Opus in the offer"))
    }

    @Test func onlyG711IsUnsupported() {
        Self.expect(Self.offer(bundle: "0", Self.audioSection(mid: "0", formats: "0 8", rtpmap: "")),
                    throws: .unsupported(reason: "no VP8 or Opus in the offer"))
        Self.expect(Self.offer(bundle: "0", Self.audioSection(mid: "0", formats: "0 8",
                                                             rtpmap: "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n")),
                    throws: .unsupported(reason: "no VP8 or Opus in the offer"))
        // Opus in mono is not what the audio track sends.
        Self.expect(Self.offer(bundle: "0", Self.audioSection(mid: "0", rtpmap: "a=rtpmap:111 opus/48000\r\n")),
                    throws: .unsupported(reason: "no VP8 or Opus in the offer"))
    }

    @Test func dataChannelOnlyOffer() {
        Self.expect(Self.offer(bundle: "2", Self.dataChannel), throws: .unsupported(reason: "offer has no video or audio m-line"))
    }

    @Test func onlyRejectedMediaSections() {
        let text = Self.offer(bundle: nil, Self.videoSection(mid: "0").replacingOccurrences(of: "m=video 9 ", with: "m=video 0 "))
        Self.expect(text, throws: .unsupported(reason: "offer has no video or audio m-line"))
    }

    @Test func vp8WithoutRTCPMuxCannotBeCarried() {
        let text = Self.offer(bundle: "0", Self.videoSection(mid: "0").removingLines(startingWith: "a=rtcp-mux"))
        Self.expect(text, throws: .unsupported(
            reason: "no VP8 or Opus m-line uses UDP/TLS/RTP/SAVPF with rtcp-mux, a mid and BUNDLE"))
    }

    @Test func dataChannelAndDuplicateVideoAreRejectedInPlace() throws {
        let text = Self.offer(bundle: "0 1 2 3", Self.videoSection(mid: "0"), Self.audioSection(mid: "1"), Self.dataChannel,
                              Self.videoSection(mid: "3"))
        let (sdp, session) = try Self.answer(text)
        let answer = try SessionDescription.parse(sdp)
        #expect(session.bundleMids == ["0", "1"])
        #expect(answer.attribute("group") == "BUNDLE 0 1")
        #expect(answer.media.map(\.port) == [9, 9, 0, 0])
        #expect(answer.media.map { $0.attribute("mid") } == ["0", "1", "2", "3"])
        #expect(answer.media[2] == MediaDescription(media: "application", port: 0, proto: "UDP/DTLS/SCTP",
                                                    formats: ["webrtc-datachannel"], connections: [ConnectionData()],
                                                    attributes: [SDPAttribute("mid", "2"), SDPAttribute("inactive")]))
        #expect(answer.media[3].mediaLine == "video 0 UDP/TLS/RTP/SAVPF 96")
        #expect(answer.media[3].attributes == [SDPAttribute("mid", "3"), SDPAttribute("inactive")])
        // Without RTX offered the video section carries VP8 alone and no FID group.
        #expect(answer.media[0].formats == ["96"])
        #expect(session.video?.rtxPayloadType == nil)
        #expect(!answer.media[0].hasAttribute("ssrc-group"))
        #expect(answer.media[0].attributes(named: "ssrc") == ["1111 cname:liverelay", "1111 msid:live video"])
        // Nor generic NACK: a repair without RTX would reuse an SRTP nonce (docs/security.md, "SRTP nonces").
        #expect(answer.media[0].attributes(named: "rtcp-fb") == [])
        #expect(session.video?.feedback.contains(.nack) == false)
    }

    @Test func vp8InSecondVideoSectionIsUsed() throws {
        let text = Self.offer(bundle: "0 1", Self.videoSection(mid: "0", codec: "H264/90000"), Self.videoSection(mid: "1"))
        let (sdp, session) = try Self.answer(text)
        #expect(session.bundleMids == ["1"])
        #expect(try SessionDescription.parse(sdp).media.map(\.port) == [0, 9])
    }

    @Test func viewerThatDoesNotReceiveGetsInactive() throws {
        let text = Self.offer(bundle: "0 1", Self.videoSection(mid: "0", direction: "sendonly"), Self.audioSection(mid: "1"))
        let (sdp, session) = try Self.answer(text)
        let video = try SessionDescription.parse(sdp).media[0]
        #expect(session.video?.direction == .inactive)
        #expect(session.audio?.direction == .sendonly)
        #expect(session.bundleMids == ["0", "1"])
        #expect(video.hasAttribute("inactive"))
        #expect(!video.hasAttribute("sendonly"))
        #expect(video.attributes(named: "ssrc").isEmpty)
        #expect(video.attribute("msid") == nil)
    }

    @Test func withoutBundleOnlyOneSectionIsAccepted() throws {
        let (sdp, session) = try Self.answer(Self.offer(bundle: nil, Self.audioSection(mid: "0"), Self.videoSection(mid: "1")))
        let answer = try SessionDescription.parse(sdp)
        #expect(session.bundleMids == ["0"])
        #expect(session.video == nil)
        #expect(session.audio?.payloadType == 111)
        #expect(answer.attribute("group") == nil)
        #expect(answer.media.map(\.port) == [9, 0])
    }

    @Test func sectionOutsideBundleIsRejected() throws {
        let (sdp, session) = try Self.answer(Self.offer(bundle: "0", Self.videoSection(mid: "0"), Self.audioSection(mid: "1")))
        #expect(session.bundleMids == ["0"])
        #expect(session.audio == nil)
        #expect(try SessionDescription.parse(sdp).media.map(\.port) == [9, 0])
    }

    @Test func twoByteExtensionIDsAreLeftOut() throws {
        let text = CapturedOffers.chromium.replacingOccurrences(
            of: "a=extmap:4 http://www.ietf.org", with: "a=extmap:20 http://www.ietf.org")
        let (sdp, session) = try Self.answer(text)
        #expect(session.video?.extensionIDs == HeaderExtensionIDs(mid: 9, absSendTime: 2, transportCC: nil))
        #expect(!sdp.contains("transport-wide-cc"))
    }

    @Test func extensionDirectionsAreAnswered() throws {
        let text = CapturedOffers.firefox
            .replacingOccurrences(of: "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=extmap:4",
                                  with: "a=extmap:3/recvonly urn:ietf:params:rtp-hdrext:sdes:mid\r\na=extmap:4")
            .replacingOccurrences(of: "a=extmap:4 http", with: "a=extmap:4/sendonly http")
        let (sdp, session) = try Self.answer(text)
        let video = try SessionDescription.parse(sdp).media[0]
        #expect(video.attributes(named: "extmap") == [
            "3/sendonly urn:ietf:params:rtp-hdrext:sdes:mid",
            "7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"])
        #expect(session.video?.extensionIDs == HeaderExtensionIDs(mid: 3, absSendTime: nil, transportCC: 7))
    }

    // MARK: LiveRelay's own parameters

    @Test(arguments: [
        ("host", "answer parameters: candidate host \"example.com\" is not an IP literal"),
        ("zone", "answer parameters: candidate host \"fe80::1%eth0\" is not an IP literal"),
        ("octal", "answer parameters: candidate host \"010.0.0.1\" is not an IP literal"),
        ("doubleCompression", "answer parameters: candidate host \"1::2::3\" is not an IP literal"),
        ("port", "answer parameters: candidate port 0 is not 1-65535"),
        ("ufrag", "answer parameters: ice-ufrag must be 4 to 256 ice-chars (letters, digits, + or /)"),
        ("fingerprint", "answer parameters: fingerprint is not 32 colon-separated hex bytes"),
        ("cname", "answer parameters: cname must be 1 to 255 visible characters without spaces"),
        ("streamID", "answer parameters: streamID must be 1 to 64 token characters"),
    ])
    func invalidParameters(_ field: String, _ reason: String) {
        var parameters = Self.parameters
        switch field {
        case "host": parameters.candidates = [ICECandidate(host: "example.com", port: 5004)]
        case "zone": parameters.candidates = [ICECandidate(host: "fe80::1%eth0", port: 5004)]
        case "octal": parameters.candidates = [ICECandidate(host: "010.0.0.1", port: 5004)]
        case "doubleCompression": parameters.candidates = [ICECandidate(host: "1::2::3", port: 5004)]
        case "port": parameters.candidates = [ICECandidate(host: "192.0.2.1", port: 0)]
        case "ufrag": parameters.iceUfrag = "abc"
        case "fingerprint": parameters.fingerprintSHA256 = "AB:CD"
        case "cname": parameters.cname = "live\r\na=inject"
        default: parameters.streamID = "two words"
        }
        #expect(throws: SDPError.malformed(reason: reason)) { try Self.answer(CapturedOffers.chromium, parameters) }
    }

    @Test func ipLiteralsThatAreAccepted() throws {
        var parameters = Self.parameters
        parameters.candidates = ["127.0.0.1", "0.0.0.0", "::1", "::", "::ffff:192.0.2.1", "2001:db8:0:0:0:0:0:1", "fe80::"]
            .map { ICECandidate(host: $0, port: 65535) }
        let sdp = try Self.answer(CapturedOffers.chromium, parameters).sdp
        let candidates = try SessionDescription.parse(sdp).media[0].attributes(named: "candidate")
        #expect(candidates.count == 7)
        // Distinct foundations, strictly decreasing priorities.
        let fields = candidates.map { $0.split(separator: " ") }
        #expect(Set(fields.map { $0[0] }).count == 7)
        let priorities = fields.map { UInt32($0[3])! }
        #expect(zip(priorities, priorities.dropFirst()).allSatisfy { $0 > $1 })
    }
}

import SDP
import Testing
import TestSupport

@Suite("WHEP offer")
struct WHEPOfferTests {
    @Test func aiortcOffer() throws {
        let offer = try WHEPOffer.parse(CapturedOffers.aiortc)
        #expect(offer.iceUfrag == "TJsu")
        #expect(offer.icePwd == "RWj8Q80vg7cIW7ypO4nB0b")
        #expect(offer.fingerprint == Fingerprint(algorithm: "sha-256", value:
            "E1:C6:1F:EF:FB:5B:28:FD:CC:FB:A1:CF:90:25:78:B7:E4:55:F4:79:83:94:C2:F7:D3:85:6D:65:44:6E:82:87"))
        #expect(offer.fingerprints.map(\.algorithm) == ["sha-256", "sha-384", "sha-512"])
        #expect(offer.setup == .actpass)
        #expect(offer.bundle == ["0", "1"])
        #expect(offer.candidates.count == 4)
        #expect(offer.candidates[0] == "f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 38184 typ host")

        let video = offer.media[0]
        #expect(video.kind == .video)
        #expect(video.port == 38184)
        #expect(video.mid == "0")
        #expect(video.direction == .recvonly)
        #expect(video.rtcpMux)
        #expect(!video.rtcpReducedSize)
        #expect(video.payloadTypes.map(\.number) == [97, 98, 99, 100, 101, 102])
        #expect(video.payloadType(97) == OfferedPayloadType(number: 97, encodingName: "VP8", clockRate: 90000,
                                                           feedback: ["nack", "nack pli", "goog-remb"]))
        #expect(video.payloadType(98)?.formatParameter("apt") == "97")
        #expect(video.payloadType(99)?.formatParameters == "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f")
        #expect(video.extensions == [HeaderExtension(id: 1, uri: HeaderExtension.midURI),
                                     HeaderExtension(id: 3, uri: HeaderExtension.absSendTimeURI)])

        let audio = offer.media[1]
        #expect(audio.kind == .audio)
        #expect(audio.mid == "1")
        #expect(audio.payloadType(96)?.isCodec("opus", clockRate: 48000, channels: 2) == true)
        #expect(audio.payloadType(0) == OfferedPayloadType(number: 0, encodingName: "PCMU", clockRate: 8000))
        #expect(audio.extensions.map(\.id) == [1, 2])
    }

    @Test func chromiumOffer() throws {
        let offer = try WHEPOffer.parse(CapturedOffers.chromium)
        #expect(offer.iceUfrag == "nSTq")
        #expect(offer.icePwd == "koPIXaqvuGB41keybe2knOhE")
        #expect(offer.fingerprint.value.hasPrefix("D2:E8:F6:E9"))
        #expect(offer.extmapAllowMixed)
        #expect(offer.media.map(\.mid) == ["0", "1"])
        let video = offer.media[0]
        #expect(video.payloadTypes.count == 34)
        #expect(video.rtcpReducedSize)
        #expect(video.payloadType(96)?.feedback == ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"])
        #expect(video.payloadType(45)?.encodingName == "AV1")
        #expect(video.headerExtension(uri: HeaderExtension.transportCCURI)?.id == 4)
        #expect(video.headerExtension(uri: HeaderExtension.midURI)?.id == 9)
        let audio = offer.media[1]
        #expect(audio.payloadType(111)?.feedback == ["transport-cc"])
        #expect(audio.payloadType(111)?.formatParameters == "minptime=10;useinbandfec=1")
        #expect(audio.payloadType(63)?.channels == 2)
        #expect(audio.headerExtension(uri: HeaderExtension.absSendTimeURI)?.id == 2)
        #expect(offer.candidates.allSatisfy { $0.contains(".local ") })
    }

    @Test func firefoxOffer() throws {
        let offer = try WHEPOffer.parse(CapturedOffers.firefox)
        // Firefox's fingerprint is at session level, the ICE credentials and setup in each section.
        #expect(offer.fingerprint.value.hasPrefix("C7:65:1C"))
        #expect(offer.iceUfrag == "4ea45e81")
        #expect(offer.setup == .actpass)
        let video = offer.media[0]
        #expect(video.extensions.first { $0.id == 6 } == HeaderExtension(id: 6, direction: .recvonly,
            uri: "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"))
        #expect(video.payloadType(120)?.formatParameters == "max-fs=12288;max-fr=60")
        #expect(video.payloadType(124)?.formatParameter("apt") == "120")
        #expect(offer.media[1].payloadType(109)?.formatParameter("stereo") == "1")
        #expect(offer.media[1].payloadType(9)?.channels == 1)
        // Host candidates for RTP and RTCP over UDP and TCP, IPv4 and IPv6, repeated in each section.
        #expect(offer.candidates.contains { $0.contains("0 1 UDP 2122187007 192.0.2.2 38406 typ host") }, "\(offer.candidates)")
        #expect(offer.candidates.contains { $0.contains(" fd00::2 ") })
    }

    @Test func wildcardFeedbackAppliesToEveryPayloadType() throws {
        let text = CapturedOffers.aiortc.replacingOccurrences(of: "a=rtcp-fb:97 goog-remb\r\n",
                                                              with: "a=rtcp-fb:* transport-cc\r\na=rtcp-fb:97 goog-remb\r\n")
        let video = try WHEPOffer.parse(text).media[0]
        #expect(video.payloadType(97)?.feedback == ["nack", "nack pli", "goog-remb", "transport-cc"])
        #expect(video.payloadType(98)?.feedback == ["transport-cc"])
    }

    @Test func lowercaseFingerprintIsNormalised() throws {
        let upper = "E1:C6:1F:EF:FB:5B:28:FD:CC:FB:A1:CF:90:25:78:B7:E4:55:F4:79:83:94:C2:F7:D3:85:6D:65:44:6E:82:87"
        let text = CapturedOffers.aiortc.replacingOccurrences(of: "sha-256 " + upper, with: "SHA-256 " + upper.lowercased())
        let offer = try WHEPOffer.parse(text)
        #expect(offer.fingerprint == Fingerprint(algorithm: "sha-256", value: upper))
    }

    @Test func activeSetupIsAccepted() throws {
        let text = CapturedOffers.chromium.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:active")
        #expect(try WHEPOffer.parse(text).setup == .active)
    }

    @Test func mediaLevelCredentialsOverrideSessionLevel() throws {
        let text = CapturedOffers.firefox.replacingOccurrences(of: "a=ice-options:trickle\r\n",
                                                               with: "a=ice-ufrag:sessionlevel\r\na=ice-options:trickle\r\n")
        #expect(try WHEPOffer.parse(text).iceUfrag == "4ea45e81")
        let sessionOnly = text.removingLines(startingWith: "a=ice-ufrag:4ea45e81")
        #expect(try WHEPOffer.parse(sessionOnly).iceUfrag == "sessionlevel")
    }

    // MARK: Refused offers

    static func expect(_ text: String, throws error: SDPError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: error, sourceLocation: sourceLocation) { try WHEPOffer.parse(text) }
    }

    @Test func noMediaLines() {
        let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\n"
        Self.expect(text, throws: .malformed(reason: "offer has no m-line"))
    }

    @Test func noFingerprint() {
        Self.expect(CapturedOffers.aiortc.removingLines(startingWith: "a=fingerprint:"),
                    throws: .malformed(reason: "fingerprint missing"))
        Self.expect(CapturedOffers.firefox.removingLines(startingWith: "a=fingerprint:"),
                    throws: .malformed(reason: "fingerprint missing"))
    }

    @Test func onlyNonSHA256Fingerprints() {
        Self.expect(CapturedOffers.aiortc.removingLines(startingWith: "a=fingerprint:sha-256"),
                    throws: .unsupported(reason: "offer has no sha-256 fingerprint"))
    }

    @Test func shortSHA256Fingerprint() {
        let text = CapturedOffers.chromium.replacingOccurrences(of: ":53:B4:1E:1C\r\n", with: ":53:B4:1E\r\n")
        Self.expect(text, throws: .malformed(reason: "sha-256 fingerprint is not 32 colon-separated hex bytes"))
        let nonHex = CapturedOffers.chromium.replacingOccurrences(of: ":53:B4:1E:1C\r\n", with: ":53:B4:1E:1G\r\n")
        Self.expect(nonHex, throws: .malformed(reason: "sha-256 fingerprint is not 32 colon-separated hex bytes"))
    }

    @Test func missingICECredentials() {
        Self.expect(CapturedOffers.chromium.removingLines(startingWith: "a=ice-ufrag:"),
                    throws: .malformed(reason: "ice-ufrag missing"))
        Self.expect(CapturedOffers.chromium.removingLines(startingWith: "a=ice-pwd:"),
                    throws: .malformed(reason: "ice-pwd missing"))
    }

    @Test func invalidICECredentials() {
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "a=ice-ufrag:TJsu", with: "a=ice-ufrag:TJs"),
                    throws: .malformed(reason: "ice-ufrag must be 4 to 256 ice-chars (letters, digits, + or /)"))
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "a=ice-ufrag:TJsu", with: "a=ice-ufrag:TJ-su"),
                    throws: .malformed(reason: "ice-ufrag must be 4 to 256 ice-chars (letters, digits, + or /)"))
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "RWj8Q80vg7cIW7ypO4nB0b", with: "RWj8Q80vg7cIW7ypO4nB0"),
                    throws: .malformed(reason: "ice-pwd must be 22 to 256 ice-chars (letters, digits, + or /)"))
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "RWj8Q80vg7cIW7ypO4nB0b", with: "RWj8Q80vg7cIW7ypO4nB0b="),
                    throws: .malformed(reason: "ice-pwd must be 22 to 256 ice-chars (letters, digits, + or /)"))
    }

    @Test func passiveSetupIsRefused() {
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:passive"),
                    throws: .unsupported(reason: "offer's setup is passive; LiveRelay is DTLS passive too"))
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:holdconn"),
                    throws: .unsupported(reason: "offer's setup is holdconn"))
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:both"),
                    throws: .malformed(reason: "setup \"both\" is not actpass, active, passive or holdconn"))
        Self.expect(CapturedOffers.chromium.removingLines(startingWith: "a=setup:"),
                    throws: .malformed(reason: "setup missing"))
    }

    @Test func bogusPort() {
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "m=audio 35124 ", with: "m=audio 99999 "),
                    throws: .malformed(reason: "m-line 2 port \"99999\" is not a number 0-65535"))
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "m=audio 35124 ", with: "m=audio nine "),
                    throws: .malformed(reason: "m-line 2 port \"nine\" is not a number 0-65535"))
    }

    @Test func nonNumericPayloadTypes() {
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "SAVPF 111 63 ", with: "SAVPF opus 63 "),
                    throws: .malformed(reason: "m-line 2 has non-numeric payload type \"opus\""))
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "SAVPF 111 63 ", with: "SAVPF 200 63 "),
                    throws: .malformed(reason: "m-line 2 has non-numeric payload type \"200\""))
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "SAVPF 111 63 ", with: "SAVPF 111 111 "),
                    throws: .malformed(reason: "m-line 2 lists payload type 111 twice"))
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "a=rtpmap:111 opus/48000/2", with: "a=rtpmap:x opus/48000/2"),
                    throws: .malformed(reason: "m-line 2: rtpmap must start with a payload type 0-127"))
        Self.expect(CapturedOffers.chromium.replacingOccurrences(of: "a=rtpmap:111 opus/48000/2", with: "a=rtpmap:111 opus/fast"),
                    throws: .malformed(reason: "m-line 2: rtpmap \"opus/fast\" is not <name>/<clock rate>[/<channels>]"))
    }

    @Test func duplicateMids() {
        Self.expect(CapturedOffers.firefox.replacingOccurrences(of: "a=mid:1", with: "a=mid:0"),
                    throws: .malformed(reason: "mid \"0\" is used by two m-lines"))
        Self.expect(CapturedOffers.firefox.replacingOccurrences(of: "a=group:BUNDLE 0 1", with: "a=group:BUNDLE 0 2"),
                    throws: .malformed(reason: "BUNDLE group names mid \"2\" that no m-line has"))
    }

    @Test func badExtmap() {
        Self.expect(CapturedOffers.firefox.replacingOccurrences(of: "a=extmap:7 ", with: "a=extmap:3 "),
                    throws: .malformed(reason: "m-line 1 uses extmap id 3 twice"))
        Self.expect(CapturedOffers.firefox.replacingOccurrences(of: "a=extmap:7 ", with: "a=extmap:0 "),
                    throws: .malformed(reason: "m-line 1: extmap id \"0\" is not 1-255"))
        Self.expect(CapturedOffers.firefox.replacingOccurrences(of: "a=extmap:6/recvonly", with: "a=extmap:6/sideways"),
                    throws: .malformed(reason: "m-line 1: extmap direction \"sideways\" is unknown"))
    }

    @Test func badCandidate() {
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "192.0.2.2 38184 typ host", with: "192.0.2.2 38184 host"),
                    throws: .malformed(reason: "candidate \"f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 38184 host\" is not <foundation> <component> <transport> <priority> <address> <port> typ <type>"))
    }

    @Test func twoDirections() {
        Self.expect(CapturedOffers.aiortc.replacingOccurrences(of: "a=recvonly\r\n", with: "a=recvonly\r\na=sendrecv\r\n"),
                    throws: .malformed(reason: "m-line 1 has more than one direction attribute"))
    }
}

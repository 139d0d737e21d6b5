import SDP
import Testing
import TestSupport

@Suite("Session description text")
struct SessionDescriptionTests {
    static let offers = [("aiortc", CapturedOffers.aiortc), ("chromium", CapturedOffers.chromium),
                         ("firefox", CapturedOffers.firefox)]

    @Test(arguments: offers.map(\.1))
    func capturedOfferSerializesBackToTheSameText(_ text: String) throws {
        let parsed = try SessionDescription.parse(text)
        #expect(parsed.serialized() == text)
        #expect(try SessionDescription.parse(parsed.serialized()) == parsed)
    }

    @Test func chromiumOfferFields() throws {
        let parsed = try SessionDescription.parse(CapturedOffers.chromium)
        #expect(parsed.version == 0)
        #expect(parsed.origin == Origin(username: "-", sessionID: 8_645_675_632_573_425_660, sessionVersion: 2,
                                        networkType: "IN", addressType: "IP4", address: "127.0.0.1"))
        #expect(parsed.sessionName == "-")
        #expect(parsed.timings == [Timing(start: 0, stop: 0)])
        #expect(parsed.attributes == [SDPAttribute("group", "BUNDLE 0 1"), SDPAttribute("extmap-allow-mixed"),
                                      SDPAttribute("msid-semantic", " WMS")])
        #expect(parsed.media.map(\.media) == ["video", "audio"])
        #expect(parsed.media[1].formats == ["111", "63", "9", "0", "8", "13", "110", "126"])
        #expect(parsed.media[1].connections == [ConnectionData(networkType: "IN", addressType: "IP4", address: "0.0.0.0")])
        #expect(parsed.media[0].attribute("mid") == "0")
        #expect(parsed.media[0].hasAttribute("rtcp-mux"))
        #expect(parsed.media[0].attributes(named: "rtpmap").count == 34)
    }

    @Test func bareLineFeedsAreAcceptedAndWrittenAsCRLF() throws {
        let lf = CapturedOffers.firefox.replacingCRLF()
        #expect(!lf.contains("\r"))
        let parsed = try SessionDescription.parse(lf)
        #expect(parsed == (try SessionDescription.parse(CapturedOffers.firefox)))
        #expect(parsed.serialized() == CapturedOffers.firefox)
    }

    @Test func lastLineWithoutLineEndIsRead() throws {
        let text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite"
        let parsed = try SessionDescription.parse(text)
        #expect(parsed.attributes == [SDPAttribute("ice-lite")])
        #expect(parsed.serialized() == text + "\r\n")
    }

    @Test func builtDescriptionRoundTrips() throws {
        let description = SessionDescription(
            origin: Origin(sessionID: 42, sessionVersion: 7), information: "info", uri: "https://example.com/x",
            emails: ["a@example.com"], phones: ["+1 555 0100"], connection: ConnectionData(address: "192.0.2.1"),
            bandwidths: ["AS:512"], timings: [Timing(start: 1, stop: 2, repeats: ["604800 3600 0 90000"])],
            timeZones: "2882844526 -1h", encryptionKey: "prompt", attributes: [SDPAttribute("ice-lite")],
            media: [MediaDescription(media: "video", port: 5004, portCount: 2, proto: "RTP/AVP", formats: ["96"],
                                     information: "cam", connections: [ConnectionData()], bandwidths: ["TIAS:1000"],
                                     encryptionKey: "prompt", attributes: [SDPAttribute("rtpmap", "96 VP8/90000")])])
        let text = description.serialized()
        #expect(text == """
        v=0\r
        o=- 42 7 IN IP4 127.0.0.1\r
        s=-\r
        i=info\r
        u=https://example.com/x\r
        e=a@example.com\r
        p=+1 555 0100\r
        c=IN IP4 192.0.2.1\r
        b=AS:512\r
        t=1 2\r
        r=604800 3600 0 90000\r
        z=2882844526 -1h\r
        k=prompt\r
        a=ice-lite\r
        m=video 5004/2 RTP/AVP 96\r
        i=cam\r
        c=IN IP4 0.0.0.0\r
        b=TIAS:1000\r
        k=prompt\r
        a=rtpmap:96 VP8/90000\r

        """)
        #expect(try SessionDescription.parse(text) == description)
    }

    // MARK: Limits and hostile input

    @Test func emptyText() {
        #expect(throws: SDPError.malformed(reason: "SDP must start with v=, o= and s= lines")) {
            try SessionDescription.parse("")
        }
    }

    @Test func binaryGarbage() {
        var generator = SplitMix64(seed: 0x5D9)
        let bytes = (0..<2000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(throws: SDPError.self) { try SessionDescription.parse(text) }
        #expect(throws: SDPError.self) { try WHEPOffer.parse(text) }
        #expect(throws: SDPError.self) { try WHEPOffer.candidates(fromTrickleFragment: text) }
    }

    @Test func controlCharacterInsideALine() {
        let text = CapturedOffers.aiortc.replacingOccurrences(of: "s=-", with: "s=\u{0}-")
        #expect(throws: SDPError.malformed(reason: "line 3 contains control character 0x0")) {
            try SessionDescription.parse(text)
        }
    }

    @Test func oneMebibyteIsRefusedBeforeParsing() {
        let text = "v=0\r\n" + String(repeating: "a=x\r\n", count: 1024 * 1024 / 5)
        #expect(text.utf8.count > SDPLimits.maxBytes)
        #expect(throws: SDPError.malformed(reason: "SDP is larger than 65536 bytes")) {
            try SessionDescription.parse(text)
        }
    }

    @Test func fiveThousandLines() {
        let text = "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n" + String(repeating: "a=x\n", count: 5000)
        #expect(text.utf8.count <= SDPLimits.maxBytes)
        #expect(throws: SDPError.malformed(reason: "SDP has more than 4096 lines")) {
            try SessionDescription.parse(text)
        }
    }

    @Test func longLine() throws {
        let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        // Exactly at the limit is fine, with either line end.
        let atLimit = "a=" + String(repeating: "x", count: SDPLimits.maxLineLength - 2)
        #expect(try SessionDescription.parse(head + atLimit + "\r\n").attributes.count == 1)
        #expect(try SessionDescription.parse(head + atLimit + "\n").attributes.count == 1)
        #expect(throws: SDPError.malformed(reason: "line 5 is longer than 4096 bytes")) {
            try SessionDescription.parse(head + atLimit + "x\r\n")
        }
        #expect(throws: SDPError.malformed(reason: "line 5 is longer than 4096 bytes")) {
            try SessionDescription.parse(head + atLimit + "xx")
        }
    }

    @Test func tooManyMediaSections() throws {
        let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        let section = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        #expect(try SessionDescription.parse(head + String(repeating: section, count: 32)).media.count == 32)
        #expect(throws: SDPError.malformed(reason: "SDP has more than 32 media sections")) {
            try SessionDescription.parse(head + String(repeating: section, count: 33))
        }
    }

    @Test(arguments: [
        ("v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "SDP version \"1\" is not 0"),
        ("v=0\r\ns=-\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n", "SDP must start with v=, o= and s= lines"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "SDP has no t= line"),
        ("v=0\r\no=- x 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "line 2: o= session id and version must be numbers"),
        ("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", "line 2: o= needs six fields"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0\r\n", "line 4: t= needs <start> <stop> as numbers"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nx=1\r\n", "line 5: \"x=\" is not allowed at session level"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nhello\r\n", "line 5 is not of the form <type>=<value>"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=\r\n", "line 5 has an invalid attribute name"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nt=0 0\r\n",
         "line 6: \"t=\" is not allowed in a media section"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP\r\n", "m-line 1 needs <media> <port> <proto> <fmt> ..."),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio  9 RTP/AVP 0\r\n", "m-line 1 needs <media> <port> <proto> <fmt> ..."),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 65536 RTP/AVP 0\r\n", "m-line 1 port \"65536\" is not a number 0-65535"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio -9 RTP/AVP 0\r\n", "m-line 1 port \"-9\" is not a number 0-65535"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9/0 RTP/AVP 0\r\n", "m-line 1 port \"9/0\" has an invalid port count"),
    ])
    func structuralErrors(_ text: String, _ reason: String) {
        #expect(throws: SDPError.malformed(reason: reason)) { try SessionDescription.parse(text) }
    }

    @Test func errorsMapToHTTPStatus() {
        #expect(SDPError.malformed(reason: "x").httpStatus == 400)
        #expect(SDPError.unsupported(reason: "y").httpStatus == 406)
        #expect(SDPError.unsupported(reason: "y").reason == "y")
    }
}

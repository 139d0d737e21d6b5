import SDP
import Testing

@Suite("Trickle ICE fragment")
struct TrickleFragmentTests {
    /// The example body of RFC 8840 §9 as a WHEP client PATCHes it.
    static let fragment = """
    a=ice-ufrag:EsAw\r
    a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r
    m=audio 9 RTP/AVP 0\r
    a=mid:0\r
    a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r
    a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2\r
    a=end-of-candidates\r

    """

    @Test func rfcExample() throws {
        let parsed = try WHEPOffer.candidates(fromTrickleFragment: Self.fragment)
        #expect(parsed.iceUfrag == "EsAw")
        #expect(parsed.icePwd == "P2uYro0UCOQ4zxjKXaWCBui1")
        #expect(parsed.candidates == [
            TrickleFragment.Candidate(mid: "0", value: "1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1"),
            TrickleFragment.Candidate(mid: "0", value: "3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2"),
        ])
        #expect(parsed.endOfCandidates)
        #expect(!parsed.isICERestart(currentUfrag: "EsAw", currentPwd: "P2uYro0UCOQ4zxjKXaWCBui1"))
        #expect(parsed.isICERestart(currentUfrag: "TJsu", currentPwd: "P2uYro0UCOQ4zxjKXaWCBui1"))
    }

    @Test func candidatesWithoutMediaLineOrCredentials() throws {
        let parsed = try WHEPOffer.candidates(fromTrickleFragment:
            "a=candidate:1 1 udp 2113937151 10.0.0.1 5000 typ host\na=end-of-candidates\n")
        #expect(parsed.iceUfrag == nil)
        #expect(parsed.candidates == [TrickleFragment.Candidate(mid: nil, value: "1 1 udp 2113937151 10.0.0.1 5000 typ host")])
        #expect(!parsed.isICERestart(currentUfrag: "abcd", currentPwd: "abcdefghijklmnopqrstuv"))
    }

    @Test func emptyFragmentHasNothing() throws {
        let parsed = try WHEPOffer.candidates(fromTrickleFragment: "")
        #expect(parsed == TrickleFragment(iceUfrag: nil, icePwd: nil, candidates: [], endOfCandidates: false))
    }

    @Test(arguments: [
        ("v=0\r\na=ice-ufrag:EsAw\r\n", "line 1: \"v=\" is not allowed in an SDP fragment"),
        ("a=ice-ufrag:Es\r\n", "ice-ufrag must be 4 to 256 ice-chars (letters, digits, + or /)"),
        ("a=ice-pwd:short\r\n", "ice-pwd must be 22 to 256 ice-chars (letters, digits, + or /)"),
        ("a=ice-ufrag:EsAw\r\na=ice-ufrag:Other\r\n", "SDP fragment has two different ice-ufrag values"),
        ("a=candidate:1 1 udp x 10.0.0.1 5000 typ host\r\n",
         "candidate \"1 1 udp x 10.0.0.1 5000 typ host\" is not <foundation> <component> <transport> <priority> <address> <port> typ <type>"),
        ("m=audio x RTP/AVP 0\r\n", "m-line 1 port \"x\" is not a number 0-65535"),
    ])
    func refused(_ text: String, _ reason: String) {
        #expect(throws: SDPError.malformed(reason: reason)) { try WHEPOffer.candidates(fromTrickleFragment: text) }
    }

    @Test func oversizedFragment() {
        #expect(throws: SDPError.malformed(reason: "SDP has more than 4096 lines")) {
            try WHEPOffer.candidates(fromTrickleFragment: String(repeating: "a=x\n", count: 5000))
        }
    }
}

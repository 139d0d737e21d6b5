import Foundation
import Testing
@testable import Audience

@Suite("Signed media URLs")
struct MediaURLSignerTests {
    let signer = MediaURLSigner(secret: "one secret", lifetime: 3600, granularity: 300)

    static func fields(_ query: String) -> (exp: String, sig: String) {
        var exp = "", sig = ""
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.first == "exp" { exp = parts.last ?? "" }
            if parts.first == "sig" { sig = parts.last ?? "" }
        }
        return (exp, sig)
    }

    @Test func aSignedQueryAdmitsItsStreamUntilItExpires() {
        let now = Date(timeIntervalSince1970: 1_800_000_123)
        let (exp, sig) = Self.fields(signer.query(prefix: "/cmaf/show/", incarnation: "s:1", now: now))
        let expires = try! #require(Int(exp))
        #expect(expires % 300 == 0 && expires >= 1_800_000_123 + 3600 && expires < 1_800_000_123 + 3600 + 300)
        #expect(sig.count == 22, "128 bits in base64url without padding")
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: exp, signature: sig, now: now) == .valid)
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: exp, signature: sig, now: Date(timeIntervalSince1970: Double(expires))) == .expired)
    }

    @Test func viewersAdmittedInTheSameFewMinutesGetTheSameURLs() {
        let first = signer.query(prefix: "/cmaf/show/", incarnation: "s:1", now: Date(timeIntervalSince1970: 1_800_000_010))
        let second = signer.query(prefix: "/cmaf/show/", incarnation: "s:1", now: Date(timeIntervalSince1970: 1_800_000_200))
        #expect(first == second)
        #expect(first != signer.query(prefix: "/cmaf/show/", incarnation: "s:1", now: Date(timeIntervalSince1970: 1_800_000_400)))
    }

    @Test func forgedMalformedOrForeignSignaturesAreRefused() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let (exp, sig) = Self.fields(signer.query(prefix: "/cmaf/show/", incarnation: "s:1", now: now))
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: nil, signature: nil, now: now) == .missing)
        #expect(signer.verify(prefix: "/cmaf/other/", incarnation: "s:1", expires: exp, signature: sig, now: now) == .invalid, "another stream")
        #expect(signer.verify(prefix: "/hls/show/", incarnation: "s:1", expires: exp, signature: sig, now: now) == .invalid,
                "another path prefix of the stream")
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:2", expires: exp, signature: sig, now: now) == .invalid,
                "the stream deleted and created again under its name")
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: String(Int(exp)! + 300), signature: sig, now: now) == .invalid, "a longer expiry")
        let other = MediaURLSigner(secret: "another secret", lifetime: 3600)
        let foreign = Self.fields(other.query(prefix: "/cmaf/show/", incarnation: "s:1", now: now))
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: foreign.exp, signature: foreign.sig, now: now) == .invalid, "another key")
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: exp, signature: nil, now: now) == .invalid)
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: "soon", signature: sig, now: now) == .invalid)
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: exp, signature: sig + "AA", now: now) == .invalid)
        #expect(signer.verify(prefix: "/cmaf/show/", incarnation: "s:1", expires: exp, signature: String(repeating: "/", count: 22), now: now) == .invalid)
    }
}

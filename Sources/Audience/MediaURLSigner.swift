import Crypto
import Foundation

/// Signed, expiring query tokens for the DASH/HLS URLs of a private stream: `exp=<unix seconds>&sig=<signature>`,
/// the signature an HMAC-SHA256 (truncated to 128 bits, base64url) of the stream incarnation, the path prefix the
/// query was issued for (`/cmaf/{stream}/` for media, `/hls/{stream}/` for media playlists) and the expiry. A query
/// admits only URLs under its prefix, and nothing once the stream is deleted (a stream created again under the
/// name is another incarnation).
///
/// They are per stream, not per viewer, and expire on a coarse grid: every viewer admitted in the same few minutes is
/// given the same URLs, so an HTTP cache or CDN in front keeps one copy of each segment and passes the query through.
public struct MediaURLSigner: Sendable {
    public enum Verdict: Equatable, Sendable {
        /// Neither `exp` nor `sig` was given.
        case missing
        case valid
        case expired
        /// Malformed, or signed with another key or for another stream.
        case invalid
    }

    private let key: SymmetricKey
    /// How long a signed URL stays good, in seconds.
    public let lifetime: Int
    /// Expiries are rounded up to a multiple of this, in seconds.
    public let granularity: Int

    /// The key is derived from the audience secret under its own label, so a URL signature can never pass as a token
    /// signature or the other way round.
    public init(secret: String, lifetime: Int = 7200, granularity: Int = 300) {
        precondition(lifetime > 0 && granularity > 0)
        key = SymmetricKey(data: SHA256.hash(data: Data("liverelay media urls\n\(secret)".utf8)))
        self.lifetime = lifetime
        self.granularity = granularity
    }

    /// When a query issued at `now` expires: the next grid point past `now + lifetime`, in Unix seconds.
    public func expiry(now: Date = Date()) -> Int {
        let due = Int(now.timeIntervalSince1970.rounded(.up)) + lifetime
        return (due + granularity - 1) / granularity * granularity
    }

    /// The query (without `?`) that admits its holder to the URLs under `prefix` of this stream incarnation until
    /// `expiry(now:)`.
    public func query(prefix: String, incarnation: String, now: Date = Date()) -> String {
        query(prefix: prefix, incarnation: incarnation, expires: expiry(now: now))
    }

    /// The query for `prefix` with a given expiry: a playlist admitted by a signed query names its media with a
    /// query of the same expiry, so following URLs never extends a grant.
    public func query(prefix: String, incarnation: String, expires: Int) -> String {
        "exp=\(expires)&sig=\(signature(prefix: prefix, incarnation: incarnation, expires: expires))"
    }

    /// Checks a presented query against the prefix of the requested path and the stream's current incarnation.
    public func verify(prefix: String, incarnation: String, expires: String?, signature presented: String?, now: Date = Date()) -> Verdict {
        guard expires != nil || presented != nil else { return .missing }
        guard let expires, let presented, expires.count <= 12, let seconds = Int(expires), seconds > 0,
              let given = Self.decode(presented), given.count == 16 else { return .invalid }
        let message = Self.message(prefix: prefix, incarnation: incarnation, expires: seconds)
        let expected = Data(HMAC<SHA256>.authenticationCode(for: message, using: key)).prefix(16)
        // Compared in constant time.
        guard zip(given, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return .invalid }
        return Double(seconds) > now.timeIntervalSince1970 ? .valid : .expired
    }

    func signature(prefix: String, incarnation: String, expires: Int) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Self.message(prefix: prefix, incarnation: incarnation, expires: expires), using: key)
        return Data(code).prefix(16).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    private static func message(prefix: String, incarnation: String, expires: Int) -> Data {
        Data("\(incarnation)\n\(prefix)\n\(expires)".utf8)
    }

    private static func decode(_ text: String) -> Data? {
        guard text.count <= 32, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

import Crypto
import Foundation
import JWTKit
import Storage

/// What a token lets its holder do on one stream. A moderator may do everything a viewer may.
public enum AudienceRole: String, Codable, Sendable {
    case viewer
    case moderator
}

/// The claims of a LiveRelay audience token: who (`sub`, `name`), as what (`role`), where (`stream`, and `inc`, the
/// incarnation of the stream it was minted for), when (`iat`, `exp`), and which token it is (`jti`, what a
/// revocation names). Every claim is required: a token without one does not decode.
public struct AudienceClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var name: String
    public var role: AudienceRole
    public var stream: String
    /// The stream incarnation (`StreamRecord.incarnation`): a stream deleted and created again under its name has
    /// another, so its old tokens admit nobody.
    public var inc: String
    public var iat: IssuedAtClaim
    public var exp: ExpirationClaim
    public var jti: IDClaim

    /// `issuedAt` is kept to the millisecond (a JWT NumericDate may have a fraction): a ban revokes the tokens issued
    /// up to its millisecond, not those minted just after it.
    public init(sub: String, name: String, role: AudienceRole, stream: String, incarnation: String,
                issuedAt: Date = .now, expires: Date, id: String = AudienceClaims.newID()) {
        self.sub = SubjectClaim(value: sub)
        self.name = name
        self.role = role
        self.stream = stream
        self.inc = incarnation
        self.iat = IssuedAtClaim(value: Date(timeIntervalSince1970: (issuedAt.timeIntervalSince1970 * 1000).rounded(.down) / 1000))
        self.exp = ExpirationClaim(value: expires)
        self.jti = IDClaim(value: id)
    }

    /// Time is checked by `AudienceTokenAuthority.verify` against the caller's clock, not here.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// 128 random bits, hex.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// Why a presented token was refused; the HTTP layer maps `wrongStream` to 403 and the rest to 401.
public enum AudienceTokenError: Error, Equatable {
    case invalid
    case expired
    case wrongStream
    case revoked
}

/// An audience token key: the secret, and for a key being rotated out, until when tokens it signed still verify.
public struct AudienceTokenKey: Sendable, Equatable {
    public var secret: String
    /// Nil for the current key; for a previous key the end of its overlap.
    public var verifiesUntil: Date?

    public init(secret: String, verifiesUntil: Date? = nil) {
        self.secret = secret
        self.verifiesUntil = verifiesUntil
    }

    /// The `kid` header of tokens signed with this key: derived from the secret (a digest, never the secret), so
    /// every node configured with the same key names it the same.
    public var id: String {
        let digest = SHA256.hash(data: Data("liverelay audience token kid\n\(secret)".utf8))
        return Data(digest).prefix(9).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}

public enum AudienceTokenKeyError: Error, CustomStringConvertible, Equatable {
    case tooShort(name: String)

    public var description: String {
        switch self {
        case .tooShort(let name):
            return "\(name) is shorter than \(SecretFile.minimumLength) bytes: use at least \(SecretFile.minimumLength) random bytes " +
                "(e.g. `openssl rand -hex 32`)"
        }
    }
}

/// Mints and checks HS256 audience tokens. Tokens are signed with the current key and name it in `kid`; a previous
/// key still verifies the tokens it signed until its overlap ends. Only `alg: HS256` is accepted (never `none`, never
/// another algorithm under the same key), and a token must carry every claim of `AudienceClaims`.
public final class AudienceTokenAuthority: Sendable {
    private let keys: JWTKeyCollection
    private let currentKeyID: String
    /// kid → until when it verifies (nil: the current key, no end).
    private let keyIDs: [String: Date?]
    /// Tokens revoked by id, and every token of a banned user.
    public let revocations: TokenRevocationList
    /// Signs the DASH/HLS URLs of private streams, under a key derived from the current secret.
    public let mediaURLs: MediaURLSigner
    /// How far in the future a token's `iat` may lie (clock skew between nodes).
    static let allowedSkew: TimeInterval = 60

    /// The HMAC key is the SHA-256 of the secret: any configured passphrase becomes a full 256-bit key.
    /// `mediaURLLifetime`: how long a signed DASH/HLS URL stays good, in seconds.
    public init(key current: AudienceTokenKey, previous: [AudienceTokenKey] = [], mediaURLLifetime: Int = 7200,
                revocations: TokenRevocationList = TokenRevocationList()) async {
        let collection = JWTKeyCollection()
        var ids: [String: Date?] = [current.id: nil]
        for key in [current] + previous {
            if key != current { ids[key.id] = key.verifiesUntil ?? .distantPast }
            let symmetric = SymmetricKey(data: SHA256.hash(data: Data(key.secret.utf8)))
            await collection.add(hmac: HMACKey(key: symmetric), digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.id))
        }
        mediaURLs = MediaURLSigner(secret: current.secret, lifetime: mediaURLLifetime)
        keys = collection
        self.revocations = revocations
        currentKeyID = current.id
        keyIDs = ids
    }

    /// One key, no rotation.
    public convenience init(secret: String, mediaURLLifetime: Int = 7200) async {
        await self.init(key: AudienceTokenKey(secret: secret), mediaURLLifetime: mediaURLLifetime)
    }

    public func mint(_ claims: AudienceClaims) async throws -> String {
        try await keys.sign(claims, kid: JWKIdentifier(string: currentKeyID))
    }

    /// The claims of `token` if it is genuine (HS256 under a key that verifies at `now`), unexpired at `now`, not
    /// revoked, and for this incarnation of `stream`.
    public func verify(_ token: String, stream: String, incarnation: String, now: Date = .now) async throws(AudienceTokenError) -> AudienceClaims {
        guard token.utf8.count <= 4096, let header = Self.header(of: token), header.alg == "HS256",
              header.typ == nil || header.typ == "JWT", let kid = header.kid, let until = keyIDs[kid] else { throw .invalid }
        if let until, now >= until { throw .invalid }
        let claims: AudienceClaims
        do {
            claims = try await keys.verify(token, as: AudienceClaims.self)
        } catch {
            throw .invalid
        }
        guard claims.iat.value.timeIntervalSince(now) <= Self.allowedSkew else { throw .invalid }
        guard now < claims.exp.value else { throw .expired }
        guard claims.stream == stream, claims.inc == incarnation else { throw .wrongStream }
        guard !revocations.isRevoked(claims) else { throw .revoked }
        return claims
    }

    struct Header: Decodable {
        var alg: String
        var typ: String?
        var kid: String?
    }

    /// The JOSE header, read before any key is chosen: the algorithm is LiveRelay's to fix, not the token's to say.
    static func header(of token: String) -> Header? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count <= 512 else { return nil }
        var base64 = parts[0].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONDecoder().decode(Header.self, from: data)
    }

    /// The configured secret, or one generated on first start and kept in `audience-token.key` in the data directory
    /// (created with mode 0600) so tokens stay valid across restarts. Shorter than 32 bytes is refused.
    public static func resolveSecret(configured: String, dataDirectory: String) throws -> String {
        let trimmed = configured.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty {
            guard trimmed.utf8.count >= SecretFile.minimumLength else { throw AudienceTokenKeyError.tooShort(name: "audience.tokenKey") }
            return trimmed
        }
        let path = (dataDirectory as NSString).appendingPathComponent("audience-token.key")
        if let stored = try SecretFile.read(path) { return stored }
        try SecretFile.prepareDirectory(dataDirectory)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Data(bytes).base64EncodedString()
        try SecretFile.create(path, contents: secret)
        return secret
    }
}

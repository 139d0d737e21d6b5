import Crypto
import Foundation
import Testing
@testable import Audience
import Storage

/// Tokens written by hand, byte by byte, so the checks do not depend on what the JWT library would produce.
@Suite("Audience token security")
struct TokenSecurityTests {
    static let secret = "a-secret-of-enough-length-0123456789"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static var kid: String { AudienceTokenKey(secret: secret).id }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ object: [String: Any]) -> String {
        base64URL(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    static var claims: [String: Any] {
        ["sub": "alice", "name": "Alice", "role": "viewer", "stream": "main", "inc": "s:1",
         "iat": now.timeIntervalSince1970 - 10, "exp": now.timeIntervalSince1970 + 600, "jti": "t1"]
    }

    /// `header.payload.signature`, the signature an HMAC of `hash` under the key LiveRelay derives from the secret.
    static func token<H: HashFunction>(header: [String: Any], claims: [String: Any] = claims, hash: H.Type, secret: String = secret) -> String {
        let signingInput = json(header) + "." + json(claims)
        let key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
        return signingInput + "." + base64URL(Data(HMAC<H>.authenticationCode(for: Data(signingInput.utf8), using: key)))
    }

    func verify(_ authority: AudienceTokenAuthority, _ token: String, at now: Date = Self.now) async throws(AudienceTokenError) -> AudienceClaims {
        try await authority.verify(token, stream: "main", incarnation: "s:1", now: now)
    }

    @Test func onlyHS256UnderAKnownKeyIsAccepted() async throws {
        let authority = await AudienceTokenAuthority(secret: Self.secret)
        // The hand-made token is right: with HS256 and the key's id it verifies.
        let good = Self.token(header: ["alg": "HS256", "typ": "JWT", "kid": Self.kid], hash: SHA256.self)
        #expect(try await verify(authority, good).jti.value == "t1")

        let unsigned = Self.json(["alg": "none", "typ": "JWT", "kid": Self.kid]) + "." + Self.json(Self.claims) + "."
        await #expect(throws: AudienceTokenError.invalid) { try await verify(authority, unsigned) }
        let noneWithSignature = Self.token(header: ["alg": "none", "kid": Self.kid], hash: SHA256.self)
        await #expect(throws: AudienceTokenError.invalid) { try await verify(authority, noneWithSignature) }
        for alg in ["HS512", "HS384", "hs256", "RS256", "ES256"] {
            let other = Self.token(header: ["alg": alg, "typ": "JWT", "kid": Self.kid], hash: SHA512.self)
            await #expect(throws: AudienceTokenError.invalid, "\(alg)") { try await verify(authority, other) }
        }
        let hs512 = Self.token(header: ["alg": "HS512", "kid": Self.kid], hash: SHA512.self)
        await #expect(throws: AudienceTokenError.invalid) { try await verify(authority, hs512) }
        // A header that names another algorithm over a genuine HS256 signature: the header is not believed either way.
        let mislabelled = Self.token(header: ["alg": "HS512", "typ": "JWT", "kid": Self.kid], hash: SHA256.self)
        await #expect(throws: AudienceTokenError.invalid) { try await verify(authority, mislabelled) }
        let noKid = Self.token(header: ["alg": "HS256", "typ": "JWT"], hash: SHA256.self)
        await #expect(throws: AudienceTokenError.invalid, "a token must name its key") { try await verify(authority, noKid) }
        let unknownKid = Self.token(header: ["alg": "HS256", "kid": "someone-else"], hash: SHA256.self)
        await #expect(throws: AudienceTokenError.invalid) { try await verify(authority, unknownKid) }
    }

    @Test(arguments: ["exp", "iat", "inc", "jti", "sub", "stream"])
    func everyClaimIsRequired(_ missing: String) async throws {
        let authority = await AudienceTokenAuthority(secret: Self.secret)
        var claims = Self.claims
        claims[missing] = nil
        let token = Self.token(header: ["alg": "HS256", "typ": "JWT", "kid": Self.kid], claims: claims, hash: SHA256.self)
        await #expect(throws: AudienceTokenError.invalid) { try await verify(authority, token) }
    }

    @Test func timeIsTheCallers() async throws {
        let authority = await AudienceTokenAuthority(secret: Self.secret)
        let token = Self.token(header: ["alg": "HS256", "kid": Self.kid], hash: SHA256.self)
        #expect(try await verify(authority, token, at: Self.now.addingTimeInterval(599)).sub.value == "alice")
        await #expect(throws: AudienceTokenError.expired) { try await verify(authority, token, at: Self.now.addingTimeInterval(600)) }
        await #expect(throws: AudienceTokenError.invalid, "issued in the future") {
            try await verify(authority, token, at: Self.now.addingTimeInterval(-120))
        }
    }

    @Test func aPreviousKeyVerifiesUntilItsOverlapEnds() async throws {
        let oldSecret = "the-old-secret-of-enough-length-0123"
        let newSecret = "the-new-secret-of-enough-length-4567"
        let before = await AudienceTokenAuthority(secret: oldSecret)
        let until = Self.now.addingTimeInterval(3600)
        let rotated = await AudienceTokenAuthority(key: AudienceTokenKey(secret: newSecret),
                                                   previous: [AudienceTokenKey(secret: oldSecret, verifiesUntil: until)])
        func claims() -> AudienceClaims {
            AudienceClaims(sub: "alice", name: "Alice", role: .viewer, stream: "main", incarnation: "s:1", issuedAt: Self.now,
                           expires: Self.now.addingTimeInterval(7200))
        }
        let old = try await before.mint(claims())
        let new = try await rotated.mint(claims())
        #expect(AudienceTokenAuthority.header(of: new)?.kid == AudienceTokenKey(secret: newSecret).id)
        #expect(AudienceTokenKey(secret: newSecret).id != AudienceTokenKey(secret: oldSecret).id)
        #expect(try await verify(rotated, old).sub.value == "alice", "the old key verifies during the overlap")
        #expect(try await verify(rotated, new, at: until.addingTimeInterval(1)).sub.value == "alice")
        await #expect(throws: AudienceTokenError.invalid, "and not after it") { try await verify(rotated, old, at: until) }
        await #expect(throws: AudienceTokenError.invalid, "the old authority never knew the new key") { try await verify(before, new) }
    }

    @Test func revokedTokensAndBannedUsersTokensAreRefused() async throws {
        let authority = await AudienceTokenAuthority(secret: Self.secret)
        func mint(_ sub: String, at issued: Date) async throws -> String {
            try await authority.mint(AudienceClaims(sub: sub, name: sub, role: .viewer, stream: "main", incarnation: "s:1", issuedAt: issued,
                                                    expires: issued.addingTimeInterval(3600)))
        }
        let first = try await mint("alice", at: Self.now)
        let second = try await mint("alice", at: Self.now)
        authority.revocations.add(.token(try await verify(authority, first).jti.value, incarnation: "s:1", at: Self.now))
        await #expect(throws: AudienceTokenError.revoked) { try await verify(authority, first) }
        #expect(try await verify(authority, second).sub.value == "alice", "revoking one token leaves the user's others")

        let bob = try await mint("bob", at: Self.now)
        authority.revocations.add(.user("bob", incarnation: "s:1", at: Self.now.addingTimeInterval(10)))
        await #expect(throws: AudienceTokenError.revoked) { try await verify(authority, bob, at: Self.now.addingTimeInterval(20)) }
        let afterUnban = try await mint("bob", at: Self.now.addingTimeInterval(10.001))
        #expect(try await verify(authority, afterUnban, at: Self.now.addingTimeInterval(20)).sub.value == "bob")
        #expect(try await verify(authority, second, at: Self.now.addingTimeInterval(20)).sub.value == "alice", "a ban is per user")
    }

    @Test func shortSecretsAreRefusedAndGeneratedOnesAreCreatedPrivate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-secret-\(UUID().uuidString)/data").path
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        #expect(throws: AudienceTokenKeyError.tooShort(name: "audience.tokenKey")) {
            try AudienceTokenAuthority.resolveSecret(configured: "short-secret", dataDirectory: directory)
        }
        let generated = try AudienceTokenAuthority.resolveSecret(configured: "", dataDirectory: directory)
        let directoryMode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(directoryMode == 0o700)
        let keyPath = directory + "/audience-token.key"
        #expect((try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int) == 0o600)
        #expect(throws: SecretFileError.self, "an existing secret is never overwritten") { try SecretFile.create(keyPath, contents: "x") }
        #expect(try AudienceTokenAuthority.resolveSecret(configured: "", dataDirectory: directory) == generated)
        try FileManager.default.removeItem(atPath: keyPath)
        try SecretFile.create(keyPath, contents: "too-short\n")
        #expect(throws: SecretFileError.self, "a stored secret too short is an error, not silently replaced") {
            try AudienceTokenAuthority.resolveSecret(configured: "", dataDirectory: directory)
        }
    }
}

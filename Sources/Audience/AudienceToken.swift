import Crypto
import Foundation
import JWTKit

/// What a token lets its holder do on one stream. A moderator may do everything a viewer may.
public enum AudienceRole: String, Codable, Sendable {
    case viewer
    case moderator
}

/// The claims of a LiveRelay audience token: who (`sub`, `name`), as what (`role`), where (`stream`, and `inc`, the
/// incarnation of the stream it was minted for), until when (`exp`).
public struct AudienceClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var name: String
    public var role: AudienceRole
    public var stream: String
    /// The stream incarnation (`StreamRecord.incarnation`): a stream deleted and created again under its name has
    /// another, so its old tokens admit nobody.
    public var inc: String
    public var exp: ExpirationClaim

    public init(sub: String, name: String, role: AudienceRole, stream: String, incarnation: String, expires: Date) {
        self.sub = SubjectClaim(value: sub)
        self.name = name
        self.role = role
        self.stream = stream
        self.inc = incarnation
        self.exp = ExpirationClaim(value: expires)
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Why a presented token was refused; the HTTP layer maps the first two to 401 and the last to 403.
public enum AudienceTokenError: Error, Equatable {
    case invalid
    case expired
    case wrongStream
}

/// Mints and checks HS256 audience tokens with one symmetric key.
public final class AudienceTokenAuthority: Sendable {
    private let keys: JWTKeyCollection
    /// Signs the DASH/HLS URLs of private streams, under a key derived from the same secret.
    public let mediaURLs: MediaURLSigner

    /// The HMAC key is the SHA-256 of the secret: any configured passphrase becomes a full 256-bit key.
    /// `mediaURLLifetime`: how long a signed DASH/HLS URL stays good, in seconds.
    public init(secret: String, mediaURLLifetime: Int = 7200) async {
        mediaURLs = MediaURLSigner(secret: secret, lifetime: mediaURLLifetime)
        keys = JWTKeyCollection()
        let key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
        await keys.add(hmac: HMACKey(key: key), digestAlgorithm: .sha256)
    }

    public func mint(_ claims: AudienceClaims) async throws -> String {
        try await keys.sign(claims)
    }

    /// The claims of `token` if it is genuine, unexpired and for this incarnation of `stream`.
    public func verify(_ token: String, stream: String, incarnation: String) async throws(AudienceTokenError) -> AudienceClaims {
        let claims: AudienceClaims
        do {
            claims = try await keys.verify(token, as: AudienceClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw .expired
        } catch {
            throw .invalid
        }
        guard claims.stream == stream, claims.inc == incarnation else { throw .wrongStream }
        return claims
    }

    /// The configured secret, or one generated on first start and kept in `audience-token.key` in the data directory
    /// (mode 0600) so tokens stay valid across restarts.
    public static func resolveSecret(configured: String, dataDirectory: String) throws -> String {
        let trimmed = configured.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { return trimmed }
        let path = (dataDirectory as NSString).appendingPathComponent("audience-token.key")
        if let stored = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), stored.count >= 32 {
            return stored
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Data(bytes).base64EncodedString()
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return secret
    }
}

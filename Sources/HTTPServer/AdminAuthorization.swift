import Crypto
import Foundation
import Hummingbird

/// Checks the admin bearer token. Comparison is of SHA-256 digests, so its time does not depend on how many
/// leading characters of a guess are right.
public struct AdminAuthorization: Sendable {
    private let tokenDigest: SHA256.Digest

    public init(token: String) {
        self.tokenDigest = SHA256.hash(data: Data(token.utf8))
    }

    public func isAdmin(_ request: Request) -> Bool {
        guard let presented = Self.bearerToken(request) else { return false }
        return SHA256.hash(data: Data(presented.utf8)) == tokenDigest
    }

    public func requireAdmin(_ request: Request) throws {
        guard isAdmin(request) else { throw APIError.unauthorized }
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

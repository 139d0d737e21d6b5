import Audience
import Foundation
import Hummingbird
import MediaCore
import Catalog

/// Who is calling an audience endpoint: a token holder (viewer or moderator of this stream), the operator with the
/// admin token (acts as a moderator named `admin`), or nobody.
struct AudienceAuthorization: Sendable {
    let tokens: AudienceTokenAuthority
    let admin: AdminAuthorization
    let catalog: StreamCatalog

    /// The stream, or 404. For callers already known to be the operator; everyone else goes through
    /// `visibleStream`.
    func stream(_ name: String) async throws -> StreamEntry {
        guard StreamName.isValid(name), let record = try await catalog.get(name) else { throw Self.noSuchStream(name) }
        return record
    }

    /// The stream as the caller may see it. A private stream is visible only with credentials for it (a token of
    /// this incarnation, or the admin token); without them — none, bad, expired, revoked or another stream's — it is
    /// answered exactly as a name no stream has, so the answer never tells whether a private name exists.
    func visibleStream(_ name: String, _ request: Request, token: String?? = nil) async throws -> StreamEntry {
        let record = try await stream(name)
        guard record.isPrivate else { return record }
        // try? flattens: nil for refused credentials and for none.
        guard (try? await claims(request, stream: record, token: token)) != nil else { throw Self.noSuchStream(name) }
        return record
    }

    static func noSuchStream(_ name: String) -> APIError {
        APIError.notFound("no stream named '\(name)'")
    }

    /// The caller's claims for this incarnation of the stream, or nil when no credentials were presented. Bad
    /// credentials throw 401/403. `token` defaults to the bearer token; the event channel also takes it from the query.
    func claims(_ request: Request, stream: StreamEntry, token: String?? = nil) async throws -> AudienceClaims? {
        try await claims(request, stream: stream.name, incarnation: stream.incarnation, token: token)
    }

    func claims(_ request: Request, stream: String, incarnation: String, token: String?? = nil) async throws -> AudienceClaims? {
        guard let token = token ?? Self.bearer(request) else { return nil }
        if admin.isAdmin(request) {
            return AudienceClaims(sub: "admin", name: "Operator", role: .moderator, stream: stream, incarnation: incarnation,
                                  expires: .distantFuture)
        }
        do {
            return try await tokens.verify(token, stream: stream, incarnation: incarnation)
        } catch .expired {
            throw APIError(.unauthorized, "token_expired", "the token has expired", headers: [.wwwAuthenticate: "Bearer"])
        } catch .invalid {
            throw APIError(.unauthorized, "invalid_token", "the token is not valid", headers: [.wwwAuthenticate: "Bearer"])
        } catch .revoked {
            throw APIError(.unauthorized, "token_revoked", "the token has been revoked", headers: [.wwwAuthenticate: "Bearer"])
        } catch .wrongStream {
            throw APIError(.forbidden, "wrong_stream", "the token is for another stream")
        }
    }

    func require(_ role: AudienceRole, _ request: Request, stream: StreamEntry, token: String?? = nil) async throws -> AudienceClaims {
        guard let claims = try await claims(request, stream: stream, token: token) else {
            throw APIError(.unauthorized, "unauthorized", "a \(role.rawValue) token is required (Authorization: Bearer <token>)",
                           headers: [.wwwAuthenticate: "Bearer"])
        }
        if role == .moderator, claims.role != .moderator {
            throw APIError(.forbidden, "forbidden", "a moderator token is required")
        }
        return claims
    }

    static func bearer(_ request: Request) -> String? {
        AdminAuthorization.bearerToken(request)
    }

    /// The token of an event-channel request: `?token=` (browsers cannot set headers on a WebSocket) or the header.
    static func token(_ request: Request) -> String? {
        if let query = request.uri.queryParameters.get("token"), !query.isEmpty { return query }
        return bearer(request)
    }
}

extension StrictJSON {
    /// The body of `request`, which must say it is JSON and fit the context's size limit.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext, fields: Set<String>) async throws -> T {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "the body must be application/json")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        do throws(Rejection) {
            return try decode(type, from: Data(buffer.readableBytesView), fields: fields)
        } catch {
            switch error {
            case .notAnObject: throw APIError.badRequest("the body is not a JSON object")
            case .unknownFields(let unknown): throw APIError.badRequest("unknown field(s): \(unknown.joined(separator: ", "))")
            case .undecodable(let error): throw error
            }
        }
    }
}

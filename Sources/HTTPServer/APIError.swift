import Foundation
import Hummingbird

/// Every error LiveRelay answers with: a status and `{"error": "...", "detail": "..."}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A stable, machine-readable code such as `stream_not_found`.
    public var error: String
    public var detail: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ error: String, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(APIErrorBody(error: error, detail: detail))
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    public static func badRequest(_ detail: String) -> APIError { APIError(.badRequest, "bad_request", detail) }
    public static func notFound(_ what: String) -> APIError { APIError(.notFound, "not_found", what) }
    public static let unauthorized = APIError(.unauthorized, "unauthorized", "a valid admin token is required (Authorization: Bearer <token>)",
                                              headers: [.wwwAuthenticate: "Bearer"])
}

/// Turns whatever a route or Hummingbird throws into the JSON error shape, and logs server faults.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let detail = error.body ?? (error.status == .notFound ? "no such resource: \(request.uri.path)" : error.status.reasonPhrase)
            return try APIError(error.status, Self.code(for: error.status), detail, headers: error.headers)
                .response(from: request, context: context)
        } catch let error as DecodingError {
            return try APIError.badRequest("request body is not valid: \(Self.describe(error))").response(from: request, context: context)
        } catch let error as HTTPResponseError {
            return try APIError(error.status, Self.code(for: error.status), error.status.reasonPhrase).response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try APIError(.internalServerError, "internal", "the server failed to handle the request").response(from: request, context: context)
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: return "not_found"
        case 413: return "body_too_large"
        case 405: return "method_not_allowed"
        case 401: return "unauthorized"
        case 500...: return "internal"
        default: return "bad_request"
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context): return context.debugDescription
        case .keyNotFound(let key, _): return "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "field '\(path)' has the wrong type"
        @unknown default: return "\(error)"
        }
    }
}

struct APIErrorBody: Encodable {
    let error: String
    let detail: String
}

import Audience
import Foundation
import HTTPTypes
import Hummingbird
import Catalog
import WebRTCTransport

/// WHEP (draft-ietf-wish-whep): `POST /whep/{stream}` with an SDP offer creates a viewer session and answers
/// `201 Created` with the SDP answer and the session's `Location`; `PATCH` on that resource takes trickled ICE
/// candidates; `DELETE` ends it. CORS is open so a page on another origin can play (it reads `Location`).
///
/// An offline stream is answered `409 Conflict` with `Retry-After`: the viewer page retries; it does not hold the
/// request open until the publisher comes.
public struct WHEPRoutes: Sendable {
    let egress: WebRTCEgress
    let authorization: AudienceAuthorization
    let admin: AdminAuthorization
    /// Largest SDP offer or trickle fragment read (browsers' offers are 3–8 KiB).
    static let maximumBodySize = 32 * 1024

    /// Offers per second from one address (a token bucket: `offersPerSecond`, bursts of `offerBurst`).
    let offers: TokenBucketLimiter

    public init(egress: WebRTCEgress, audience: AudienceService, catalog: StreamCatalog, admin: AdminAuthorization,
                offersPerSecond: Double = 5, offerBurst: Int = 10) {
        self.egress = egress
        self.offers = TokenBucketLimiter(rate: offersPerSecond, burst: offerBurst)
        self.authorization = AudienceAuthorization(tokens: audience.tokens, admin: admin, catalog: catalog)
        self.admin = admin
    }

    /// The rung the viewer is served, for pages and tests (the answer itself cannot say it).
    static let layerHeader = HTTPField.Name("X-LiveRelay-Layer")!
    static let layersHeader = HTTPField.Name("X-LiveRelay-Layers")!
    static let acceptPatchHeader = HTTPField.Name("Accept-Patch")!

    static let corsHeaders: HTTPFields = [
        .accessControlAllowOrigin: "*",
        .accessControlAllowMethods: "POST, PATCH, DELETE, OPTIONS",
        .accessControlAllowHeaders: "Authorization, Content-Type, If-Match",
        .accessControlExposeHeaders: "Location, ETag, Retry-After, X-LiveRelay-Layer, X-LiveRelay-Layers",
        .accessControlMaxAge: "86400",
    ]

    public func register(on router: Router<LiveRelayRequestContext>) {
        // Operators (admin token): every WebRTC viewer session on this node.
        router.get("api/webrtc/sessions") { request, _ in
            guard admin.isAdmin(request) else { throw APIError.unauthorized }
            let sessions = await egress.sessionSummaries()
            let data = try JSONEncoder().encode(sessions)
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        // Pins a viewer to a rung (`{"layer":"180p"}`), or hands it back to its estimate (`{"layer":null}`).
        router.put("api/webrtc/sessions/:session/layer") { request, context in
            guard admin.isAdmin(request) else { throw APIError.unauthorized }
            let id = context.parameters.get("session") ?? ""
            let pin = try await StrictJSON.decode(LayerPinRequest.self, from: request, context: context, fields: ["layer"])
            guard await egress.pinLayer(id: id, layer: pin.layer) else {
                throw APIError.notFound("no WebRTC session '\(id)' with layer '\(pin.layer ?? "none")'")
            }
            return Response(status: .noContent)
        }
        router.on("whep/:stream", method: .options) { _, _ in
            var headers = Self.corsHeaders
            headers[.accept] = "application/sdp"
            headers[.allow] = "POST, OPTIONS"
            return Response(status: .noContent, headers: headers)
        }
        router.on("whep/:stream/:session", method: .options) { _, _ in
            var headers = Self.corsHeaders
            headers[.allow] = "PATCH, DELETE, OPTIONS"
            headers[Self.acceptPatchHeader] = "application/trickle-ice-sdpfrag"
            return Response(status: .noContent, headers: headers)
        }
        router.post("whep/:stream") { request, context in
            try await Self.withCORS { try await create(request, context) }
        }
        router.patch("whep/:stream/:session") { request, context in
            try await Self.withCORS { try await patch(request, context) }
        }
        router.delete("whep/:stream/:session") { _, context in
            try await Self.withCORS {
                let id = context.parameters.get("session") ?? ""
                guard await egress.deleteSession(id: id) else { throw Self.apiError(.sessionNotFound) }
                return Response(status: .ok, headers: Self.corsHeaders)
            }
        }
    }

    private func create(_ request: Request, _ context: LiveRelayRequestContext) async throws -> Response {
        let name = context.parameters.get("stream") ?? ""
        // Before anything is looked up or read: one address cannot post offers faster than its bucket allows.
        if let client = context.remoteIP, case .limited(let retryAfter) = offers.take(client) {
            throw APIError(.tooManyRequests, "too_many_requests", "too many WHEP offers from this address",
                           headers: [.retryAfter: "\(retryAfter)"])
        }
        // A private stream needs a viewer (or moderator) token of this stream, or the admin token; without one it is
        // answered as a stream that does not exist.
        _ = try await authorization.visibleStream(name, request)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/sdp") else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "the body must be an SDP offer (Content-Type: application/sdp)")
        }
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBodySize)
        guard let offer = String(validating: body.readableBytesView, as: UTF8.self) else {
            throw APIError.badRequest("the SDP offer is not UTF-8 text")
        }
        let maxLayer: String? = request.uri.queryParameters.get("maxLayer").map { String($0) }
        let outcome = await Self.result { () async throws(WHEPError) -> WHEPSessionCreated in
            try await egress.createSession(stream: name, offer: offer, maxLayer: maxLayer, client: context.remoteIP)
        }
        let created = try outcome.mapError(Self.apiError).get()
        var headers = Self.corsHeaders
        headers[.contentType] = "application/sdp"
        headers[.location] = "/whep/\(name)/\(created.id)"
        headers[.eTag] = created.etag
        headers[.cacheControl] = "no-store"
        headers[Self.layerHeader] = created.layer
        headers[Self.layersHeader] = created.layers.joined(separator: ", ")
        return Response(status: .created, headers: headers, body: .init(byteBuffer: ByteBuffer(string: created.answer)))
    }

    private func patch(_ request: Request, _ context: LiveRelayRequestContext) async throws -> Response {
        let id = context.parameters.get("session") ?? ""
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/trickle-ice-sdpfrag") else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "the body must be application/trickle-ice-sdpfrag")
        }
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBodySize)
        guard let fragment = String(validating: body.readableBytesView, as: UTF8.self) else {
            throw APIError.badRequest("the fragment is not UTF-8 text")
        }
        let ifMatch = request.headers[.ifMatch]
        let outcome = await Self.result { () async throws(WHEPError) in
            try await egress.trickle(id: id, fragment: fragment, ifMatch: ifMatch)
        }
        try outcome.mapError(Self.apiError).get()
        return Response(status: .noContent, headers: Self.corsHeaders)
    }

    private static func result<T>(_ body: () async throws(WHEPError) -> T) async -> Result<T, WHEPError> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    /// Errors keep the CORS headers, or a cross-origin page could not read why it was refused.
    private static func withCORS(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch var error as APIError {
            for field in corsHeaders { error.headers[field.name] = field.value }
            throw error
        }
    }

    static func apiError(_ error: WHEPError) -> APIError {
        switch error {
        case .badOffer: return APIError(.badRequest, "bad_offer", error.detail)
        case .unsupportedOffer: return APIError(.notAcceptable, "unsupported_offer", error.detail)
        case .streamOffline: return APIError(.conflict, "stream_offline", error.detail, headers: [.retryAfter: "1"])
        case .unknownLayer: return APIError(.badRequest, "unknown_layer", error.detail)
        case .capacity: return APIError(.serviceUnavailable, "capacity", error.detail, headers: [.retryAfter: "5"])
        case .tooManyRequests: return APIError(.tooManyRequests, "too_many_requests", error.detail, headers: [.retryAfter: "2"])
        case .sessionNotFound: return APIError(.notFound, "session_not_found", error.detail)
        case .iceRestartUnsupported: return APIError(.unprocessableContent, "ice_restart_unsupported", error.detail)
        case .etagMismatch: return APIError(.preconditionFailed, "etag_mismatch", error.detail)
        case .notRunning: return APIError(.serviceUnavailable, "webrtc_unavailable", error.detail)
        }
    }
}

import Hummingbird
import NIOCore
import Packager

/// The answer to a GET or HEAD of a playlist, manifest or media object: status, headers and the body's buffers
/// (shared, not copied). Computed in one place for the router and for `StreamingFastPath`, so both answer alike.
struct StreamingAnswer {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    /// Empty for HEAD and 304.
    var body: [ByteBuffer]

    var response: Response {
        Response(status: status, headers: headers, body: body.isEmpty ? ResponseBody() : ResponseBody(contentsOf: body))
    }

    static func commonHeaders(contentType: String, cacheControl: String) -> HTTPFields {
        [.contentType: contentType, .cacheControl: cacheControl, .accessControlAllowOrigin: "*",
         .accessControlExposeHeaders: "Content-Length, Content-Range, ETag, Date", .acceptRanges: "bytes"]
    }

    /// A generated text (manifest, clock): optionally an ETag of its bytes and the conditional GET it allows.
    static func text(method: HTTPRequest.Method, requestHeaders: HTTPFields, _ body: ByteBuffer, contentType: String,
                     cacheControl: String, etag: Bool) -> StreamingAnswer {
        generated(method: method, requestHeaders: requestHeaders, body, etag: etag ? RenderedManifest.etag([body]) : nil,
                  contentType: contentType, cacheControl: cacheControl)
    }

    /// A playlist rendered once per change, with the ETag made then.
    static func manifest(method: HTTPRequest.Method, requestHeaders: HTTPFields, _ manifest: RenderedManifest,
                         contentType: String, cacheControl: String) -> StreamingAnswer {
        generated(method: method, requestHeaders: requestHeaders, manifest.bytes, etag: manifest.etag,
                  contentType: contentType, cacheControl: cacheControl)
    }

    private static func generated(method: HTTPRequest.Method, requestHeaders: HTTPFields, _ body: ByteBuffer, etag: String?,
                                  contentType: String, cacheControl: String) -> StreamingAnswer {
        var headers = commonHeaders(contentType: contentType, cacheControl: cacheControl)
        headers[.acceptRanges] = nil
        if let etag {
            headers[.eTag] = etag
            if requestHeaders[.ifNoneMatch] == etag { return StreamingAnswer(status: .notModified, headers: headers, body: []) }
        }
        headers[.contentLength] = String(body.readableBytes)
        return StreamingAnswer(status: .ok, headers: headers, body: method == .head ? [] : [body])
    }

    /// An immutable media object: ETag, conditional GET, single byte ranges, HEAD. Nil when the requested range
    /// cannot be satisfied (the caller answers 416).
    static func media(method: HTTPRequest.Method, requestHeaders: HTTPFields, _ buffers: [ByteBuffer], tag: String,
                      contentType: String, cacheControl: String) -> StreamingAnswer? {
        var headers = commonHeaders(contentType: contentType, cacheControl: cacheControl)
        headers[.eTag] = tag
        if let match = requestHeaders[.ifNoneMatch], match == tag || match == "*" {
            return StreamingAnswer(status: .notModified, headers: headers, body: [])
        }
        let total = buffers.reduce(0) { $0 + $1.readableBytes }
        var selected = buffers
        var status = HTTPResponse.Status.ok
        if let rangeHeader = requestHeaders[.range] {
            guard let range = ByteRange.parse(rangeHeader, length: total) else { return nil }
            selected = StreamingRoutes.slice(buffers, range)
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(total)"
        }
        headers[.contentLength] = String(selected.reduce(0) { $0 + $1.readableBytes })
        return StreamingAnswer(status: status, headers: headers, body: method == .head ? [] : selected)
    }
}

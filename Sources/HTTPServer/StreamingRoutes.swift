import Audience
import Foundation
import Hummingbird
import MediaCore
import NIOCore
import Packager
import Catalog

/// DASH and HLS from the packager's memory: manifests, init segments, segments and LL parts, and the clock that
/// DASH `UTCTiming` points at.
///
/// Media URLs are immutable (a number is never reused for different bytes), so they carry a long `max-age` and an
/// ETag and an HTTP cache in front serves them unchanged; manifests change every part and live for at most a second.
///
/// A private stream is watched with a viewer token (`?token=` — players cannot set headers — or `Authorization:
/// Bearer`) on the manifest; the manifest then names every URL with a signed, expiring query (`?exp=…&sig=…`, see
/// `MediaURLSigner`), which admits the playlists, segments and parts it names without the token, and which a cache
/// in front passes through.
public struct StreamingRoutes: Sendable {
    let packager: Packager
    let access: StreamingAccess?
    /// Counts the players fetching manifests (moderators' viewer counts), when given.
    let players: PlayerTally?
    /// Longest a blocking playlist or part request is held.
    let blockingTimeout: Duration
    /// How many requests may be held waiting for media, overall and per client address.
    let blockingRequests: BlockingRequestLimiter

    /// Without `access` every stream is served to anyone.
    public init(packager: Packager, access: StreamingAccess? = nil, players: PlayerTally? = nil, blockingTimeout: Duration = .seconds(6),
                blockingRequests: BlockingRequestLimiter = BlockingRequestLimiter()) {
        self.packager = packager
        self.access = access
        self.players = players
        self.blockingTimeout = blockingTimeout
        self.blockingRequests = blockingRequests
    }

    /// Notes a manifest or playlist fetch: its client (address and User-Agent) is one player of the stream.
    private func sawPlayer(_ request: Request, _ context: LiveRelayRequestContext, stream: String, kind: String) {
        guard let players else { return }
        players.saw(stream: stream, kind: kind, client: Self.playerClient(address: context.remoteIP, userAgent: request.headers[.userAgent]))
    }

    /// How the player tally names a client: its address and User-Agent.
    static func playerClient(address: String?, userAgent: String?) -> String {
        "\(address ?? "-") \(userAgent?.prefix(200) ?? "")"
    }

    public func register(on router: Router<LiveRelayRequestContext>) {
        for method in [HTTPRequest.Method.get, .head] {
            router.on("api/time", method: method) { request, _ in
                Self.respond(request, ByteBuffer(string: WallClockFormat.iso8601(epochMilliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded()))), contentType: "text/plain; charset=utf-8",
                             cacheControl: "no-store", etag: false)
            }
            router.on("dash/:stream/manifest.mpd", method: method) { request, context in
                let stream = try Self.streamName(context)
                let admission = try await admit(request, stream: stream, prefix: "/dash/\(stream)/")
                let timeURL = Self.absoluteURL(request, path: "/api/time")
                let mediaQuery = signedQuery(admission, prefix: Self.mediaPrefix(stream))
                guard let mpd = packager.dashManifest(stream: stream, utcTimingURL: timeURL, query: mediaQuery) else {
                    throw Self.notPackaged(stream)
                }
                sawPlayer(request, context, stream: stream, kind: "dash")
                return Self.respond(request, ByteBuffer(string: mpd), contentType: "application/dash+xml",
                                    cacheControl: admission.manifestCacheControl, etag: true)
            }
            router.on("hls/:stream/:playlist", method: method) { request, context in
                try await playlist(request, context)
            }
            router.on("cmaf/:stream/:track/:file", method: method) { request, context in
                try await media(request, context)
            }
        }
    }

    // MARK: Answers without the router

    /// What `StreamingFastPath` may answer on the connection's event loop: complete media objects and plain
    /// (non-blocking) playlists and manifests of open streams. Nil for everything else — private streams, requests
    /// that wait (preload hints, blocking reloads, segments still being written), anything the router answers
    /// with an error — which the router then answers as before.
    func immediateAnswer(to request: HTTPRequest, client: () -> String) -> StreamingAnswer? {
        guard request.method == .get || request.method == .head, let target = request.path else { return nil }
        let pathEnd = target.firstIndex(of: "?") ?? target.endIndex
        let parts = target[..<pathEnd].split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4 || parts.count == 5, parts[0].isEmpty else { return nil }
        let stream = String(parts[2])
        // Private streams, and names no stream has (never created, or deleted), are the router's to answer.
        guard StreamName.isValid(stream), access.map({ $0.lookup(stream)?.isPrivate == false }) ?? true else { return nil }
        switch (parts[1], parts.count) {
        case ("cmaf", 5):
            return immediateMedia(request, stream: stream, track: String(parts[3]), file: String(parts[4]))
        case ("hls", 4):
            // Blocking reloads (and whatever else names an LL-HLS directive) wait in the router.
            guard !target[pathEnd...].contains("_HLS_") else { return nil }
            return immediatePlaylist(request, stream: stream, file: parts[3], client: client)
        case ("dash", 4) where parts[3] == "manifest.mpd":
            let timeURL = Self.absoluteURL(authority: request.authority, headers: request.headerFields, path: "/api/time")
            guard let mpd = packager.dashManifest(stream: stream, utcTimingURL: timeURL) else { return nil }
            players?.saw(stream: stream, kind: "dash", client: client())
            return StreamingAnswer.text(method: request.method, requestHeaders: request.headerFields, ByteBuffer(string: mpd),
                                        contentType: "application/dash+xml", cacheControl: Admission.open.manifestCacheControl,
                                        etag: true)
        default:
            return nil
        }
    }

    private func immediateMedia(_ request: HTTPRequest, stream: String, track: String, file name: String) -> StreamingAnswer? {
        guard Self.isSafeName(track), let file = MediaFile(name), let epoch = packager.epoch(of: stream),
              let buffers = availableMedia(stream: stream, track: track, file: file) else { return nil }
        return StreamingAnswer.media(method: request.method, requestHeaders: request.headerFields, buffers,
                                     tag: Self.mediaTag(epoch: epoch, track: track, file: name),
                                     contentType: Self.contentType(track, initialization: file.isInitialization),
                                     cacheControl: Admission.open.mediaCacheControl)
    }

    /// What is held of a media object now: an init segment, a part that exists, a complete segment. Nil for
    /// anything still to come or gone.
    private func availableMedia(stream: String, track: String, file: MediaFile) -> [ByteBuffer]? {
        switch file {
        case .initialization(let id):
            return packager.initSegment(stream: stream, track: track, id: id).map { [$0] }
        case .part(let number, let index):
            guard let segment = packager.segment(stream: stream, track: track, number: number).segment,
                  index < segment.parts.count else { return nil }
            return [segment.parts[index].data]
        case .segment(let number):
            guard case .complete(let segment) = packager.segment(stream: stream, track: track, number: number) else { return nil }
            return segment.parts.map(\.data)
        }
    }

    static func mediaTag(epoch: String, track: String, file: String) -> String { "\"\(epoch)-\(track)-\(file)\"" }

    private func immediatePlaylist(_ request: HTTPRequest, stream: String, file: Substring, client: () -> String) -> StreamingAnswer? {
        guard file.hasSuffix(".m3u8") else { return nil }
        let name = String(file.dropLast(5))
        guard Self.isSafeName(name), let manifest = renderedPlaylist(stream: stream, name: name, query: "") else { return nil }
        players?.saw(stream: stream, kind: "hls", client: client())
        return Self.playlistAnswer(request.method, request.headerFields, manifest, cacheControl: Admission.open.manifestCacheControl)
    }

    /// The multivariant playlist (`master`) or a track's media playlist, as rendered for this change of the stream.
    private func renderedPlaylist(stream: String, name: String, query: String) -> RenderedManifest? {
        name == "master" ? packager.renderedMultivariantPlaylist(stream: stream, query: query)
            : packager.renderedMediaPlaylist(stream: stream, track: name, query: query)
    }

    static func playlistAnswer(_ method: HTTPRequest.Method, _ headers: HTTPFields, _ manifest: RenderedManifest,
                               cacheControl: String) -> StreamingAnswer {
        StreamingAnswer.manifest(method: method, requestHeaders: headers, manifest, contentType: "application/vnd.apple.mpegurl",
                                 cacheControl: cacheControl)
    }

    // MARK: HLS playlists

    private func playlist(_ request: Request, _ context: LiveRelayRequestContext) async throws -> Response {
        let stream = try Self.streamName(context)
        let file = context.parameters.get("playlist") ?? ""
        guard file.hasSuffix(".m3u8") else { throw APIError.notFound("no such playlist: \(file)") }
        let name = String(file.dropLast(5))
        guard Self.isSafeName(name) else { throw APIError.badRequest("invalid playlist name") }
        let admission = try await admit(request, stream: stream, prefix: Self.playlistPrefix(stream))
        sawPlayer(request, context, stream: stream, kind: "hls")
        if name == "master" {
            let playlistQuery = signedQuery(admission, prefix: Self.playlistPrefix(stream))
            guard let manifest = renderedPlaylist(stream: stream, name: name, query: playlistQuery) else { throw Self.notPackaged(stream) }
            return Self.playlistAnswer(request.method, request.headers, manifest, cacheControl: admission.manifestCacheControl).response
        }
        guard let newest = packager.newestSegment(stream: stream, track: name) else {
            throw APIError.notFound("stream \(stream) has no track \(name)")
        }
        // Blocking reload (RFC 8216bis §6.2.5.2): hold the request until segment _HLS_msn (part _HLS_part) exists.
        let query = request.uri.queryParameters
        if let msnText = query.get("_HLS_msn") {
            guard let msn = Int(msnText), msn >= 0 else { throw APIError.badRequest("_HLS_msn must be a non-negative integer") }
            var part: Int?
            if let partText = query.get("_HLS_part") {
                guard let value = Int(partText), (0...1000).contains(value) else { throw APIError.badRequest("_HLS_part is out of range") }
                part = value
            }
            // More than two segments ahead of the live edge can never be answered in time.
            guard msn <= newest.number + 2 else {
                throw APIError.badRequest("_HLS_msn \(msn) is beyond the live edge (\(newest.number))")
            }
            if newest.live {
                let reached = try await blockingRequests.holding(address: context.remoteIP) {
                    await packager.waitFor(stream: stream, track: name, msn: msn, part: part, timeout: blockingTimeout)
                }
                if !reached { throw APIError(.serviceUnavailable, "not_ready", "segment \(msn) did not arrive in time") }
            }
        } else if query.get("_HLS_part") != nil {
            throw APIError.badRequest("_HLS_part without _HLS_msn")
        }
        let mediaQuery = signedQuery(admission, prefix: Self.mediaPrefix(stream))
        guard let manifest = renderedPlaylist(stream: stream, name: name, query: mediaQuery) else { throw Self.notPackaged(stream) }
        return Self.playlistAnswer(request.method, request.headers, manifest, cacheControl: admission.manifestCacheControl).response
    }

    // MARK: Private streams

    /// What a request for `stream` is let see. A stream that does not exist (never created, or deleted): nothing,
    /// 404. A public stream: everything, URLs plain. A private one: with a valid signed query issued for the
    /// request's path prefix and the stream's current incarnation, what it names; with a viewer token, the
    /// manifests, whose URLs get a fresh signed query. Without either — no credentials, a bad token, a forged
    /// signature — exactly the 404 of a stream that does not exist, so the answer never tells whether a private name
    /// exists. Only a genuine signature past its expiry says so (`403 url_expired`: its holder was admitted before).
    private func admit(_ request: Request, stream: String, prefix: String) async throws -> Admission {
        guard let access else { return .open }
        guard let entry = access.lookup(stream) else { throw Self.notPackaged(stream) }
        guard entry.isPrivate else { return .open }
        let query = request.uri.queryParameters
        let expires = query.get("exp").map { String($0) }
        let signature = query.get("sig").map { String($0) }
        switch access.signer.verify(prefix: prefix, incarnation: entry.incarnation, expires: expires, signature: signature) {
        case .valid:
            return .signed(incarnation: entry.incarnation, expires: Int(expires ?? "") ?? 0)
        case .expired:
            throw APIError(.forbidden, "url_expired", "the signed URL has expired: load the manifest again with a viewer token")
        case .invalid:
            throw Self.notPackaged(stream)
        case .missing:
            break
        }
        let token = AudienceAuthorization.token(request)
        let claims = try? await access.authorization.claims(request, stream: stream, incarnation: entry.incarnation, token: .some(token))
        guard claims != nil else { throw Self.notPackaged(stream) }
        return .token(incarnation: entry.incarnation, expires: access.signer.expiry())
    }

    /// The path prefixes signed queries are issued for: media, and HLS media playlists (named by the multivariant one).
    static func mediaPrefix(_ stream: String) -> String { "/cmaf/\(stream)/" }
    static func playlistPrefix(_ stream: String) -> String { "/hls/\(stream)/" }

    /// The query a manifest admitted this way appends to the URLs it names under `prefix`.
    private func signedQuery(_ admission: Admission, prefix: String) -> String {
        switch admission {
        case .open: return ""
        case .signed(let incarnation, let expires), .token(let incarnation, let expires):
            return "?" + (access?.signer.query(prefix: prefix, incarnation: incarnation, expires: expires) ?? "")
        }
    }

    enum Admission {
        case open
        /// By a signed query; the manifests it admits name URLs with queries of the same expiry.
        case signed(incarnation: String, expires: Int)
        /// By a viewer token; the manifests name URLs with fresh signed queries.
        case token(incarnation: String, expires: Int)

        /// A private stream's manifests are for their requester only: a shared cache must not hand them to others.
        var manifestCacheControl: String {
            if case .open = self { "public, max-age=1" } else { "private, max-age=1" }
        }

        /// Media named by a signed URL may be cached by URL; media fetched with a token only by the requester.
        var mediaCacheControl: String {
            if case .token = self { "private, max-age=31536000, immutable" } else { "public, max-age=31536000, immutable" }
        }
    }

    // MARK: Media

    enum MediaFile: Equatable {
        case initialization(Int)
        case segment(Int)
        case part(Int, Int)

        init?(_ file: String) {
            if file.hasPrefix("init-"), file.hasSuffix(".mp4"), let id = Int(file.dropFirst(5).dropLast(4)), id >= 0 {
                self = .initialization(id)
                return
            }
            guard file.hasSuffix(".m4s") else { return nil }
            let fields = file.dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
            guard fields.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
            let numbers = fields.compactMap { Int($0) }
            switch numbers.count {
            case 1: self = .segment(numbers[0])
            case 2: self = .part(numbers[0], numbers[1])
            default: return nil
            }
        }

        var isInitialization: Bool {
            if case .initialization = self { true } else { false }
        }
    }

    private func media(_ request: Request, _ context: LiveRelayRequestContext) async throws -> Response {
        let stream = try Self.streamName(context)
        let track = context.parameters.get("track") ?? ""
        guard Self.isSafeName(track) else { throw APIError.badRequest("invalid track name") }
        guard let file = MediaFile(context.parameters.get("file") ?? "") else { throw APIError.notFound("no such media file") }
        let cacheControl = try await admit(request, stream: stream, prefix: Self.mediaPrefix(stream)).mediaCacheControl
        guard let epoch = packager.epoch(of: stream) else { throw Self.notPackaged(stream) }
        let tag = Self.mediaTag(epoch: epoch, track: track, file: context.parameters.get("file") ?? "")
        let contentType = Self.contentType(track, initialization: file.isInitialization)
        if let buffers = availableMedia(stream: stream, track: track, file: file) {
            return try Self.respondMedia(request, buffers, tag: tag, contentType: contentType, cacheControl: cacheControl)
        }
        switch file {
        case .initialization:
            throw APIError.notFound("no such init segment")
        case .part(let number, let index):
            // A preload hint names the next part before it exists: hold the request until it does.
            guard Self.mayWait(packager.segment(stream: stream, track: track, number: number)), index < 1000 else {
                throw APIError.notFound("no such part")
            }
            _ = try await blockingRequests.holding(address: context.remoteIP) {
                await packager.waitFor(stream: stream, track: track, msn: number, part: index, timeout: blockingTimeout)
            }
            guard let buffers = availableMedia(stream: stream, track: track, file: file) else { throw APIError.notFound("no such part") }
            return try Self.respondMedia(request, buffers, tag: tag, contentType: contentType, cacheControl: cacheControl)
        case .segment(let number):
            var lookup = packager.segment(stream: stream, track: track, number: number)
            if case .upcoming = lookup {
                // LL-DASH asks for a segment availabilityTimeOffset early; its first chunk is moments away.
                _ = try await blockingRequests.holding(address: context.remoteIP) {
                    await packager.waitFor(stream: stream, track: track, msn: number, part: 0, timeout: blockingTimeout)
                }
                lookup = packager.segment(stream: stream, track: track, number: number)
            }
            switch lookup {
            case .complete(let segment):
                return try Self.respondMedia(request, segment.parts.map(\.data), tag: tag, contentType: contentType, cacheControl: cacheControl)
            case .inProgress(let segment):
                return chunked(request, stream: stream, track: track, segment: segment)
            case .upcoming, .notFound:
                throw APIError.notFound("segment \(number) is not in the window")
            }
        }
    }

    private static func mayWait(_ lookup: Packager.SegmentLookup) -> Bool {
        switch lookup {
        case .inProgress, .upcoming: return true
        case .complete, .notFound: return false
        }
    }

    /// LL-DASH: the segment being written goes out with chunked transfer, each CMAF chunk as soon as it exists.
    private func chunked(_ request: Request, stream: String, track: String, segment: MediaSegment) -> Response {
        let headers = StreamingAnswer.commonHeaders(contentType: Self.contentType(track, initialization: false), cacheControl: "no-cache")
        if request.method == .head {
            return Response(status: .ok, headers: headers, body: ResponseBody())
        }
        let packager = self.packager
        let timeout = blockingTimeout
        let body = ResponseBody { writer in
            var sent = 0
            var current = segment
            delivery: while true {
                if sent < current.parts.count {
                    try await writer.write(contentsOf: current.parts[sent...].map(\.data))
                    sent = current.parts.count
                }
                if current.isComplete { break }
                let arrived = await packager.waitFor(stream: stream, track: track, msn: current.number, part: sent, timeout: timeout)
                guard arrived else { break }
                switch packager.segment(stream: stream, track: track, number: current.number) {
                case .complete(let next), .inProgress(let next): current = next
                case .upcoming, .notFound: break delivery
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    // MARK: Responses

    static func contentType(_ track: String, initialization: Bool) -> String {
        let kind = track.hasSuffix("-audio") ? "audio" : "video"
        return "\(kind)/\(initialization ? "mp4" : "iso.segment")"
    }

    static func respond(_ request: Request, _ body: ByteBuffer, contentType: String, cacheControl: String, etag: Bool) -> Response {
        StreamingAnswer.text(method: request.method, requestHeaders: request.headers, body, contentType: contentType,
                             cacheControl: cacheControl, etag: etag).response
    }

    /// An immutable media object: ETag, conditional GET, single byte ranges, HEAD.
    static func respondMedia(_ request: Request, _ buffers: [ByteBuffer], tag: String, contentType: String,
                             cacheControl: String = "public, max-age=31536000, immutable") throws -> Response {
        guard let answer = StreamingAnswer.media(method: request.method, requestHeaders: request.headers, buffers, tag: tag,
                                                 contentType: contentType, cacheControl: cacheControl) else {
            let total = buffers.reduce(0) { $0 + $1.readableBytes }
            throw APIError(.rangeNotSatisfiable, "range_not_satisfiable",
                           "range \(request.headers[.range] ?? "") does not fit \(total) bytes",
                           headers: [.contentRange: "bytes */\(total)"])
        }
        return answer.response
    }

    /// The readable views of `buffers` covering `range` of their concatenation; no bytes are copied.
    static func slice(_ buffers: [ByteBuffer], _ range: Range<Int>) -> [ByteBuffer] {
        var result: [ByteBuffer] = []
        var offset = 0
        for buffer in buffers {
            let start = max(range.lowerBound, offset)
            let end = min(range.upperBound, offset + buffer.readableBytes)
            if start < end, let slice = buffer.getSlice(at: buffer.readerIndex + start - offset, length: end - start) {
                result.append(slice)
            }
            offset += buffer.readableBytes
        }
        return result
    }

    /// DASH clients fetch the UTCTiming source relative to the page, not the MPD: it has to be absolute.
    static func absoluteURL(_ request: Request, path: String) -> String {
        absoluteURL(authority: request.head.authority, headers: request.headers, path: path)
    }

    static func absoluteURL(authority: String?, headers: HTTPFields, path: String) -> String {
        let host = authority ?? "localhost"
        let scheme = headers[.init("X-Forwarded-Proto")!] == "https" ? "https" : "http"
        return "\(scheme)://\(host)\(path)"
    }

    static func streamName(_ context: LiveRelayRequestContext) throws -> String {
        let name = context.parameters.get("stream") ?? ""
        guard StreamName.isValid(name) else { throw APIError.badRequest("invalid stream name") }
        return name
    }

    static func isSafeName(_ name: String) -> Bool { StreamName.isValid(name) }

    static func notPackaged(_ stream: String) -> APIError {
        APIError.notFound("stream \(stream) is not being packaged")
    }
}

/// A single `Range: bytes=…` request (RFC 9110 §14.1.2); several ranges are not served.
enum ByteRange {
    static func parse(_ header: String, length: Int) -> Range<Int>? {
        guard header.hasPrefix("bytes="), length > 0 else { return nil }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0 else { return nil }
            return max(0, length - suffix)..<length
        }
        guard let start = Int(first), start >= 0, start < length else { return nil }
        if last.isEmpty { return start..<length }
        guard let end = Int(last), end >= start else { return nil }
        return start..<(min(end, length - 1) + 1)
    }
}

/// What DASH/HLS serving needs to know of streams: which exist, with which incarnation, and which are private (from
/// memory, asked on every request), how to check a viewer token, and the URL signer.
public struct StreamingAccess: Sendable {
    let lookup: @Sendable (String) -> StreamAccessEntry?
    let authorization: AudienceAuthorization
    let signer: MediaURLSigner

    public init(tokens: AudienceTokenAuthority, admin: AdminAuthorization, catalog: StreamCatalog) {
        lookup = { catalog.access($0) }
        authorization = AudienceAuthorization(tokens: tokens, admin: admin, catalog: catalog)
        signer = tokens.mediaURLs
    }
}

extension Packager.SegmentLookup {
    /// The segment, complete or being written; nil when there is none yet or any more.
    var segment: MediaSegment? {
        switch self {
        case .complete(let segment), .inProgress(let segment): segment
        case .upcoming, .notFound: nil
        }
    }
}

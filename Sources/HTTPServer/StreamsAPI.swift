import Audience
import Foundation
import Hummingbird
import MediaCore
import MediaRouter
import Catalog

/// `/api/streams`: the operator creates streams, reads their publish keys and live state, rotates keys, deletes.
public struct StreamsAPI: Sendable {
    let catalog: StreamCatalog
    let router: MediaRouter
    let admin: AdminAuthorization
    /// Audience tokens, so a viewer or moderator of a private stream may read its status (its watch page does).
    let tokens: AudienceTokenAuthority?
    /// How broadcasters reach this node's RTMP ingest, e.g. `rtmp://host:1935/live`.
    let rtmpIngestURL: String
    /// Drops what the node holds of a deleted stream beyond the router (packaged window, WebRTC viewers, event
    /// listeners); runs before the DELETE is answered.
    let forget: @Sendable (String) async -> Void

    public init(catalog: StreamCatalog, router: MediaRouter, admin: AdminAuthorization, tokens: AudienceTokenAuthority? = nil,
                rtmpIngestURL: String, forget: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.catalog = catalog
        self.router = router
        self.admin = admin
        self.tokens = tokens
        self.rtmpIngestURL = rtmpIngestURL
        self.forget = forget
    }

    public func register(on router: Router<LiveRelayRequestContext>) {
        registerPublicListing(on: router)
        let streams = router.group("api/streams")
        streams.post { request, context in
            try admin.requireAdmin(request)
            let body = try await request.decode(as: CreateStreamRequest.self, context: context)
            guard StreamName.isValid(body.name) else {
                throw APIError.badRequest("stream names are 1-64 characters of a-z, 0-9, '_' and '-'")
            }
            let record: StreamEntry
            do {
                record = try await catalog.create(name: body.name, isPrivate: body.private ?? false)
            } catch StreamCatalogError.alreadyExists {
                throw APIError(.conflict, "stream_exists", "a stream named '\(body.name)' already exists")
            }
            context.logger.info("stream created", metadata: ["stream": "\(record.name)"])
            return EditedResponse(status: .created, headers: [.location: "/api/streams/\(record.name)"],
                                  response: describe(record, includeKey: true))
        }
        streams.get { request, _ in
            try admin.requireAdmin(request)
            let records = try await catalog.list()
            return StreamList(streams: records.map { describe($0, includeKey: true) })
        }
        streams.get(":name") { request, context in
            let record = try await find(context)
            let isAdmin = admin.isAdmin(request)
            // Anyone may ask whether a public stream is live (viewer pages do); a private one needs a token of it
            // (viewer or moderator) or the admin token, and keys and the publisher's address need the admin token.
            // Without credentials for it a private stream is answered exactly as a name no stream has, so the answer
            // does not tell whether it exists.
            if record.isPrivate, !isAdmin {
                guard let tokens else { throw Self.noSuchStream(record.name) }
                let audience = AudienceAuthorization(tokens: tokens, admin: admin, catalog: catalog)
                _ = try await audience.visibleStream(record.name, request)
            }
            return describe(record, includeKey: isAdmin)
        }
        streams.delete(":name") { request, context in
            try admin.requireAdmin(request)
            let name = try context.parameters.require("name")
            // From here every media path of the name answers 404: the catalog no longer knows it, the publisher is
            // cut off, and the packaged window, WebRTC viewers and event listeners are dropped.
            guard try await catalog.delete(name) else { throw APIError.notFound("no stream named '\(name)'") }
            await forget(name)
            context.logger.info("stream deleted", metadata: ["stream": "\(name)"])
            return Response(status: .noContent)
        }
        streams.post(":name/rotate-key") { request, context in
            try admin.requireAdmin(request)
            let name = try context.parameters.require("name")
            // A broadcaster on the old key is cut off: rotating is what an operator does after a key leaked.
            guard let record = try await catalog.rotateKey(name) else { throw APIError.notFound("no stream named '\(name)'") }
            context.logger.info("publish key rotated", metadata: ["stream": "\(name)"])
            return describe(record, includeKey: true)
        }
    }

    /// The node's public streams for its start page: name, whether live and the ingest's picture. No token.
    private func registerPublicListing(on router: Router<LiveRelayRequestContext>) {
        router.get("api/public/streams") { _, _ in
            let records = try await catalog.list()
            return PublicStreamList(streams: records.filter { !$0.isPrivate }.map { record in
                let status = self.router.status(of: record.name)
                return PublicStream(name: record.name, live: status != nil,
                                    width: status?.video?.width, height: status?.video?.height,
                                    watchURL: "/watch/\(record.name)")
            })
        }
    }

    private func find(_ context: LiveRelayRequestContext) async throws -> StreamEntry {
        let name = try context.parameters.require("name")
        guard StreamName.isValid(name), let record = try await catalog.get(name) else { throw Self.noSuchStream(name) }
        return record
    }

    static func noSuchStream(_ name: String) -> APIError {
        APIError.notFound("no stream named '\(name)'")
    }

    func describe(_ record: StreamEntry, includeKey: Bool) -> StreamDescription {
        let status = router.status(of: record.name)
        return StreamDescription(
            name: record.name,
            incarnation: includeKey ? record.incarnation : nil,
            publishKey: includeKey ? record.publishKey : nil,
            private: record.isPrivate,
            live: status != nil,
            createdAt: record.createdAt,
            ingestURL: includeKey ? rtmpIngestURL : nil,
            ingest: status.map { IngestDescription($0, includeAddress: includeKey) })
    }
}

struct PublicStreamList: ResponseEncodable {
    var streams: [PublicStream]
}

struct PublicStream: ResponseEncodable {
    var name: String
    var live: Bool
    var width: Int?
    var height: Int?
    var watchURL: String
}

struct StreamList: ResponseEncodable {
    var streams: [StreamDescription]
}

struct StreamDescription: ResponseEncodable {
    var name: String
    /// This stream as distinct from any other of the same name before or after it (admin only).
    var incarnation: String?
    var publishKey: String?
    var `private`: Bool
    var live: Bool
    var createdAt: Date
    var ingestURL: String?
    var ingest: IngestDescription?
}

struct IngestDescription: Encodable {
    struct Video: Encodable {
        var codec: String
        var width: Int
        var height: Int
        var fps: Double?
    }

    struct Audio: Encodable {
        var codec: String
        var sampleRate: Int
        var channels: Int
    }

    var source: String
    var remoteAddress: String?
    var video: Video?
    var audio: Audio?
    var bitrateKbps: Int
    var videoFrames: Int
    var audioFrames: Int
    var uptimeSeconds: Double

    /// `includeAddress`: the publisher's address is for the operator, never in the public status.
    init(_ status: IngestStatus, includeAddress: Bool) {
        source = status.publisher.source
        remoteAddress = includeAddress ? status.publisher.remoteAddress : nil
        video = status.video.map { Video(codec: $0.codec.rawValue, width: $0.width, height: $0.height, fps: status.frameRate) }
        audio = status.audio.map { Audio(codec: $0.codec.rawValue, sampleRate: $0.sampleRate, channels: $0.channels) }
        bitrateKbps = status.bitrateKbps
        videoFrames = status.videoFrames
        audioFrames = status.audioFrames
        let elapsed = ContinuousClock.now - status.startedAt
        uptimeSeconds = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18).rounded(toPlaces: 1)
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}

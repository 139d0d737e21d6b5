import Foundation
import Hummingbird
import MediaCore
import MediaRouter
import Storage

/// `/api/streams`: the operator creates streams, reads their publish keys and live state, rotates keys, deletes.
public struct StreamsAPI: Sendable {
    let store: StreamStore
    let keys: PublishKeyIndex
    let router: MediaRouter
    let admin: AdminAuthorization
    /// How broadcasters reach this node's RTMP ingest, e.g. `rtmp://host:1935/live`.
    let rtmpIngestURL: String

    public init(store: StreamStore, keys: PublishKeyIndex, router: MediaRouter, admin: AdminAuthorization, rtmpIngestURL: String) {
        self.store = store
        self.keys = keys
        self.router = router
        self.admin = admin
        self.rtmpIngestURL = rtmpIngestURL
    }

    public func register(on router: Router<LiveRelayRequestContext>) {
        let streams = router.group("api/streams")
        streams.post { request, context in
            try admin.requireAdmin(request)
            let body = try await request.decode(as: CreateStreamRequest.self, context: context)
            guard StreamName.isValid(body.name) else {
                throw APIError.badRequest("stream names are 1-64 characters of a-z, 0-9, '_' and '-'")
            }
            let record: StreamRecord
            do {
                record = try await store.create(name: body.name, isPrivate: body.private ?? false)
            } catch StreamStoreError.alreadyExists {
                throw APIError(.conflict, "stream_exists", "a stream named '\(body.name)' already exists")
            }
            keys.set(record)
            context.logger.info("stream created", metadata: ["stream": "\(record.name)"])
            return EditedResponse(status: .created, headers: [.location: "/api/streams/\(record.name)"],
                                  response: describe(record, includeKey: true))
        }
        streams.get { request, _ in
            try admin.requireAdmin(request)
            let records = try await store.list()
            return StreamList(streams: records.map { describe($0, includeKey: true) })
        }
        streams.get(":name") { request, context in
            let record = try await find(context)
            let isAdmin = admin.isAdmin(request)
            // Anyone may ask whether a public stream is live (viewer pages do); keys and private streams need the admin token.
            guard isAdmin || !record.isPrivate else { throw APIError.unauthorized }
            return describe(record, includeKey: isAdmin)
        }
        streams.delete(":name") { request, context in
            try admin.requireAdmin(request)
            let name = try context.parameters.require("name")
            guard try await store.delete(name) else { throw APIError.notFound("no stream named '\(name)'") }
            keys.remove(stream: name)
            self.router.evict(stream: name)
            context.logger.info("stream deleted", metadata: ["stream": "\(name)"])
            return Response(status: .noContent)
        }
        streams.post(":name/rotate-key") { request, context in
            try admin.requireAdmin(request)
            let name = try context.parameters.require("name")
            guard let record = try await store.rotateKey(name) else { throw APIError.notFound("no stream named '\(name)'") }
            keys.set(record)
            // A broadcaster on the old key is cut off: rotating is what an operator does after a key leaked.
            self.router.evict(stream: name)
            context.logger.info("publish key rotated", metadata: ["stream": "\(name)"])
            return describe(record, includeKey: true)
        }
    }

    private func find(_ context: LiveRelayRequestContext) async throws -> StreamRecord {
        let name = try context.parameters.require("name")
        guard StreamName.isValid(name), let record = try await store.get(name) else {
            throw APIError.notFound("no stream named '\(name)'")
        }
        return record
    }

    func describe(_ record: StreamRecord, includeKey: Bool) -> StreamDescription {
        let status = router.status(of: record.name)
        return StreamDescription(
            name: record.name,
            publishKey: includeKey ? record.publishKey : nil,
            private: record.isPrivate,
            live: status != nil,
            createdAt: record.createdAt,
            ingestURL: includeKey ? rtmpIngestURL : nil,
            ingest: status.map(IngestDescription.init))
    }
}

struct StreamList: ResponseEncodable {
    var streams: [StreamDescription]
}

struct StreamDescription: ResponseEncodable {
    var name: String
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

    init(_ status: IngestStatus) {
        source = status.publisher.source
        remoteAddress = status.publisher.remoteAddress
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

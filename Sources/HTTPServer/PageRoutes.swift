import Foundation
import Hummingbird
import Logging

/// The browser pages (`signaling/`): `/` lists the live streams, `/watch/{stream}` plays one, `/moderate/{stream}`
/// is the moderator's desk, `/static/*` serves their scripts and styles and `/static/vendor/*` the player libraries
/// the set-up installs (`tools/setup_players.sh`). The files are read once at start and served from memory; only
/// names that were in the folders then can be asked for, so a path can never reach outside them.
public struct PageRoutes: Sendable {
    struct Asset: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
    }

    let assets: [String: Asset]
    let vendor: [String: Asset]

    public init(directory: String, logger: Logger) {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        if files.isEmpty {
            logger.warning("no browser pages found; /watch pages are unavailable", metadata: ["directory": "\(directory)"])
        }
        assets = Self.load(files, from: directory)
        let vendorDirectory = (directory as NSString).appendingPathComponent("vendor")
        let vendorFiles = (try? FileManager.default.contentsOfDirectory(atPath: vendorDirectory)) ?? []
        vendor = Self.load(vendorFiles, from: vendorDirectory)
        if !files.isEmpty, vendor.isEmpty {
            logger.warning("no player libraries in signaling/vendor (tools/setup_players.sh installs them); pages play WebRTC and native HLS only")
        }
    }

    /// The files of one folder that have a known type and are at most 1 MiB.
    private static func load(_ files: [String], from directory: String) -> [String: Asset] {
        var assets: [String: Asset] = [:]
        for name in files {
            guard let type = contentTypes[(name as NSString).pathExtension],
                  let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)),
                  data.count <= 1 << 20 else { continue }
            assets[name] = Asset(body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(fnv1a(data))\"")
        }
        return assets
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "yaml": "application/yaml; charset=utf-8",
    ]

    public func register(on router: Router<LiveRelayRequestContext>) {
        router.get("/") { request, _ in try serve("index.html", request) }
        router.get("watch/:stream") { request, _ in try serve("watch.html", request) }
        router.get("moderate/:stream") { request, _ in try serve("moderate.html", request) }
        router.get("static/:file") { request, context in
            try serve(try context.parameters.require("file"), request)
        }
        router.get("static/vendor/:file") { request, context in
            let name = try context.parameters.require("file")
            guard let asset = vendor[name] else {
                throw APIError.notFound("no player library named '\(name)' (tools/setup_players.sh installs them)")
            }
            return serve(asset, request)
        }
    }

    private func serve(_ name: String, _ request: Request) throws -> Response {
        guard let asset = assets[name] else { throw APIError.notFound("no page named '\(name)'") }
        return serve(asset, request)
    }

    private func serve(_ asset: Asset, _ request: Request) -> Response {
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: [.eTag: asset.etag])
        }
        return Response(status: .ok,
                        headers: [.contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache"],
                        body: .init(byteBuffer: asset.body))
    }

    /// A content fingerprint for ETags (not security relevant).
    private static func fnv1a(_ data: Data) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in data {
            hash ^= UInt64(byte)
            hash &*= 0x100000001b3
        }
        return String(hash, radix: 16)
    }

    /// Finds the pages folder: as configured (relative to the working directory), else beside the executable's
    /// checkout (`.build/<config>/liverelay` → `signaling/`), so `make run` works from anywhere.
    public static func locateDirectory(configured: String) -> String {
        if FileManager.default.fileExists(atPath: configured) { return configured }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent(configured).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return configured
    }
}

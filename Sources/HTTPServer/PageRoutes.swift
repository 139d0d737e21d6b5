import Foundation
import Hummingbird
import Logging

/// The browser pages (`signaling/`): `/` lists how to watch, `/watch/{stream}` plays a stream, `/static/*` serves
/// their scripts and styles. The files are read once at start and served from memory; only names that were in
/// the folder then can be asked for, so a path can never reach outside it.
public struct PageRoutes: Sendable {
    struct Asset: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
    }

    let assets: [String: Asset]

    public init(directory: String, logger: Logger) {
        var assets: [String: Asset] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        if files.isEmpty {
            logger.warning("no browser pages found; /watch pages are unavailable", metadata: ["directory": "\(directory)"])
        }
        for name in files {
            guard let type = Self.contentTypes[(name as NSString).pathExtension],
                  let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)),
                  data.count <= 1 << 20 else { continue }
            assets[name] = Asset(body: ByteBuffer(bytes: data), contentType: type, etag: "\"\(Self.fnv1a(data))\"")
        }
        self.assets = assets
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "yaml": "application/yaml; charset=utf-8",
    ]

    public func register(on router: Router<LiveRelayRequestContext>) {
        router.get("/") { request, _ in try serve("index.html", request) }
        router.get("watch/:stream") { request, _ in try serve("watch.html", request) }
        router.get("static/:file") { request, context in
            try serve(try context.parameters.require("file"), request)
        }
    }

    private func serve(_ name: String, _ request: Request) throws -> Response {
        guard let asset = assets[name] else { throw APIError.notFound("no page named '\(name)'") }
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

import Audience
import Foundation
import Glibc
import Testing
@testable import LiveRelayApp
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// DASH and HLS from a whole node fed by a real ffmpeg publisher, read by real players (ffmpeg, ffprobe, GStreamer)
/// and a real DASH parser (Python `mpegdash`).
@Suite("DASH and HLS", .serialized)
struct StreamingTests {
    // MARK: Helpers

    struct Fetched {
        var status: Int
        var body: Data
        var headers: [String: String]
    }

    static func fetch(_ node: TestServer, _ path: String, method: String = "GET", headers: [String: String] = [:]) async throws -> Fetched {
        var request = URLRequest(url: URL(string: node.baseURL + path)!)
        request.httpMethod = method
        request.cachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        request.timeoutInterval = 20
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields[String(describing: key).lowercased()] = String(describing: value) }
        return Fetched(status: http.statusCode, body: data, headers: fields)
    }

    struct RawAnswer {
        var status: Int
        var headers: [String: String]
        var body: Data
    }

    /// Writes `requests` back to back on one TCP connection and reads the answers until the server closes it (the
    /// last request should say `Connection: close`); HEAD answers have no body whatever their Content-Length says.
    static func pipelined(port: Int, _ requests: [String], timeoutSeconds: Int = 20) throws -> [RawAnswer] {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EIO) }
        defer { close(socket) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let bytes = Array(requests.joined().utf8)
        guard send(socket, bytes, bytes.count, 0) == bytes.count else { throw POSIXError(.EIO) }
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(socket, &chunk, chunk.count, 0)
            if count <= 0 { break }  // closed, or the timeout: what arrived is parsed
            received.append(contentsOf: chunk[..<count])
        }
        var answers: [RawAnswer] = []
        var offset = received.startIndex
        let separator = Data("\r\n\r\n".utf8)
        for request in requests {
            guard let end = received.range(of: separator, in: offset..<received.endIndex) else { break }
            let lines = String(decoding: received[offset..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = request.hasPrefix("HEAD ") ? 0 : Int(headers["content-length"] ?? "0") ?? 0
            guard end.upperBound + length <= received.endIndex else { break }
            answers.append(RawAnswer(status: status, headers: headers, body: received[end.upperBound..<end.upperBound + length]))
            offset = end.upperBound + length
        }
        return answers
    }

    static func text(_ node: TestServer, _ path: String) async throws -> String {
        String(decoding: try await fetch(node, path).body, as: UTF8.self)
    }

    /// Runs a tool to completion and returns its status and output.
    static func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (Int32, String) {
        let process = ExternalProcess(arguments)
        try process.start()
        let status = await process.wait(timeout: timeout)
        return (status, process.log)
    }

    /// Top-level boxes of an ISO-BMFF buffer.
    static func boxes(_ data: Data) -> [(type: String, payload: Data)] {
        var result: [(String, Data)] = []
        var offset = data.startIndex
        while data.endIndex - offset >= 8 {
            let size = Int(data[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) })
            let type = String(decoding: data[offset + 4..<offset + 8], as: UTF8.self)
            guard size >= 8, offset + size <= data.endIndex else { break }
            result.append((type, data[offset + 8..<offset + size]))
            offset += size
        }
        return result
    }

    /// `tfdt` of the first chunk, and whether its first sample is a sync sample.
    static func firstChunk(_ data: Data) -> (decodeTime: UInt64, sync: Bool)? {
        guard let moof = boxes(data).first(where: { $0.type == "moof" }),
              let traf = boxes(moof.payload).first(where: { $0.type == "traf" }) else { return nil }
        let children = boxes(traf.payload)
        guard let tfdt = children.first(where: { $0.type == "tfdt" }), let trun = children.first(where: { $0.type == "trun" }) else { return nil }
        let body = tfdt.payload
        let time = body[body.startIndex + 4..<body.startIndex + 12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let flagsStart = trun.payload.startIndex + 20
        let flags = trun.payload[flagsStart..<flagsStart + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (time, flags & 0x0001_0000 == 0)
    }

    static let timelineScript = """
    import json, sys
    from mpegdash.parser import MPEGDASHParser
    mpd = MPEGDASHParser.parse(sys.argv[1])
    out = []
    for period in mpd.periods:
        for aset in period.adaptation_sets:
            for rep in aset.representations:
                tmpl = rep.segment_templates[0]
                number = tmpl.start_number
                t = 0
                for s in tmpl.segment_timelines[0].Ss:
                    if s.t is not None:
                        t = s.t
                    for _ in range((s.r or 0) + 1):
                        out.append({"period": period.id, "rep": rep.id, "number": number, "t": t, "d": s.d,
                                    "media": tmpl.media.replace("$RepresentationID$", rep.id).replace("$Number$", str(number))})
                        t += s.d
                        number += 1
    print(json.dumps({"type": mpd.type, "periods": len(mpd.periods), "segments": out}))
    """

    struct TimelineSegment: Decodable {
        var period: String
        var rep: String
        var number: Int
        var t: UInt64
        var d: UInt64
        var media: String
    }

    struct Timeline: Decodable {
        var type: String
        var periods: Int
        var segments: [TimelineSegment]
    }

    static func parseMPD(_ node: TestServer, _ stream: String) async throws -> Timeline {
        let (status, output) = try await run(["python3", "-c", timelineScript, "\(node.baseURL)/dash/\(stream)/manifest.mpd"])
        guard status == 0, let json = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw TestFailure("mpegdash failed: \(output)")
        }
        return try JSONDecoder().decode(Timeline.self, from: Data(json.utf8))
    }

    static func waitForSegments(_ node: TestServer, _ stream: String, count: Int, query: String = "",
                                timeout: Duration = .seconds(30)) async throws -> Bool {
        try await eventually(timeout: timeout) {
            let playlist = try await fetch(node, "/hls/\(stream)/source-video.m3u8\(query)")
            guard playlist.status == 200 else { return false }
            return String(decoding: playlist.body, as: UTF8.self).components(separatedBy: "#EXTINF").count > count
        }
    }

    // MARK: Tests

    @Test func headlessChromiumPlaysTheHLSMasterNatively() async throws {
        let node = try await TestServer()
        let key = try await node.createStream("cam")
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "640x360", rate: 30, seconds: 60,
                                                      bFrames: true, gop: 60)
        try publisher.start()
        defer { publisher.terminate() }
        // Chromium starts three target durations from the live edge and gives up (DEMUXER_ERROR_COULD_NOT_PARSE,
        // "segment queue never had any data") while the playlist holds less than that.
        #expect(try await Self.waitForSegments(node, "cam", count: 3), "no segments: \(publisher.log)")
        // A moderator watches the viewer counts while the browser plays.
        let moderator = try await EventListener.connect(server: node, stream: "cam",
                                                        token: try await node.token("cam", role: "moderator", sub: "mod"))
        // The viewer page in HLS mode with the browser's own player: a plain <video> given the master playlist.
        let report = try await WHEPTests.runJSON(["python3", "\(WHEPTests.interop)/whep_chromium.py",
                                                  node.baseURL + "/watch/cam?mode=hls&player=native", "--seconds", "14"],
                                                 timeout: .seconds(90))
        let videos = (report["samples"] as? [[String: Any]] ?? []).compactMap { $0["video"] as? [String: Any] }
        let playing = videos.filter { ($0["readyState"] as? Int ?? 0) >= 2 }
        let first = try #require(playing.first, "\(report)")
        let last = try #require(playing.last)
        let advanced = (last["currentTime"] as? Double ?? 0) - (first["currentTime"] as? Double ?? 0)
        #expect(playing.count >= 8 && advanced >= Double(playing.count - 1) * 0.8, "played \(advanced) s over \(playing.count) samples: \(report)")
        #expect(last["videoWidth"] as? Int == 640 && last["videoHeight"] as? Int == 360, "\(last)")
        #expect(last["error"] is NSNull || last["error"] == nil, "\(last)")
        #expect((last["src"] as? String ?? "").hasSuffix("/hls/cam/master.m3u8"), "\(last)")
        // The browser, reloading its playlists, was counted as an HLS player.
        let counted = try await moderator.first { ($0["type"] as? String) == "viewers" && (($0["http"] as? [String: Any])?["hls"] as? Int ?? 0) >= 1 }
        #expect((counted["http"] as? [String: Any])?["dash"] as? Int == 0, "\(counted)")
        moderator.close()
        try await node.stop()
    }

    @Test func aRecordedBroadcastPlaysBackFromDisk() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-recording-\(UUID().uuidString)")
        defer { if ProcessInfo.processInfo.environment["LIVERELAY_KEEP_RECORDING"] == nil { try? FileManager.default.removeItem(at: directory) } }
        let node = try await TestServer { $0.packager.recordingDirectory = directory.path }
        let key = try await node.createStream("cam")
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x180", rate: 30, seconds: 8,
                                                      bFrames: true, gop: 30)
        try publisher.start()
        defer { publisher.terminate() }
        #expect(await publisher.wait(timeout: .seconds(30)) == 0, "\(publisher.log)")
        // The publisher left: the session's playlists end once the last segments are on disk.
        var playlist: URL?
        let ended = try await eventually(timeout: .seconds(15)) {
            let files = FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []
            guard let path = files.first(where: { $0.hasSuffix("source-video.m3u8") }) else { return false }
            playlist = directory.appendingPathComponent(path)
            return (try? String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8))?.contains("#EXT-X-ENDLIST") == true
        }
        #expect(ended)
        let recorded = try #require(playlist)
        // ffprobe reads every frame of the broadcast back from the files.
        let (status, probe) = try await Self.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                                  "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0",
                                                  recorded.path])
        #expect(status == 0, "\(probe)")
        let line = probe.split(separator: "\n").first { $0.hasPrefix("h264,") } ?? ""
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(fields.prefix(3) == ["h264", "320", "180"], "\(probe)")
        let frames = fields.count >= 4 ? Int(fields[3]) ?? 0 : 0
        #expect(abs(frames - 240) <= 3, "8 s at 30 fps recorded: \(frames) frames (\(probe))")
        let audio = recorded.deletingLastPathComponent().appendingPathComponent("source-audio.m3u8")
        let (audioStatus, audioProbe) = try await Self.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                                                            audio.path])
        #expect(audioStatus == 0 && audioProbe.contains("aac"), "\(audioProbe)")
        try await node.stop()
    }

    @Test func aPrivateStreamPlaysWithAViewerTokenThroughSignedURLs() async throws {
        let secret = "streaming-test-secret-0123456789abcdef"
        let node = try await TestServer { $0.audience.tokenKey = secret }
        let key = try await node.createStream("vip", private: true)
        _ = try await node.createStream("other")
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x180", rate: 30, seconds: 40,
                                                      bFrames: false, gop: 30)
        try publisher.start()
        defer { publisher.terminate() }
        let viewer = try await node.token("vip", role: "viewer", sub: "alice")
        #expect(try await Self.waitForSegments(node, "vip", count: 3, query: "?token=\(viewer)"), "no segments: \(publisher.log)")

        // Manifests: no token, a forged one or another stream's are all answered as a stream that does not exist.
        for path in ["/hls/vip/master.m3u8", "/hls/vip/source-video.m3u8", "/dash/vip/manifest.mpd"] {
            let bare = try await Self.fetch(node, path)
            #expect(bare.status == 404, "\(path): \(bare.status)")
            #expect(try await Self.fetch(node, path + "?token=\(AudienceEndToEndTests.forge(viewer))").status == 404)
            let otherToken = try await node.token("other", role: "viewer", sub: "alice")
            #expect(try await Self.fetch(node, path, headers: ["Authorization": "Bearer \(otherToken)"]).status == 404)
        }

        // With the token (query or header) the manifests name every URL with one signed query, and are not for
        // shared caches.
        let master = try await Self.fetch(node, "/hls/vip/master.m3u8", headers: ["Authorization": "Bearer \(viewer)"])
        #expect(master.status == 200 && master.headers["cache-control"] == "private, max-age=1")
        let masterText = String(decoding: master.body, as: UTF8.self)
        let variant = try #require(masterText.split(separator: "\n").first { $0.hasPrefix("source-video.m3u8") }, "\(masterText)")
        let query = String(variant.dropFirst("source-video.m3u8".count))
        #expect(query.hasPrefix("?exp=") && query.contains("&sig="), "\(variant)")
        let playlist = try await Self.fetch(node, "/hls/vip/source-video.m3u8\(query)")
        #expect(playlist.status == 200)
        let playlistText = String(decoding: playlist.body, as: UTF8.self)
        let segmentURI = try #require(playlistText.split(separator: "\n").last { $0.contains(".m4s?exp=") && !$0.hasPrefix("#") },
                                      "\(playlistText)")
        // Media is named with a query of the same expiry, signed for the media prefix instead of the playlists'.
        let mediaQuery = String(segmentURI[segmentURI.firstIndex(of: "?")!...])
        #expect(mediaQuery != query && mediaQuery.hasPrefix(String(query.prefix { $0 != "&" }) + "&sig="), "\(mediaQuery) \(query)")
        #expect(playlistText.contains(".mp4\(mediaQuery)\""), "EXT-X-MAP carries the query: \(playlistText)")
        let mpd = String(decoding: try await Self.fetch(node, "/dash/vip/manifest.mpd?token=\(viewer)").body, as: UTF8.self)
        #expect(mpd.contains("$Number$.m4s\(mediaQuery.replacingOccurrences(of: "&", with: "&amp;"))"), "\(mpd)")

        // Media: the signed URL is served and cacheable by URL; without it, tampered, for another stream or for
        // another path prefix 404 (as if there were no such stream); expired 403.
        let segmentPath = "/" + segmentURI.replacingOccurrences(of: "../", with: "")
        let segment = try await Self.fetch(node, segmentPath)
        #expect(segment.status == 200 && segment.headers["cache-control"] == "public, max-age=31536000, immutable")
        let plainPath = String(segmentPath.prefix { $0 != "?" })
        #expect(try await Self.fetch(node, plainPath).status == 404)
        #expect(try await Self.fetch(node, plainPath, headers: ["Authorization": "Bearer \(viewer)"]).headers["cache-control"]?
            .hasPrefix("private") == true, "fetched with a token: only for the requester")
        let signature = String(mediaQuery.split(separator: "=").last ?? "")
        let tampered = plainPath + mediaQuery.replacingOccurrences(of: signature, with: String(signature.reversed()))
        #expect(try await Self.fetch(node, tampered).status == 404)
        #expect(try await Self.fetch(node, plainPath + query).status == 404, "the playlists' query does not admit media")
        #expect(try await Self.fetch(node, "/hls/vip/master.m3u8" + mediaQuery).status == 404, "the media query does not admit playlists")
        let signer = MediaURLSigner(secret: secret)
        let incarnation = try #require(try await node.streamInfo("vip")["incarnation"] as? String)
        let otherIncarnation = try #require(try await node.streamInfo("other")["incarnation"] as? String)
        #expect(try await Self.fetch(node, plainPath + "?" + signer.query(prefix: "/cmaf/other/", incarnation: otherIncarnation)).status == 404)
        let expired = try await Self.fetch(node, plainPath + "?" + signer.query(prefix: "/cmaf/vip/", incarnation: incarnation,
                                                                              now: Date(timeIntervalSinceNow: -3 * 3600)))
        #expect(expired.status == 403 && String(decoding: expired.body, as: UTF8.self).contains("url_expired"))

        // Real players given the manifest URL with the token follow the signed URLs.
        for manifest in ["/hls/vip/master.m3u8", "/dash/vip/manifest.mpd"] {
            let url = node.baseURL + manifest + "?token=\(viewer)"
            let (probeStatus, probe) = try await Self.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
                                                           "-of", "compact", url])
            #expect(probeStatus == 0 && probe.contains("codec_name=h264|width=320|height=180") && probe.contains("codec_name=aac"),
                    "\(manifest): \(probe)")
            let (status, log) = try await Self.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", url,
                                                    "-t", "3", "-f", "null", "-"])
            #expect(status == 0 && !log.lowercased().contains("error"), "\(manifest): \(log)")
        }
        try await node.stop()
    }

    /// Deleting a private stream takes its window down at once, and a stream created again under the name (public
    /// or private) is served nothing of it and admits none of its grants.
    @Test func deletingAPrivateStreamTakesItsWindowDownAtOnce() async throws {
        let node = try await TestServer { $0.audience.tokenKey = "streaming-test-secret-0123456789abcdef" }
        let key = try await node.createStream("vip", private: true)
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x180", rate: 30, seconds: 40,
                                                      bFrames: false, gop: 30)
        try publisher.start()
        defer { publisher.terminate() }
        let viewer = try await node.token("vip", role: "viewer", sub: "alice")
        #expect(try await Self.waitForSegments(node, "vip", count: 2, query: "?token=\(viewer)"), "no segments: \(publisher.log)")
        let master = String(decoding: try await Self.fetch(node, "/hls/vip/master.m3u8?token=\(viewer)").body, as: UTF8.self)
        let variant = try #require(master.split(separator: "\n").first { $0.hasPrefix("source-video.m3u8") }, "\(master)")
        let playlistPath = "/hls/vip/" + variant
        let playlist = String(decoding: try await Self.fetch(node, playlistPath).body, as: UTF8.self)
        let segmentURI = try #require(playlist.split(separator: "\n").last { $0.contains(".m4s?exp=") && !$0.hasPrefix("#") }, "\(playlist)")
        let segmentPath = "/" + segmentURI.replacingOccurrences(of: "../", with: "")
        let plainSegment = String(segmentPath.prefix { $0 != "?" })
        #expect(try await Self.fetch(node, segmentPath).status == 200)

        #expect(try await node.request("DELETE", "/api/streams/vip").status == 204)
        let everyMediaPath = ["/hls/vip/master.m3u8", "/hls/vip/master.m3u8?token=\(viewer)", playlistPath, "/hls/vip/source-video.m3u8",
                              segmentPath, plainSegment, "/dash/vip/manifest.mpd", "/dash/vip/manifest.mpd?token=\(viewer)"]
        for path in everyMediaPath {
            #expect(try await Self.fetch(node, path).status == 404, "\(path) after DELETE")
        }
        let whep = try await node.call("POST", "/whep/vip", token: viewer, raw: Data("v=0\r\n".utf8), contentType: "application/sdp")
        #expect(whep.status == 404, "WHEP after DELETE: \(whep.status)")

        // Created again as a public stream: the old window is not its window.
        _ = try await node.createStream("vip")
        for path in everyMediaPath {
            #expect(try await Self.fetch(node, path).status == 404, "\(path) of the public stream created again")
        }
        // Created again as a private stream: the old signed URLs and token admit nothing.
        #expect(try await node.request("DELETE", "/api/streams/vip").status == 204)
        _ = try await node.createStream("vip", private: true)
        #expect(try await Self.fetch(node, segmentPath).status == 404, "an old signed URL")
        #expect(try await Self.fetch(node, playlistPath).status == 404, "an old signed playlist URL")
        #expect(try await Self.fetch(node, "/hls/vip/master.m3u8?token=\(viewer)").status == 404, "an old token")
        try await node.stop()
    }

    @Test func playersReadDASHAndHLSAndTheTimelineMatchesTheSegments() async throws {
        let node = try await TestServer()
        let key = try await node.createStream("cam")
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "640x360", rate: 30, seconds: 40,
                                                      bFrames: true, gop: 60)
        try publisher.start()
        defer { publisher.terminate() }
        #expect(try await Self.waitForSegments(node, "cam", count: 4), "no segments: \(publisher.log)")

        // ffprobe lists both tracks of each manifest; ffmpeg decodes 4 s of each without errors.
        for manifest in ["/hls/cam/master.m3u8", "/dash/cam/manifest.mpd"] {
            let (probeStatus, probe) = try await Self.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
                                                           "-of", "compact", node.baseURL + manifest])
            #expect(probeStatus == 0, "\(probe)")
            #expect(probe.contains("codec_name=h264|width=640|height=360") && probe.contains("codec_name=aac"), "\(manifest): \(probe)")
            let (status, log) = try await Self.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", node.baseURL + manifest,
                                                    "-t", "4", "-f", "null", "-"])
            #expect(status == 0, "\(manifest): \(log)")
            #expect(!log.lowercased().contains("error"), "\(manifest): \(log)")
        }

        // The MPD parses with mpegdash; every segment of its timeline is served, its tfdt is the timeline's t,
        // each follows the previous, and every video segment starts with a keyframe.
        let timeline = try await Self.parseMPD(node, "cam")
        #expect(timeline.type == "dynamic")
        #expect(Set(timeline.segments.map(\.rep)) == ["source-video", "source-audio"])
        for rep in ["source-video", "source-audio"] {
            let segments = timeline.segments.filter { $0.rep == rep }
            #expect(segments.count >= 3)
            for (index, segment) in segments.enumerated() {
                let path = "/" + segment.media.replacingOccurrences(of: "../", with: "")
                let fetched = try await Self.fetch(node, path)
                #expect(fetched.status == 200, "\(path)")
                let chunk = try #require(Self.firstChunk(fetched.body), "\(path) has no moof")
                #expect(chunk.decodeTime == segment.t, "\(path): tfdt \(chunk.decodeTime), timeline \(segment.t)")
                if rep == "source-video" { #expect(chunk.sync, "\(path) does not start with a keyframe") }
                if index > 0 { #expect(segment.t == segments[index - 1].t + segments[index - 1].d) }
            }
        }

        // Serving: types, caching, ETag, ranges, HEAD, CORS.
        let first = try #require(timeline.segments.first { $0.rep == "source-video" })
        let segmentPath = "/" + first.media.replacingOccurrences(of: "../", with: "")
        let full = try await Self.fetch(node, segmentPath)
        #expect(full.headers["content-type"] == "video/iso.segment")
        #expect(full.headers["cache-control"]?.contains("immutable") == true)
        #expect(full.headers["access-control-allow-origin"] == "*")
        let etag = try #require(full.headers["etag"])
        #expect(try await Self.fetch(node, segmentPath, headers: ["If-None-Match": etag]).status == 304)
        let ranged = try await Self.fetch(node, segmentPath, headers: ["Range": "bytes=10-109"])
        #expect(ranged.status == 206)
        #expect(ranged.body == full.body[10..<110])
        #expect(ranged.headers["content-range"] == "bytes 10-109/\(full.body.count)")
        let head = try await Self.fetch(node, segmentPath, method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] == "\(full.body.count)")
        let mpd = try await Self.fetch(node, "/dash/cam/manifest.mpd")
        #expect(mpd.headers["content-type"] == "application/dash+xml")
        #expect(mpd.headers["cache-control"] == "public, max-age=1")
        let master = try await Self.fetch(node, "/hls/cam/master.m3u8")
        #expect(master.headers["content-type"] == "application/vnd.apple.mpegurl")
        let masterText = String(decoding: master.body, as: UTF8.self)
        #expect(masterText.contains("CODECS=\"avc1.64001e,mp4a.40.2\"") && masterText.contains("RESOLUTION=640x360"), "\(masterText)")
        let clock = try await Self.text(node, "/api/time")
        #expect(clock.hasSuffix("Z") && clock.count == 24, "\(clock)")

        // LL-HLS: a blocking request for the next part returns once that part exists, well before a segment's time.
        let playlist = try await Self.text(node, "/hls/cam/source-video.m3u8")
        let hint = try #require(playlist.split(separator: "\n").first { $0.hasPrefix("#EXT-X-PRELOAD-HINT") })
        let hinted = try #require(hint.split(separator: "\"").dropFirst().first).split(separator: "/").last!
        let numbers = hinted.dropLast(4).split(separator: ".").compactMap { Int($0) }
        let started = ContinuousClock.now
        let blocked = try await Self.fetch(node, "/hls/cam/source-video.m3u8?_HLS_msn=\(numbers[0])&_HLS_part=\(numbers[1])")
        let waited = ContinuousClock.now - started
        #expect(blocked.status == 200)
        #expect(String(decoding: blocked.body, as: UTF8.self).contains("/\(numbers[0]).\(numbers[1]).m4s\""))
        #expect(waited < .milliseconds(1200), "blocked for \(waited)")
        // The hinted part itself is served (held until it exists).
        let part = try await Self.fetch(node, "/cmaf/cam/source-video/\(numbers[0] + 1).0.m4s")
        #expect(part.status == 200)

        // Pipelined on one connection, answers keep the order of requests: a complete segment (answered on the event
        // loop) asked right after a part that is not there yet (held by the router) comes after that part, and
        // `Connection: close` is honoured.
        let next = try #require(try await Self.text(node, "/hls/cam/source-video.m3u8").split(separator: "\n")
            .first { $0.hasPrefix("#EXT-X-PRELOAD-HINT") }?.split(separator: "\"").dropFirst().first?.split(separator: "/").last)
        let nextPath = "/cmaf/cam/source-video/\(next)"
        let answers = try Self.pipelined(port: node.endpoints.httpPort, [
            "GET \(nextPath) HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET \(segmentPath) HTTP/1.1\r\nHost: x\r\n\r\n",
            "HEAD \(segmentPath) HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n",
            "GET \(segmentPath) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ])
        let nextPart = try await Self.fetch(node, nextPath)
        #expect(answers.map(\.status) == [200, 200, 206, 200])
        if answers.count == 4 {
            #expect(answers[0].body == nextPart.body, "the held part was not answered first")
            #expect(answers[1].body == full.body && answers[3].body == full.body)
            #expect(answers[2].body.isEmpty && answers[2].headers["content-range"] == "bytes 0-9/\(full.body.count)")
            #expect(answers[1].headers["date"] != nil && answers[1].headers["server"] == "LiveRelay")
        }

        // LL-DASH: the segment being written is delivered chunk by chunk (chunked transfer) until it is complete.
        let writing = try #require(try await Self.text(node, "/hls/cam/source-video.m3u8").split(separator: "\n")
            .first { $0.hasPrefix("#EXT-X-PRELOAD-HINT") }?.split(separator: "/").last?.split(separator: ".").first.flatMap { Int($0) })
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-chunked-\(writing).m4s").path
        let (curlStatus, timing) = try await Self.run(["curl", "-s", "-o", output, "-w", "%{http_code} %{time_starttransfer} %{time_total}",
                                                       "\(node.baseURL)/cmaf/cam/source-video/\(writing).m4s"])
        defer { try? FileManager.default.removeItem(atPath: output) }
        let fields = timing.split(separator: " ").compactMap { Double($0) }
        #expect(curlStatus == 0 && fields.count == 3 && fields[0] == 200, "\(timing)")
        if fields.count == 3 { #expect(fields[2] - fields[1] > 0.4, "the body did not stream: \(timing)") }
        let streamed = try Data(contentsOf: URL(fileURLWithPath: output))
        let complete = try await Self.fetch(node, "/cmaf/cam/source-video/\(writing).m4s")
        #expect(streamed == complete.body, "chunked delivery differs from the finished segment")
        #expect(Self.boxes(streamed).filter { $0.type == "moof" }.count >= 2)

        // A moderator's flash reaches the DASH and HLS timelines.
        let flash = try await node.request("POST", "/api/streams/cam/flashes", json: ["kind": "news", "text": "Storm warning", "durationSeconds": 20])
        #expect(flash.status == 201, "\(String(decoding: flash.body, as: UTF8.self))")
        let onTimelines = try await eventually(timeout: .seconds(5)) {
            let media = try await Self.text(node, "/hls/cam/source-video.m3u8")
            let mpd = try await Self.text(node, "/dash/cam/manifest.mpd")
            return media.contains(#"X-MESSAGE="Storm warning""#) && media.contains("#EXT-X-DATERANGE:") && mpd.contains(">Storm warning</Event>")
        }
        #expect(onTimelines)

        // Bad input: clean 4xx.
        #expect(try await Self.fetch(node, "/dash/nobody/manifest.mpd").status == 404)
        #expect(try await Self.fetch(node, "/hls/nobody/master.m3u8").status == 404)
        #expect(try await Self.fetch(node, "/hls/cam/..%2F..%2Fetc%2Fpasswd.m3u8").status == 400)
        #expect(try await Self.fetch(node, "/cmaf/cam/..%2Fsource-audio/1.m4s").status == 400)
        #expect(try await Self.fetch(node, "/cmaf/cam/source-video/..%2F..%2Fx.m4s").status == 404)
        #expect(try await Self.fetch(node, "/cmaf/cam/source-video/1.-1.m4s").status == 404)
        #expect(try await Self.fetch(node, "/cmaf/cam/source-video/99999999999999999999.m4s").status == 404)
        #expect(try await Self.fetch(node, "/hls/cam/source-video.m3u8?_HLS_msn=999999999").status == 400)
        #expect(try await Self.fetch(node, "/hls/cam/source-video.m3u8?_HLS_msn=-1").status == 400)
        #expect(try await Self.fetch(node, "/hls/cam/source-video.m3u8?_HLS_part=1").status == 400)
        #expect(try await Self.fetch(node, segmentPath, headers: ["Range": "bytes=999999999-"]).status == 416)
        #expect(try await Self.fetch(node, segmentPath, headers: ["Range": "bytes=50-10"]).status == 416)
        #expect(try await Self.fetch(node, "/hls/cam/nosuchtrack.m3u8").status == 404)

        publisher.terminate()
        try await node.stop()
    }

    @Test func shortWindowForgetsOldSegmentsAndAReconnectStartsANewPeriod() async throws {
        let node = try await TestServer { $0.packager.windowSeconds = 20 }
        let key = try await node.createStream("cam")
        let firstPublisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x240", rate: 25, seconds: 36,
                                                           bFrames: false, gop: 50)
        try firstPublisher.start()
        defer { firstPublisher.terminate() }
        #expect(try await Self.waitForSegments(node, "cam", count: 2))

        // A player reading HLS across the reconnect.
        let reader = ExternalProcess(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-i", node.baseURL + "/hls/cam/master.m3u8",
                                      "-t", "40", "-f", "null", "-"])
        try reader.start()
        defer { reader.terminate() }

        _ = await firstPublisher.wait(timeout: .seconds(50))
        // Window: segment 1 (from the first seconds) is gone, one from ~14 s ago is still served.
        let playlist = try await Self.text(node, "/hls/cam/source-video.m3u8")
        let numbers = playlist.split(separator: "\n").filter { $0.hasSuffix(".m4s") && !$0.hasPrefix("#") }
            .compactMap { Int($0.split(separator: "/").last!.dropLast(4)) }
        let newest = try #require(numbers.max())
        #expect(try await Self.fetch(node, "/cmaf/cam/source-video/1.m4s").status == 404)
        #expect(try await Self.fetch(node, "/cmaf/cam/source-video/\(newest - 7).m4s").status == 200)
        #expect(try #require(numbers.min()) > 1)

        let secondPublisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x240", rate: 25, seconds: 14,
                                                            bFrames: false, gop: 50)
        try secondPublisher.start()
        defer { secondPublisher.terminate() }
        let reconnected = try await eventually(timeout: .seconds(20)) {
            let text = try await Self.text(node, "/hls/cam/source-video.m3u8")
            return text.contains("#EXT-X-DISCONTINUITY\n") && text.components(separatedBy: "#EXTINF").count > numbers.count / 2
        }
        #expect(reconnected)
        // The new session's Period appears once its first segment is complete.
        let twoPeriods = try await eventually(timeout: .seconds(10)) {
            try await Self.parseMPD(node, "cam").periods == 2
        }
        #expect(twoPeriods)
        let status = await secondPublisher.wait(timeout: .seconds(30))
        #expect(status == 0)
        let readerStatus = await reader.wait(timeout: .seconds(20))
        // The reader kept going past the reconnect: it decoded beyond what the first session held for it.
        let times = reader.log.components(separatedBy: "time=").dropFirst().compactMap { entry -> Double? in
            let clock = entry.prefix(11).split(separator: ":")
            guard clock.count == 3, let h = Double(clock[0]), let m = Double(clock[1]), let s = Double(clock[2]) else { return nil }
            return h * 3600 + m * 60 + s
        }
        #expect((times.max() ?? 0) > 30, "reader stopped at \(times.max() ?? 0) s (status \(readerStatus)): \(reader.log.suffix(2000))")
        try await node.stop()
    }

    @Test func gstreamerPlaysHLS() async throws {
        let node = try await TestServer()
        let key = try await node.createStream("cam")
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "320x240", rate: 25, seconds: 30,
                                                      bFrames: false, gop: 50)
        try publisher.start()
        defer { publisher.terminate() }
        #expect(try await Self.waitForSegments(node, "cam", count: 3))
        let player = ExternalProcess(["gst-launch-1.0", "-q", "playbin", "uri=\(node.baseURL)/hls/cam/master.m3u8",
                                      "video-sink=fakesink sync=true", "audio-sink=fakesink sync=true"])
        try player.start()
        try await Task.sleep(for: .seconds(8))
        let stillPlaying = player.process.isRunning
        player.terminate()
        _ = await player.wait(timeout: .seconds(5))
        #expect(stillPlaying, "playbin stopped early: \(player.log)")
        #expect(!player.log.contains("ERROR"), "\(player.log)")
        try await node.stop()
    }
}

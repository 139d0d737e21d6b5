import Foundation
import Testing
@testable import LiveRelayApp

/// The transcoder's H.264 rungs reach DASH/HLS players beside the source: one publisher, an ABR ladder out.
@Suite("Transcoded ladder in DASH and HLS", .serialized)
struct LadderStreamingTests {
    @Test func lowerRungsArePackagedAndPlayable() async throws {
        let node = try await TestServer { configuration in
            configuration.transcoder.enabled = true
            configuration.transcoder.ladder = [
                .init(name: "360p", width: 640, height: 360, fps: 25, videoKbps: 800),
                .init(name: "180p", width: 320, height: 180, fps: 25, videoKbps: 200),
            ]
        }
        let key = try await node.createStream("cam")
        let publisher = ExternalProcess.ffmpegPublish(url: node.rtmpURL(key: key), size: "854x480", rate: 25, seconds: 30,
                                                      bFrames: true, gop: 50)
        try publisher.start()
        defer { publisher.terminate() }

        // Both rungs appear in the multivariant playlist once they have segments.
        var master = ""
        let listed = try await eventually(timeout: .seconds(40)) {
            master = String(decoding: try await node.request("GET", "/hls/cam/master.m3u8", admin: false).body, as: UTF8.self)
            return master.contains("RESOLUTION=640x360") && master.contains("RESOLUTION=320x180")
                && master.contains("RESOLUTION=854x480")
        }
        #expect(listed, "master playlist: \(master)\nffmpeg: \(publisher.log)")

        // A real player decodes the 360p rendition, at its size.
        let playlist = try await eventually(timeout: .seconds(30)) {
            let text = String(decoding: try await node.request("GET", "/hls/cam/360p-video.m3u8", admin: false).body, as: UTF8.self)
            return text.components(separatedBy: "#EXTINF").count > 2
        }
        #expect(playlist)
        let probe = ExternalProcess(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
                                     "-of", "csv=p=0", node.baseURL + "/hls/cam/360p-video.m3u8"])
        try probe.start()
        let status = await probe.wait(timeout: .seconds(30))
        #expect(status == 0, "\(probe.log)")
        #expect(probe.log.contains("h264,640,360"), "\(probe.log)")

        let decode = ExternalProcess(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i",
                                      node.baseURL + "/hls/cam/180p-video.m3u8", "-t", "3", "-f", "null", "-"])
        try decode.start()
        #expect(await decode.wait(timeout: .seconds(40)) == 0, "\(decode.log)")
        try await node.stop()
    }
}

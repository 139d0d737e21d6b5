import Foundation
import Testing
@testable import Packager

/// Recording: every complete segment also goes to disk, a directory per publisher session with HLS playlists.
@Suite("Recording to a directory")
struct RecordingTests {
    static func files(_ directory: URL) -> [String] {
        (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []).sorted()
    }

    /// Waits for the background writer: the playlists of `sessions` sessions end.
    static func waitForEnd(_ directory: URL, sessions: Int) async throws -> Bool {
        for _ in 0..<200 {
            let ended = files(directory).filter { $0.hasSuffix(".m3u8") }.filter { path in
                (try? String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8))?.contains("#EXT-X-ENDLIST") == true
            }
            if ended.count == 2 * sessions { return true }
            try await Task.sleep(for: .milliseconds(25))
        }
        return false
    }

    @Test func everySegmentOfEverySessionIsWrittenWithAPlaylist() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("liverelay-recording-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A window shorter than the broadcast: the recording keeps what memory lets go.
        var source = SyntheticStream(packager: PackagerTests.packager {
            $0.recordingDirectory = directory.path
            $0.windowSeconds = 6
        })
        source.start(generation: 1)
        source.send(seconds: 20.1)
        source.end()
        source.start(generation: 2)
        source.send(seconds: 4.1)
        source.end()
        #expect(try await Self.waitForEnd(directory, sessions: 2), "\(Self.files(directory))")
        source.packager.stop()

        let all = Self.files(directory)
        let sessions = Set(all.filter { $0.hasSuffix(".m3u8") }.map { ($0 as NSString).deletingLastPathComponent })
        #expect(sessions.count == 2 && sessions.allSatisfy { $0.hasPrefix("cam/") && ($0.hasSuffix("-g1") || $0.hasSuffix("-g2")) }, "\(all)")
        let first = try #require(sessions.first { $0.hasSuffix("-g1") })
        let folder = directory.appendingPathComponent(first)
        let playlist = try String(contentsOf: folder.appendingPathComponent("source-video.m3u8"), encoding: .utf8)
        let entries = playlist.split(separator: "\n").filter { !$0.hasPrefix("#") }
        // 20.1 s in 2 s GOPs: ten segments and the 0.1 s the end closed, the first long gone from the 6 s window,
        // every one on disk.
        #expect(entries.count == 11, "\(playlist)")
        #expect(playlist.hasPrefix("#EXTM3U\n") && playlist.contains("#EXT-X-MAP:URI=\"source-video-init-") && playlist.hasSuffix("#EXT-X-ENDLIST\n"))
        var seconds = 0.0
        for line in playlist.split(separator: "\n") where line.hasPrefix("#EXTINF:") {
            seconds += Double(line.dropFirst(8).dropLast()) ?? 0
        }
        #expect(abs(seconds - 20.1) < 0.1, "EXTINF sum \(seconds)")
        for entry in entries {
            let data = try Data(contentsOf: folder.appendingPathComponent(String(entry)))
            #expect(data.count > 100 && String(decoding: data[data.startIndex + 4..<data.startIndex + 8], as: UTF8.self) == "styp", "\(entry)")
        }
        let map = try #require(playlist.split(separator: "\n").first { $0.hasPrefix("#EXT-X-MAP") })
        let initName = String(map.split(separator: "\"")[1])
        let initData = try Data(contentsOf: folder.appendingPathComponent(initName))
        #expect(String(decoding: initData[initData.startIndex + 4..<initData.startIndex + 8], as: UTF8.self) == "ftyp")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("source-audio.m3u8").path))
    }
}

import Foundation
import Logging
import MediaCore
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Writes every complete segment to a directory as it is cut, so a broadcast outlives the in-memory window: one
/// directory per publisher session, `{stream}/{epoch}-g{generation}/`, with each track's init segments, its segments
/// (`{n}.m4s`, the bytes served) and an HLS playlist (`{track}.m3u8`, `EXT-X-ENDLIST` once the session ends), so
/// ffmpeg or any HLS player reads a recording as it is.
///
/// Disk never slows ingest: writes run on one background thread behind a queue bounded in bytes; what does not fit
/// is dropped, counted (`liverelay_packager_recording_dropped_total`) and logged, and the playlist skips it.
final class SegmentRecorder: Sendable {
    enum Item: Sendable {
        case initialization(stream: String, session: String, track: String, id: Int, data: ByteBuffer)
        case segment(stream: String, session: String, track: String, number: Int, initID: Int, seconds: Double, parts: [ByteBuffer])
        /// The publisher session is over: its playlists get `EXT-X-ENDLIST`.
        case end(stream: String, session: String, tracks: [String])

        var byteCount: Int {
            switch self {
            case .initialization(_, _, _, _, let data): data.readableBytes
            case .segment(_, _, _, _, _, _, let parts): parts.reduce(0) { $0 + $1.readableBytes }
            case .end: 0
            }
        }
    }

    private struct Queue {
        var items: [Item] = []
        var bytes = 0
        var stopped = false
    }

    /// Per track playlist being written: what its last segment referred to.
    private struct PlaylistState {
        var initID: Int?
        var segments = 0
    }

    let directory: URL
    /// `EXT-X-TARGETDURATION` of the recorded playlists: written before the segments are known, so the longest a
    /// segment may be (the segmenter cuts at the latest there, whatever the GOP).
    let targetDuration: Int
    let maximumQueuedBytes: Int
    private let queue = NIOLockedValueBox(Queue())
    private let wake = ConditionLock(value: 0)
    private let dropped = Counter(label: "liverelay_packager_recording_dropped_total")
    private let written = Counter(label: "liverelay_packager_recorded_bytes_total")
    private let logger: Logger

    init(directory: String, longestSegmentSeconds: Double, maximumQueuedBytes: Int = 256 * 1024 * 1024, logger: Logger) {
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        self.targetDuration = Int(longestSegmentSeconds.rounded(.up))
        self.maximumQueuedBytes = maximumQueuedBytes
        self.logger = logger
        let thread = Thread { [self] in
            ThreadName.setCurrent("lr-recorder")
            run()
        }
        thread.start()
    }

    /// Queues items in order; an item that does not fit is dropped (an `.end` always fits).
    func record(_ items: [Item]) {
        guard !items.isEmpty else { return }
        var lost = 0
        queue.withLockedValue { queue in
            guard !queue.stopped else { return }
            for item in items {
                let size = item.byteCount
                if queue.bytes + size > maximumQueuedBytes {
                    lost += 1
                    continue
                }
                queue.bytes += size
                queue.items.append(item)
            }
        }
        if lost > 0 {
            dropped.increment(by: lost)
            logger.warning("recording falls behind: segments dropped", metadata: ["dropped": "\(lost)"])
        }
        wake.lock()
        wake.unlock(withValue: 1)
    }

    /// Writes what is queued, then ends the thread.
    func stop() {
        queue.withLockedValue { $0.stopped = true }
        wake.lock()
        wake.unlock(withValue: 1)
    }

    private func run() {
        var playlists: [String: PlaylistState] = [:]
        while true {
            wake.lock(whenValue: 1)
            wake.unlock(withValue: 0)
            let (items, stopped) = queue.withLockedValue { queue -> ([Item], Bool) in
                defer {
                    queue.items = []
                    queue.bytes = 0
                }
                return (queue.items, queue.stopped)
            }
            for item in items {
                do {
                    try write(item, playlists: &playlists)
                } catch {
                    dropped.increment()
                    logger.error("recording write failed", metadata: ["error": "\(error)"])
                }
            }
            if stopped { return }
        }
    }

    private func write(_ item: Item, playlists: inout [String: PlaylistState]) throws {
        let manager = FileManager.default
        switch item {
        case .initialization(let stream, let session, let track, let id, let data):
            let folder = directory.appendingPathComponent(stream).appendingPathComponent(session)
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(data.readableBytesView).write(to: folder.appendingPathComponent("\(track)-init-\(id).mp4"))
            written.increment(by: data.readableBytes)
        case .segment(let stream, let session, let track, let number, let initID, let seconds, let parts):
            let folder = directory.appendingPathComponent(stream).appendingPathComponent(session)
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            let name = "\(track)-\(number).m4s"
            var bytes = Data()
            for part in parts { bytes.append(contentsOf: part.readableBytesView) }
            try bytes.write(to: folder.appendingPathComponent(name))
            written.increment(by: bytes.count)
            let key = "\(stream)/\(session)/\(track)"
            var state = playlists[key] ?? PlaylistState()
            var text = ""
            if state.segments == 0 {
                text += "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:\(targetDuration)\n"
                    + "#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:\(number)\n"
            }
            if state.initID != initID {
                text += "#EXT-X-MAP:URI=\"\(track)-init-\(initID).mp4\"\n"
                state.initID = initID
            }
            text += "#EXTINF:\(String(format: "%.5f", seconds)),\n\(name)\n"
            state.segments += 1
            playlists[key] = state
            try append(text, to: folder.appendingPathComponent("\(track).m3u8"))
        case .end(let stream, let session, let tracks):
            let folder = directory.appendingPathComponent(stream).appendingPathComponent(session)
            for track in tracks where playlists["\(stream)/\(session)/\(track)"] != nil {
                try append("#EXT-X-ENDLIST\n", to: folder.appendingPathComponent("\(track).m3u8"))
                playlists["\(stream)/\(session)/\(track)"] = nil
            }
        }
    }

    private func append(_ text: String, to file: URL) throws {
        let data = Data(text.utf8)
        if !FileManager.default.fileExists(atPath: file.path) {
            try data.write(to: file)
            return
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }
}

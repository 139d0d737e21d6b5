import Foundation
import MediaCore
import NIOConcurrencyHelpers
import Testing
@testable import Transcoder

extension TranscoderSuites {
@Suite("Bounded encoder queues")
struct BoundedWorkerTests {
    @Test("a stalled worker drops the oldest pictures, counts them and carries a keyframe mark forward")
    func dropsOldest() async throws {
        let open = NIOLockedValueBox(false)
        let processed = NIOLockedValueBox([Int]())
        let marked = NIOLockedValueBox([Int]())
        let drops = NIOLockedValueBox(0)
        // Items are (number, keyframe mark).
        let worker = BoundedWorker<(Int, Bool)>(name: "test", capacity: 3, process: { item in
            while !open.withLockedValue({ $0 }) { usleep(1000) }
            if item.0 < 0 { return true }
            processed.withLockedValue { $0.append(item.0) }
            if item.1 { marked.withLockedValue { $0.append(item.0) } }
            return false
        }, onDrop: { dropped, next in
            drops.withLockedValue { $0 += 1 }
            if dropped.1 { next.1 = true }
        })
        // The first item is taken by the (stalled) worker; 3 wait; every further one pushes the oldest out.
        worker.submit((0, false), droppable: true)
        try await Task.sleep(for: .milliseconds(100))
        for number in 1...10 { worker.submit((number, number == 4), droppable: true) }
        worker.finish(with: (-1, false))
        open.withLockedValue { $0 = true }
        #expect(await eventually(within: 5) { processed.withLockedValue { $0.count } == 4 })
        #expect(processed.withLockedValue { $0 } == [0, 8, 9, 10])
        #expect(drops.withLockedValue { $0 } == 7)
        // 4 was dropped; its mark travelled 4 → 5 → 6 → 7 → 8.
        #expect(marked.withLockedValue { $0 } == [8])
    }

    @Test("a worker's thread carries its name, cut to the 15 bytes Linux keeps, and runs as SCHED_BATCH when asked")
    func threadNameAndPolicy() async throws {
        #expect(ThreadName.fitted("vp8 720p") == "vp8 720p")
        #expect(ThreadName.fitted("decode a-long-stream-name") == "decode a-long-s")
        // Never half a character: "é" is two bytes and would end at byte 16.
        #expect(ThreadName.fitted("decode flux-abé") == "decode flux-ab")
        // Workers started back to back from one thread: each names itself (Foundation's `Thread.name` would race).
        let seen = NIOLockedValueBox([String: Int32]())
        var workers: [BoundedWorker<Int>] = []
        for (index, batch) in [false, true, false, true].enumerated() {
            workers.append(BoundedWorker<Int>(name: "worker \(index) of a-long-name", capacity: 1, batchScheduling: batch, process: { _ in
                let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                let policy = Scheduling.currentPolicy()
                seen.withLockedValue { $0[name.trimmingCharacters(in: .newlines)] = policy }
                return true
            }, onDrop: { _, _ in }))
        }
        for worker in workers { worker.finish(with: 0) }
        #expect(await eventually(within: 5) { seen.withLockedValue { $0.count } == 4 })
        #expect(seen.withLockedValue { $0 } == ["worker 0 of a-l": 0, "worker 1 of a-l": Scheduling.batchPolicy,
                                                 "worker 2 of a-l": 0, "worker 3 of a-l": Scheduling.batchPolicy])
    }

    @Test("ladder sizes: fitted, never upscaled, even, duplicates removed")
    func ladderLayout() {
        func sizes(_ width: Int, _ height: Int) -> [String] {
            LadderLayout(source: PictureSize(width: width, height: height), ladder: Rung.defaultLadder).entries
                .map { "\($0.rung.name)=\($0.size)" }
        }
        #expect(sizes(1920, 1080) == ["720p=1280x720", "360p=640x360", "180p=320x180"])
        #expect(sizes(854, 480) == ["720p=854x480", "360p=640x360", "180p=320x180"])
        #expect(sizes(640, 360) == ["720p=640x360", "180p=320x180"])
        // 4:3 keeps its aspect inside the 16:9 boxes.
        #expect(sizes(640, 480) == ["720p=640x480", "360p=480x360", "180p=240x180"])
        // Portrait phone video.
        #expect(sizes(720, 1280) == ["720p=406x720", "360p=202x360", "180p=102x180"])
    }
}
}

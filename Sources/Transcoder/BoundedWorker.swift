import Foundation
import MediaCore

/// A thread with a bounded inbox: the way each encoder (and each stream's decoder) gets its own core time without
/// ever queueing without bound.
///
/// `submit` never blocks. When the inbox already holds `capacity` droppable items, the oldest droppable item is
/// dropped to make room (the newest picture is the one worth encoding) and `onDrop` is told, so the owner can count
/// it and carry flags forward. Control items (configurations, end of stream) are never dropped.
final class BoundedWorker<Item: Sendable>: @unchecked Sendable {
    // @unchecked: `inbox`, `droppableCount` and `finished` are only touched with `condition` locked; `process` runs
    // on the worker thread alone.
    private struct Entry {
        var item: Item
        var droppable: Bool
    }

    private let condition = NSCondition()
    private var inbox: [Entry] = []
    private var droppableCount = 0
    private var finished = false
    private let capacity: Int

    /// - Parameters:
    ///   - process: runs on the worker thread for each item, in order; `true` from it ends the thread.
    ///   - onDrop: runs on the submitting thread with the dropped item and the droppable item that now follows it
    ///     (which it may mark, e.g. to carry the forced keyframe the dropped picture would have had).
    ///   - batchScheduling: runs the thread as Linux's `SCHED_BATCH` (see `Scheduling`).
    init(name: String, capacity: Int, batchScheduling: Bool = false, process: @escaping @Sendable (Item) -> Bool,
         onDrop: @escaping @Sendable (Item, inout Item) -> Void) {
        self.capacity = max(1, capacity)
        self.onDrop = onDrop
        let thread = Thread { [self] in
            ThreadName.setCurrent(name)
            if batchScheduling { Scheduling.makeCurrentThreadBatch() }
            while true {
                condition.lock()
                while inbox.isEmpty { condition.wait() }
                let entry = inbox.removeFirst()
                if entry.droppable { droppableCount -= 1 }
                condition.unlock()
                if process(entry.item) { break }
            }
        }
        thread.start()
    }

    private let onDrop: @Sendable (Item, inout Item) -> Void

    /// Queues an item; returns false if a droppable item was dropped to make room (or the worker is finished).
    @discardableResult
    func submit(_ item: Item, droppable: Bool) -> Bool {
        var item = item
        condition.lock()
        guard !finished else {
            condition.unlock()
            return false
        }
        var complete = true
        if droppable, droppableCount >= capacity, let index = inbox.firstIndex(where: { $0.droppable }) {
            let dropped = inbox.remove(at: index)
            droppableCount -= 1
            if let next = inbox[index...].firstIndex(where: { $0.droppable }) {
                onDrop(dropped.item, &inbox[next].item)
            } else {
                onDrop(dropped.item, &item)
            }
            complete = false
        }
        inbox.append(Entry(item: item, droppable: droppable))
        if droppable { droppableCount += 1 }
        let wasIdle = inbox.count == 1
        condition.unlock()
        // Woken after the unlock, so the worker does not wake only to wait for the lock this thread still holds
        // (a second context switch per item). Only an idle worker, one that found its inbox empty, is waiting.
        if wasIdle { condition.signal() }
        return complete
    }

    /// Queues the last item; nothing is accepted after it.
    func finish(with item: Item) {
        condition.lock()
        defer { condition.unlock() }
        guard !finished else { return }
        finished = true
        inbox.append(Entry(item: item, droppable: false))
        condition.signal()
    }
}

/// Scheduling of the transcoder's threads.
///
/// The decoder and the video encoders are throughput work with a frame's time to finish; the egress threads that
/// forward media to viewers are short bursts that should run the moment a frame or a pacing tick arrives. As
/// `SCHED_BATCH` threads (same share of the CPU as any other, nice level unchanged) the transcoder's threads do not
/// preempt another thread when they wake (a picture handed to an encoder no longer interrupts an egress loop or
/// another encoder mid-frame), and an egress thread waking preempts them. Lowering a thread's policy needs no
/// privilege; if the kernel refuses, the thread stays as it was.
enum Scheduling {
    /// `SCHED_BATCH` from Linux's <sched.h>, which Swift's Glibc module leaves out (it is behind `_GNU_SOURCE`).
    static let batchPolicy: Int32 = 3

    static func makeCurrentThreadBatch() {
        var parameters = sched_param()
        parameters.sched_priority = 0
        _ = pthread_setschedparam(pthread_self(), batchPolicy, &parameters)
    }

    /// The calling thread's policy (for tests).
    static func currentPolicy() -> Int32 {
        var policy: Int32 = -1
        var parameters = sched_param()
        _ = pthread_getschedparam(pthread_self(), &policy, &parameters)
        return policy
    }
}

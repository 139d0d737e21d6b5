import Foundation

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
    init(name: String, capacity: Int, process: @escaping @Sendable (Item) -> Bool,
         onDrop: @escaping @Sendable (Item, inout Item) -> Void) {
        self.capacity = max(1, capacity)
        self.onDrop = onDrop
        let threadName = Self.threadName(name)
        let thread = Thread { [self] in
            // Named from inside: on Linux, Foundation does not pass a name set before `start()` on to the thread.
            Thread.current.name = threadName
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

    /// Linux refuses a thread name longer than 15 bytes (and the thread keeps its creator's), so `top -H` and
    /// `perf` would not tell the encoders apart: the name is cut to fit, on a character boundary.
    static func threadName(_ name: String) -> String {
        var fitted = ""
        for character in name {
            guard fitted.utf8.count + character.utf8.count <= 15 else { break }
            fitted.append(character)
        }
        return fitted
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

import NIOCore
import RTP

/// One viewer's video on its way out: frames waiting for the pacer, oldest first, and the frame being sent. It
/// holds the shared frames, not bytes; a packet is written only when the budget lets it go.
///
/// A frame is numbered (sequence numbers, PictureID) when its first packet goes, so frames dropped while waiting
/// leave no gap the viewer would ask to be repaired. The queue is bounded twice: by frames, and by how long the
/// oldest one has waited. Past either bound the waiting frames are dropped and the viewer waits for a keyframe.
struct VideoSendQueue {
    struct WaitingFrame {
        let data: ByteBuffer
        let timestamp: UInt32
        let isKeyframe: Bool
        /// When it was queued, µs.
        let queuedAt: Int64
    }

    /// What `enqueue` did with a frame.
    enum Admission: Equatable {
        case queued
        /// The waiting frames were past a bound and were dropped (this many); the new one was queued, being a
        /// keyframe, which the viewer can decode from.
        case droppedBeforeKeyframe(Int)
        /// The waiting frames and this one were dropped (this many in all); the viewer must wait for a keyframe.
        case dropped(Int)
    }

    static let maximumFrames = 32

    private(set) var waiting = CircularBuffer<WaitingFrame>(initialCapacity: 4)
    /// The frame being sent, numbered (no packets when none is), and the index of its next packet. Kept in place,
    /// not optional, so writing a packet reads it without copying (and retaining) the shared frame.
    private(set) var sending = VP8FramePackets()
    private(set) var nextIndex = 0
    /// abs-send-time written into `sending`'s header; packets sent later get theirs patched.
    private(set) var sendingStamp: UInt32 = 0
    private(set) var sendingTimestamp: UInt32 = 0

    var isEmpty: Bool { nextIndex == sending.count && waiting.isEmpty }

    /// Queues a frame, unless the frames already waiting are past a bound: the oldest has waited `maximumDelay`
    /// µs, or `maximumFrames` wait. Those are dropped then (the frame being sent is finished).
    mutating func enqueue(_ frame: WaitingFrame, maximumDelay: Int64) -> Admission {
        if let oldest = waiting.first, frame.queuedAt - oldest.queuedAt > maximumDelay || waiting.count >= Self.maximumFrames {
            let dropped = waiting.count
            waiting.removeAll(keepingCapacity: true)
            guard frame.isKeyframe else { return .dropped(dropped + 1) }
            waiting.append(frame)
            return .droppedBeforeKeyframe(dropped)
        }
        waiting.append(frame)
        return .queued
    }

    /// Which packet of `sending` goes next; `restamp`: its header's abs-send-time must be patched to `stamp` (it
    /// was laid out for an earlier send). A waiting frame is numbered by `packetizer` when its first packet is due;
    /// index 0 says so, for the repair history. Nil when nothing waits. Frames must not be empty.
    mutating func next(packetizer: inout VP8Packetizer, stamp: UInt32) -> (index: Int, restamp: Bool)? {
        if nextIndex == sending.count {
            guard let frame = waiting.popFirst() else { return nil }
            sending = packetizer.nextFrame(frame.data, timestamp: frame.timestamp, isKeyframe: frame.isKeyframe,
                                           absSendTime: stamp)
            precondition(sending.count > 0, "an empty frame was queued")
            nextIndex = 0
            sendingStamp = stamp
            sendingTimestamp = frame.timestamp
        }
        defer { nextIndex += 1 }
        return (nextIndex, sendingStamp != stamp)
    }
}

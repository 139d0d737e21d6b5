import NIOCore
import RTP
@testable import WebRTCTransport
import XCTest

/// One viewer's paced video queue: bounded by frames and by waiting time, numbering frames only as they leave.
final class VideoSendQueueTests: XCTestCase {
    private func frame(size: Int, timestamp: UInt32, keyframe: Bool = false, at queuedAt: Int64) -> VideoSendQueue.WaitingFrame {
        .init(data: ByteBuffer(repeating: 0x5A, count: size), timestamp: timestamp, isKeyframe: keyframe, queuedAt: queuedAt)
    }

    func testFramesAreNumberedAsTheyLeaveSoDroppedOnesLeaveNoGap() {
        var packetizer = VP8Packetizer(payloadType: 96, ssrc: 1, maximumPacketSize: 1200)
        var queue = VideoSendQueue()
        XCTAssertEqual(queue.enqueue(frame(size: 3000, timestamp: 0, keyframe: true, at: 0), maximumDelay: 500_000), .queued)
        XCTAssertEqual(queue.enqueue(frame(size: 1000, timestamp: 3000, at: 33_000), maximumDelay: 500_000), .queued)
        // The first packet of the keyframe goes; the rest waits for the budget.
        let first = try! XCTUnwrap(queue.next(packetizer: &packetizer, stamp: 7))
        let keyframe = queue.sending
        XCTAssertEqual(first.index, 0)
        XCTAssertEqual(keyframe.count, 3)
        XCTAssertFalse(first.restamp)
        // Frames that wait past 500 ms are dropped; the one being sent is finished.
        XCTAssertEqual(queue.enqueue(frame(size: 1000, timestamp: 6000, at: 40_000), maximumDelay: 500_000), .queued)
        XCTAssertEqual(queue.enqueue(frame(size: 1000, timestamp: 9000, at: 600_000), maximumDelay: 500_000), .dropped(3))
        let second = try! XCTUnwrap(queue.next(packetizer: &packetizer, stamp: 8))
        XCTAssertEqual(second.index, 1)
        XCTAssertTrue(second.restamp, "a packet laid out for an earlier send gets the time it leaves")
        XCTAssertEqual(queue.next(packetizer: &packetizer, stamp: 8)?.index, 2)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertNil(queue.next(packetizer: &packetizer, stamp: 8))
        // A keyframe after the drop is numbered right after the keyframe's packets: nothing to NACK in between.
        XCTAssertEqual(queue.enqueue(frame(size: 500, timestamp: 12_000, keyframe: true, at: 700_000), maximumDelay: 500_000), .queued)
        XCTAssertEqual(queue.next(packetizer: &packetizer, stamp: 9)?.index, 0)
        XCTAssertEqual(queue.sending.firstSequenceNumber, keyframe.firstSequenceNumber &+ 3)
        XCTAssertEqual(queue.sending.pictureID, (keyframe.pictureID + 1) & 0x7FFF)
        XCTAssertEqual(queue.sendingTimestamp, 12_000)
    }

    func testAKeyframeArrivingPastTheBoundIsKeptAndTheQueueIsBoundedByFrames() {
        var queue = VideoSendQueue()
        for index in 0..<VideoSendQueue.maximumFrames {
            XCTAssertEqual(queue.enqueue(frame(size: 100, timestamp: UInt32(index) * 3000, at: Int64(index)), maximumDelay: 500_000), .queued)
        }
        // Only a millisecond old, but the queue is full: the waiting frames go, the keyframe stays.
        XCTAssertEqual(queue.enqueue(frame(size: 100, timestamp: 999_000, keyframe: true, at: 1000), maximumDelay: 500_000),
                       .droppedBeforeKeyframe(VideoSendQueue.maximumFrames))
        XCTAssertEqual(queue.waiting.count, 1)
        XCTAssertEqual(queue.waiting.first?.timestamp, 999_000)
    }
}

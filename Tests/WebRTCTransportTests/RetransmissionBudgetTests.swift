import RTP
@testable import WebRTCTransport
import XCTest

/// The per-viewer retransmission budget: a token bucket refilled once a second.
final class RetransmissionBudgetTests: XCTestCase {
    private func sender() -> VideoSender {
        VideoSender(ssrc: 1, payloadType: 96, packetizer: VP8Packetizer(payloadType: 96, ssrc: 1), timestampOffset: 0)
    }

    func testABurstOfLossIsRepairedAtOnceButTheLongRunRateIsWhatIsSent() {
        var video = sender()
        // 300 packets a second: the bucket fills to two seconds' worth.
        for _ in 0..<5 {
            video.packets &+= 300
            video.refillRetransmissionBudget()
        }
        XCTAssertEqual(video.retransmissionBudget, 600, "capped at two seconds' worth")
        // A receiver stalled and asks for 550 at once: all granted.
        video.retransmissionBudget -= 550
        // Then it goes on asking for everything: each second gains what was sent, no more.
        var granted = 550
        for _ in 0..<10 {
            video.packets &+= 300
            video.refillRetransmissionBudget()
            granted += video.retransmissionBudget
            video.retransmissionBudget = 0
        }
        XCTAssertEqual(granted, 550 + 50 + 300 + 9 * 300, "over 11 s: the burst, what was left, then 300 a second")
    }

    func testAQuietViewerStillHasTheMinimum() {
        var video = sender()
        video.retransmissionBudget = 0
        video.refillRetransmissionBudget()
        XCTAssertEqual(video.retransmissionBudget, VideoSender.minimumRetransmissionsPerSecond)
        video.refillRetransmissionBudget()
        video.refillRetransmissionBudget()
        XCTAssertEqual(video.retransmissionBudget, 2 * VideoSender.minimumRetransmissionsPerSecond)
    }

    func testRepairsGoTwiceOnlyUnderSteadyRandomLoss() {
        XCTAssertFalse(SimulcastConsumer.repairsTwice(windowedLoss: 0, congested: false))
        XCTAssertFalse(SimulcastConsumer.repairsTwice(windowedLoss: 3, congested: false), "about 1 %: one copy is enough")
        XCTAssertTrue(SimulcastConsumer.repairsTwice(windowedLoss: 13, congested: false), "5 %")
        XCTAssertFalse(SimulcastConsumer.repairsTwice(windowedLoss: 13, congested: true), "congestion gets no extra packets")
        XCTAssertFalse(SimulcastConsumer.repairsTwice(windowedLoss: 80, congested: false), "over 20 %: beyond repair")
    }
}

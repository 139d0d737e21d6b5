import Adaptation
import Testing

@Suite struct BandwidthEstimatorTests {
    /// Sends `rate` through a bottleneck for `seconds`, feeding transport-cc style reports every 100 ms.
    func drive(_ estimator: inout BandwidthEstimator, rate: Double, capacity: Double, from start: Int64, seconds: Double) -> Int64 {
        var path = BottleneckPath(capacity: capacity)
        var pending: [(send: Int64, arrival: Int64)] = []
        var time = start
        var nextFeedback = start + 100_000
        let packetsPerFrame = max(1, Int(rate / 30 / 8 / 1200))
        while Double(time - start) < seconds * 1_000_000 {
            for packet in 0..<packetsPerFrame {
                let send = time + Int64(packet) * 500
                pending.append((send, path.arrival(sendTime: send, size: 1200)))
            }
            time += 33_333
            if time >= nextFeedback {
                for report in pending where report.arrival <= time {
                    estimator.reportedReceived(sendTime: report.send, arrivalTime: report.arrival, size: 1200, isProbe: false, at: time)
                }
                pending.removeAll { $0.arrival <= time }
                estimator.finishedFeedback(at: time)
                nextFeedback += 100_000
            }
        }
        return time
    }

    @Test func overuseCutsTheEstimateToWhatThePathCarries() {
        var estimator = BandwidthEstimator(initialBitrate: 2_500_000)
        _ = drive(&estimator, rate: 2_500_000, capacity: 600_000, from: 0, seconds: 4)
        #expect(estimator.source == .transportCC)
        let estimate = estimator.estimate!
        #expect(estimate < 700_000, "estimate \(estimate)")
        #expect(estimator.measuredEstimate == estimate)
    }

    @Test func withRoomTheEstimateGrowsNoFasterThanEightPercentASecondAndStaysNearTheAcknowledgedRate() {
        var estimator = BandwidthEstimator(initialBitrate: 500_000)
        _ = drive(&estimator, rate: 500_000, capacity: 20_000_000, from: 0, seconds: 5)
        let estimate = estimator.estimate!
        #expect(estimate > 500_000, "estimate \(estimate)")
        #expect(estimator.measuredEstimate == nil, "no over-use, no loss: nothing measured yet")
        // 1.08^5 ≈ 1.47; also never above 1.5 × acknowledged + 10 kbit/s.
        #expect(estimate <= 770_000, "estimate \(estimate)")
    }

    @Test func aREMBDecreaseIsTakenAtOnceAndAnIncreaseRaisesTheEstimate() {
        var estimator = BandwidthEstimator(initialBitrate: 2_500_000)
        #expect(estimator.estimate == nil)
        estimator.receivedREMB(bitrate: 2_000_000, at: 0)
        #expect(estimator.estimate == 2_000_000)
        estimator.receivedREMB(bitrate: 2_200_000, at: 500_000)
        #expect(estimator.estimate == 2_200_000)
        estimator.receivedREMB(bitrate: 340_000, at: 1_000_000)
        #expect(estimator.estimate == 340_000)
        #expect(estimator.source == .remb)
    }

    /// A REMB viewer that reported `remb` at 0 s and is probed at 1 Mbit/s from 1 s to 2 s.
    static func probingREMBViewer(remb: UInt64) -> BandwidthEstimator {
        var estimator = BandwidthEstimator(initialBitrate: 300_000)
        estimator.receivedREMB(bitrate: remb, at: 0)
        estimator.startProbe(bitrate: 1_000_000, duration: 1_000_000, at: 1_000_000)
        return estimator
    }

    @Test func aProbeWithoutLossOrOveruseRaisesAREMBEstimate() {
        var estimator = Self.probingREMBViewer(remb: 340_000)
        estimator.receivedREMB(bitrate: 360_000, at: 1_500_000)
        estimator.receivedLossReport(fractionLost: 0, at: 1_800_000)
        #expect(estimator.probeOutcome(at: 2_000_000) == nil, "still waiting for reports")
        #expect(estimator.probeOutcome(at: 3_400_000) == .succeeded(bitrate: 1_000_000))
        #expect(estimator.estimate == 1_000_000)
        // A later REMB below it but not lower than the last REMB leaves the estimate where the probe put it.
        estimator.receivedREMB(bitrate: 400_000, at: 3_500_000)
        #expect(estimator.estimate == 1_000_000)
    }

    @Test func aREMBProbeIsJudgedAtTheFirstReportAfterItsEnd() {
        var estimator = Self.probingREMBViewer(remb: 340_000)
        // A decrease this early was sent before the padding reached the receiver: not the probe's doing.
        estimator.receivedREMB(bitrate: 320_000, at: 1_050_000)
        estimator.receivedLossReport(fractionLost: 0, at: 1_700_000)
        estimator.receivedLossReport(fractionLost: 0, at: 2_100_000)
        #expect(estimator.probeOutcome(at: 2_150_000) == nil, "that report may not cover the last packets")
        estimator.receivedLossReport(fractionLost: 0, at: 2_600_000)
        #expect(estimator.probeOutcome(at: 2_600_000) == .succeeded(bitrate: 1_000_000))

        var lossy = Self.probingREMBViewer(remb: 340_000)
        lossy.receivedLossReport(fractionLost: 40, at: 2_400_000)
        #expect(lossy.probeOutcome(at: 2_400_000) == .failed(reason: "loss 40/256"))
    }

    @Test func aProbeThatCausesLossOrAREMBDecreaseFails() {
        var lossy = Self.probingREMBViewer(remb: 340_000)
        lossy.receivedLossReport(fractionLost: 60, at: 1_900_000)
        #expect(lossy.probeOutcome(at: 3_400_000) == .failed(reason: "loss 60/256"))

        var congested = Self.probingREMBViewer(remb: 400_000)
        congested.receivedREMB(bitrate: 330_000, at: 1_600_000)
        congested.receivedLossReport(fractionLost: 0, at: 1_900_000)
        #expect(congested.probeOutcome(at: 3_400_000) == .failed(reason: "rembDecrease"))
        #expect(congested.estimate == 330_000)

        var silent = Self.probingREMBViewer(remb: 400_000)
        #expect(silent.probeOutcome(at: 3_400_000) == .failed(reason: "noReport"), "no receiver report: no verdict of success")
    }

    @Test func heavyLossCapsTheEstimateAndLowLossLiftsTheCap() {
        var estimator = BandwidthEstimator(initialBitrate: 1_000_000)
        estimator.receivedREMB(bitrate: 2_000_000, at: 0)
        estimator.receivedLossReport(fractionLost: 64, at: 1_000_000)  // 25 %
        #expect(estimator.estimate == 1_750_000)
        estimator.receivedLossReport(fractionLost: 20, at: 2_000_000)  // 8 %: hold
        #expect(estimator.estimate == 1_750_000)
        for second in 3...6 { estimator.receivedLossReport(fractionLost: 0, at: Int64(second) * 1_000_000) }
        #expect(estimator.estimate == 2_000_000, "the cap no longer binds")
        #expect(estimator.lossCap == nil)
    }

    @Test func randomLossThatRepairsCanCoverDoesNotCapTheEstimate() {
        var estimator = BandwidthEstimator(initialBitrate: 1_000_000)
        estimator.receivedREMB(bitrate: 2_000_000, at: 0)
        estimator.receivedLossReport(fractionLost: 30, at: 5_000_000)  // 12 %, no over-use
        #expect(estimator.estimate == 2_000_000)
        estimator.receivedREMB(bitrate: 1_500_000, at: 5_500_000)  // over-use
        estimator.receivedLossReport(fractionLost: 30, at: 6_000_000)
        #expect(estimator.estimate == 1_412_109, "congestive loss: 1.5 M × (1 − 30/512)")
    }

    @Test func aTransportCCProbeMeasuresWhatThePathCarried() {
        var estimator = BandwidthEstimator(initialBitrate: 300_000)
        var path = BottleneckPath(capacity: 3_000_000)
        estimator.startProbe(bitrate: 1_200_000, duration: 1_000_000, at: 0)
        // 1.2 Mbit/s for 1 s: 125 packets of 1200 bytes, 8 ms apart.
        var reports: [(Int64, Int64)] = []
        for index in 0..<125 {
            let send = Int64(index) * 8_000
            estimator.sentDuringProbe(at: send)
            reports.append((send, path.arrival(sendTime: send, size: 1200)))
        }
        for (send, arrival) in reports {
            estimator.reportedReceived(sendTime: send, arrivalTime: arrival, size: 1200, isProbe: true, at: arrival)
        }
        estimator.finishedFeedback(at: 1_100_000)
        guard case .succeeded(let bitrate) = estimator.probeOutcome(at: 1_500_000) else {
            Issue.record("probe failed")
            return
        }
        #expect(bitrate > 1_000_000 && bitrate <= 1_200_000, "bitrate \(bitrate)")
        #expect(estimator.estimate! >= bitrate)
    }
}

import Adaptation
import Testing

@Suite struct LossWindowTests {
    /// Chromium-like: a report every 100 ms of 10 packets each, one in twenty lost at random (spread evenly here).
    @Test func frequentReportsAddUpToTheRealLossRate() {
        var window = LossWindow()
        var fractions: [UInt8] = []
        var lost: Int32 = 0
        for report in 1...50 {
            if report % 2 == 0 { lost += 1 }  // 1 lost every 20 packets: 5 %
            if let fraction = window.report(highestSequenceNumber: UInt32(1000 + report * 10), cumulativeLost: lost,
                                            at: Int64(report) * 100_000) {
                fractions.append(fraction)
            }
        }
        #expect(fractions.count == 9, "one figure each half second after the first report: \(fractions)")
        #expect(fractions.allSatisfy { (10...15).contains($0) }, "about 5 % of 256: \(fractions)")
    }

    @Test func aWindowNeedsEnoughPacketsAndTime() {
        var window = LossWindow(minimumInterval: 1_000_000, minimumPackets: 30)
        #expect(window.report(highestSequenceNumber: 100, cumulativeLost: 0, at: 0) == nil)
        #expect(window.report(highestSequenceNumber: 110, cumulativeLost: 5, at: 2_000_000) == nil, "10 packets only")
        #expect(window.report(highestSequenceNumber: 140, cumulativeLost: 10, at: 2_100_000) == 64, "10 of 40: 25 %")
        #expect(window.report(highestSequenceNumber: 200, cumulativeLost: 10, at: 2_500_000) == nil, "0.4 s only")
    }

    @Test func countersThatGoBackStartAgainAndDuplicatesCountAsNoLoss() {
        var window = LossWindow(minimumInterval: 0, minimumPackets: 1)
        _ = window.report(highestSequenceNumber: 5000, cumulativeLost: 50, at: 0)
        #expect(window.report(highestSequenceNumber: 100, cumulativeLost: 0, at: 1) == nil, "receiver restarted")
        #expect(window.report(highestSequenceNumber: 200, cumulativeLost: -3, at: 2) == 0, "duplicates: no loss")
        #expect(window.report(highestSequenceNumber: 300, cumulativeLost: 200, at: 3) == 255, "capped at 255/256")
    }
}

import Adaptation
import Testing

@Suite struct LayerSelectorTests {
    /// 720p, 360p, 180p as a viewer pays for them (video + audio).
    let rates = [2_600_000, 900_000, 300_000]

    @Test func withoutAnEstimateTheViewerStays() {
        var selector = LayerSelector()
        #expect(selector.decide(estimate: nil, rates: rates, current: 0, best: 0, now: 0) == .stay)
    }

    @Test func movesDownAfterAShortHoldAndAtOnceWhenFarBelow() {
        var selector = LayerSelector()
        // The rung is new: it is held 2 s whatever a moderate estimate says.
        #expect(selector.decide(estimate: 3_000_000, rates: rates, current: 0, best: 0, now: 0) == .stay)
        #expect(selector.decide(estimate: 1_700_000, rates: rates, current: 0, best: 0, now: 1_000_000) == .stay)
        #expect(selector.decide(estimate: 1_700_000, rates: rates, current: 0, best: 0, now: 1_900_000) == .stay)
        // 1.7 Mbit/s is below 0.7 × 2.6 but above half: after the hold, a short wait below the line.
        #expect(selector.decide(estimate: 1_700_000, rates: rates, current: 0, best: 0, now: 2_100_000) == .switchTo(1))
        #expect(selector.decide(estimate: 1_700_000, rates: rates, current: 1, best: 0, now: 2_200_000) == .stay)

        var squeezed = LayerSelector()
        #expect(squeezed.decide(estimate: 340_000, rates: rates, current: 0, best: 0, now: 0) == .switchTo(2))
    }

    @Test func movesUpOnlyAfterSustainedHeadroomAndNotRightAfterAMoveDown() {
        var selector = LayerSelector()
        #expect(selector.decide(estimate: 340_000, rates: rates, current: 0, best: 0, now: 0) == .switchTo(2))
        // Plenty of room again at once: held for `holdAfterDowngrade` (4 s).
        var now: Int64 = 100_000
        var decision = LayerSelector.Decision.stay
        while now < 10_000_000 {
            decision = selector.decide(estimate: 5_000_000, rates: rates, current: 2, best: 0, now: now)
            if decision != .stay { break }
            now += 200_000
        }
        #expect(decision == .switchTo(0))
        #expect(now >= 4_000_000)
    }

    @Test func aFlickerAboveTheThresholdIsNotAnUpgrade() {
        var selector = LayerSelector()
        #expect(selector.decide(estimate: 1_200_000, rates: rates, current: 2, best: 0, now: 0) == .stay)
        #expect(selector.decide(estimate: 500_000, rates: rates, current: 2, best: 0, now: 600_000) != .switchTo(1))
        #expect(selector.decide(estimate: 1_200_000, rates: rates, current: 2, best: 0, now: 900_000) == .stay)
        #expect(selector.decide(estimate: 1_200_000, rates: rates, current: 2, best: 0, now: 1_500_000) == .stay, "the hold restarted")
        #expect(selector.decide(estimate: 1_200_000, rates: rates, current: 2, best: 0, now: 1_900_000) == .switchTo(1))
    }

    @Test func probesForTheNextRungAndBacksOffAfterFailures() {
        var selector = LayerSelector()
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 0) == .probe(bitrate: 1_125_000))
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 100_000) == .stay, "one probe at a time")
        selector.probeFinished(succeeded: false, now: 2_000_000)
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 5_000_000) == .stay, "waits 4 s")
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 6_000_000) == .probe(bitrate: 1_125_000))
        selector.probeFinished(succeeded: false, now: 7_000_000)
        selector.probeFinished(succeeded: false, now: 7_000_000)
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 12_000_000) == .stay, "at most 6 s")
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 13_000_000) == .probe(bitrate: 1_125_000))
        selector.probeFinished(succeeded: true, now: 14_000_000)
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 14_000_000) == .probe(bitrate: 1_125_000))
    }

    @Test func aSuccessfulProbeMovesUpWithoutFurtherHold() {
        var selector = LayerSelector()
        #expect(selector.decide(estimate: 400_000, rates: rates, current: 2, best: 0, now: 10_000_000) == .probe(bitrate: 1_125_000))
        selector.probeFinished(succeeded: true, now: 12_300_000)
        // The probe raised the estimate to its own rate, which covers 360p with the margin: up at once.
        #expect(selector.decide(estimate: 1_125_000, rates: rates, current: 2, best: 0, now: 12_300_000) == .switchTo(1))

        // Without a probe, the same estimate must hold for a second first.
        var unprobed = LayerSelector()
        #expect(unprobed.decide(estimate: 1_125_000, rates: rates, current: 2, best: 0, now: 10_000_000) == .stay)
        #expect(unprobed.decide(estimate: 1_125_000, rates: rates, current: 2, best: 0, now: 10_500_000) == .stay)
        #expect(unprobed.decide(estimate: 1_125_000, rates: rates, current: 2, best: 0, now: 11_000_000) == .switchTo(1))
    }

    @Test func theCapIsRespected() {
        var selector = LayerSelector()
        #expect(selector.decide(estimate: 9_000_000, rates: rates, current: 0, best: 1, now: 0) == .switchTo(1))
        var capped = LayerSelector()
        for step in 0..<20 {
            let decision = capped.decide(estimate: 9_000_000, rates: rates, current: 1, best: 1, now: Int64(step) * 500_000)
            #expect(decision == .stay)
        }
    }
}

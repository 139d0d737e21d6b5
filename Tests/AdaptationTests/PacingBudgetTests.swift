import Adaptation
import Testing

@Suite struct PacingBudgetTests {
    /// Sends 1200-byte packets whenever the budget allows, stepping the clock by `step` µs, for `duration` µs.
    static func packetsSent(_ budget: inout PacingBudget, from start: Int64, duration: Int64, step: Int64) -> Int {
        var sent = 0
        var now = start
        while now < start + duration {
            now += step
            budget.refill(at: now)
            while budget.allowsSending {
                budget.spend(1200)
                sent += 1
            }
        }
        return sent
    }

    @Test func aFullBucketSendsItsBurstAtOnceThenTheRate() {
        // 2 Mbit/s with a 20 ms burst: 5,000 bytes at once, then 250,000 bytes a second.
        var budget = PacingBudget(bitrate: 2_000_000, burstMicroseconds: 20_000, minimumCapacity: 2400, now: 0)
        #expect(budget.capacity == 5000)
        var atOnce = 0
        while budget.allowsSending {
            budget.spend(1200)
            atOnce += 1
        }
        #expect(atOnce == 5, "4 whole packets and one into debt")
        #expect(budget.tokens == -1000)
        let sent = Self.packetsSent(&budget, from: 0, duration: 1_000_000, step: 5000)
        // 250,000 bytes a second is 208 packets of 1200 bytes; the debt and the whole-packet rounding cost one or two.
        #expect((206...209).contains(sent), "sent \(sent)")
    }

    @Test func idleTimeFillsTheBucketOnlyToItsCapacity() {
        var budget = PacingBudget(bitrate: 1_000_000, burstMicroseconds: 20_000, minimumCapacity: 2400, now: 0)
        budget.spend(budget.capacity)
        budget.refill(at: 10_000_000)
        #expect(budget.tokens == budget.capacity, "ten idle seconds do not turn into a ten-second burst")
    }

    @Test func aSlowViewersBucketStillHoldsWholePackets() {
        // 100 kbit/s × 20 ms is 250 bytes: the floor keeps two packets.
        let budget = PacingBudget(bitrate: 100_000, burstMicroseconds: 20_000, minimumCapacity: 2400, now: 0)
        #expect(budget.capacity == 2400)
    }

    @Test func refillsTooShortToEarnAByteAreNotLost() {
        var budget = PacingBudget(bitrate: 64_000, burstMicroseconds: 20_000, minimumCapacity: 2400, now: 0)
        budget.spend(budget.capacity)
        // 64 kbit/s is 8 bytes a millisecond: 100 µs earns 0.8 byte, which must add up over 1,000 refills.
        for step in 1...1000 { budget.refill(at: Int64(step) * 100) }
        #expect((790...800).contains(budget.tokens), "tokens \(budget.tokens)")
    }

    @Test func debtIsBoundedByOneBucket() {
        var budget = PacingBudget(bitrate: 1_000_000, burstMicroseconds: 20_000, minimumCapacity: 2400, now: 0)
        for _ in 0..<100 { budget.spend(1200) }
        #expect(budget.tokens == -budget.capacity)
    }

    @Test func aNewRateAppliesFromNow() {
        var budget = PacingBudget(bitrate: 8_000_000, burstMicroseconds: 20_000, minimumCapacity: 2400, now: 0)
        budget.spend(budget.capacity)  // 20,000 bytes
        budget.setBitrate(800_000, at: 1000)  // the first millisecond earned 1,000 bytes at the old rate
        #expect(budget.tokens == 1000)
        #expect(budget.capacity == 2400)
        budget.refill(at: 11_000)  // 10 ms at 100 bytes/ms
        #expect(budget.tokens == 2000)
    }
}

import Adaptation
import Testing

@Suite struct RateMeterTests {
    @Test func steadyTrafficReadsAsItsRate() {
        var meter = RateMeter(windowMicroseconds: 1_000_000, bucketCount: 10)
        // 100 packets of 1250 bytes over 1 s: 1 Mbit/s.
        for step in 0..<200 { meter.add(bytes: 1250, at: Int64(step) * 10_000) }
        let rate = meter.bitsPerSecond(at: 2_000_000)!
        #expect(abs(rate - 1_000_000) < 120_000, "rate \(rate)")
    }

    @Test func silenceEmptiesTheWindow() {
        var meter = RateMeter(windowMicroseconds: 1_000_000, bucketCount: 10)
        for step in 0..<100 { meter.add(bytes: 1000, at: Int64(step) * 10_000) }
        #expect(meter.bitsPerSecond(at: 5_000_000) == 0)
    }

    @Test func aYoungMeterIsNotReadAsACollapse() {
        var meter = RateMeter(windowMicroseconds: 2_000_000, bucketCount: 10)
        for step in 0..<50 { meter.add(bytes: 1000, at: 10_000_000 + Int64(step) * 10_000) }
        // 50 kB in 0.5 s is 800 kbit/s, not 200 kbit/s over the whole 2 s window.
        let rate = meter.bitsPerSecond(at: 10_500_000)!
        #expect(rate > 600_000 && rate < 1_000_000, "rate \(rate)")
    }
}

@Suite struct SentPacketLogTests {
    @Test func findsWhatWasRecordedAndForgetsWhatWasOverwritten() {
        var log = SentPacketLog(capacity: 1000)  // rounded up to 1024
        for sequence in 0..<1100 { log.record(sequenceNumber: UInt16(sequence), sendTime: Int64(sequence), size: 1200, isProbe: false) }
        #expect(log.entry(1099)?.sendTime == 1099)
        #expect(log.entry(200)?.sendTime == 200)
        #expect(log.entry(50) == nil, "overwritten by 1074")
        #expect(log.entry(1200) == nil, "never sent")
    }

    @Test func wrapsAroundTheSequenceSpace() {
        var log = SentPacketLog(capacity: 64)
        for step in 0..<100 { log.record(sequenceNumber: UInt16(truncatingIfNeeded: 65_500 + step), sendTime: Int64(step), size: 100, isProbe: step % 2 == 0) }
        #expect(log.entry(UInt16(truncatingIfNeeded: 65_500 + 99))?.sendTime == 99)
        #expect(log.entry(11)?.isProbe == false, "step 47")
    }
}

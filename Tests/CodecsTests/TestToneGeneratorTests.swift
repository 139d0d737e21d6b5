import Testing
@testable import Codecs

@Suite struct TestToneGeneratorTests {
    @Test func beepsAtTheStartOfEverySecondFromTheGivenPhase() {
        let tone = TestToneGenerator(sampleRate: 48_000, channels: 1, firstBeepAtSample: 12_000)
        #expect(!tone.isBeeping(atSample: 0))
        #expect(tone.isBeeping(atSample: 12_000))
        #expect(tone.isBeeping(atSample: 12_000 + 4_799))
        #expect(!tone.isBeeping(atSample: 12_000 + 4_800))
        #expect(tone.isBeeping(atSample: 60_000))
    }

    @Test func toneAndBeepHaveTheirFrequencies() {
        var tone = TestToneGenerator(sampleRate: 48_000, channels: 2)
        let samples = tone.nextSamples(count: 48_000)
        #expect(samples.count == 96_000)
        let left = stride(from: 0, to: samples.count, by: 2).map { samples[$0] }
        #expect(left == stride(from: 1, to: samples.count, by: 2).map { samples[$0] })
        func crossings(_ range: Range<Int>) -> Int {
            zip(left[range], left[range].dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        }
        // 0.1 s of 880 Hz beep, then 0.5 s of 440 Hz tone.
        #expect(abs(crossings(0..<4_800) - 176) <= 2)
        #expect(abs(crossings(12_000..<36_000) - 440) <= 2)
        #expect(tone.position == 48_000)
    }
}

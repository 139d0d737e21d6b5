import Foundation

/// The demo stream's sound: a steady 440 Hz sine with a short 880 Hz beep at the start of every second.
///
/// The beep lines up with the second the picture's clock ticks (and with the box turning white), so audio/video
/// sync can be checked by ear and eye, and an offset measured from a recording. Each sample is computed from its
/// index within the second, so the tone neither drifts nor loses precision however long the stream runs.
public struct TestToneGenerator: Sendable {
    public let sampleRate: Int
    public let channels: Int
    public let toneFrequency: Int
    public let beepFrequency: Int
    /// Samples per beep.
    public let beepLength: Int
    /// Index of the sample at which the first beep starts (modulo one second).
    public let beepPhase: Int
    /// Index of the next sample to generate.
    public private(set) var position: Int64 = 0

    private let toneAmplitude: Float = 0.25
    private let beepAmplitude: Float = 0.5

    public init(sampleRate: Int = 48_000, channels: Int = 2, toneFrequency: Int = 440, beepFrequency: Int = 880,
                beepDuration: Double = 0.1, firstBeepAtSample: Int = 0) {
        precondition(sampleRate > 0 && channels > 0, "tone needs a sample rate and channels")
        self.sampleRate = sampleRate
        self.channels = channels
        self.toneFrequency = toneFrequency
        self.beepFrequency = beepFrequency
        self.beepLength = Int(beepDuration * Double(sampleRate))
        self.beepPhase = ((firstBeepAtSample % sampleRate) + sampleRate) % sampleRate
    }

    /// Whether sample `index` falls inside a beep.
    public func isBeeping(atSample index: Int64) -> Bool {
        let intoSecond = Int(((index - Int64(beepPhase)) % Int64(sampleRate) + Int64(sampleRate)) % Int64(sampleRate))
        return intoSecond < beepLength
    }

    /// The next `count` instants as interleaved samples (the same signal on every channel).
    public mutating func nextSamples(count: Int) -> [Float] {
        var samples = [Float](repeating: 0, count: count * channels)
        let rate = Int64(sampleRate)
        for instant in 0..<count {
            let index = position + Int64(instant)
            // Whole-hertz frequencies repeat every second, so the phase only needs the index within the second.
            let withinSecond = Double(index % rate) / Double(rate)
            let value: Float
            if isBeeping(atSample: index) {
                value = beepAmplitude * Float(sin(2 * Double.pi * Double(beepFrequency) * withinSecond))
            } else {
                value = toneAmplitude * Float(sin(2 * Double.pi * Double(toneFrequency) * withinSecond))
            }
            for channel in 0..<channels { samples[instant * channels + channel] = value }
        }
        position += Int64(count)
        return samples
    }
}

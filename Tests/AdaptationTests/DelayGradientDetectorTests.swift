import Adaptation
import Testing

/// A path with a bottleneck of `capacity` bits per second and a fixed propagation delay: what a receiver would
/// report for packets sent at given times.
struct BottleneckPath {
    var capacity: Double
    var propagation: Int64 = 20_000
    private var queueFreeAt: Double = 0

    init(capacity: Double) { self.capacity = capacity }

    mutating func arrival(sendTime: Int64, size: Int) -> Int64 {
        let start = max(Double(sendTime), queueFreeAt)
        queueFreeAt = start + Double(size * 8) / capacity * 1_000_000
        return Int64(queueFreeAt) + propagation
    }
}

@Suite struct DelayGradientDetectorTests {
    /// Frames of `packets` × 1200 bytes every 33 ms (packets 1 ms apart), at `rate` bits/s through the path.
    func run(rate: Double, capacity: Double, seconds: Double) -> [DelayGradientDetector.Signal] {
        var detector = DelayGradientDetector()
        var path = BottleneckPath(capacity: capacity)
        var signals: [DelayGradientDetector.Signal] = []
        let packetsPerFrame = max(1, Int(rate / 30 / 8 / 1200))
        var time: Int64 = 0
        while Double(time) < seconds * 1_000_000 {
            for packet in 0..<packetsPerFrame {
                let send = time + Int64(packet) * 1_000
                if let signal = detector.add(sendTime: send, arrivalTime: path.arrival(sendTime: send, size: 1200)) {
                    signals.append(signal)
                }
            }
            time += 33_333
        }
        return signals
    }

    @Test func aPathWithRoomIsNormal() {
        let signals = run(rate: 1_000_000, capacity: 10_000_000, seconds: 5)
        #expect(!signals.isEmpty)
        #expect(!signals.contains(.overusing))
    }

    @Test func aGrowingQueueIsOveruse() {
        let signals = run(rate: 2_500_000, capacity: 1_000_000, seconds: 3)
        #expect(signals.contains(.overusing))
    }
}

/// How much one viewer's path carries, in bits per second, from whatever feedback the viewer sends
/// (in the manner of Google Congestion Control, draft-ietf-rmcat-gcc-02):
///
/// - **transport-cc** (browsers): the send-side delay-based controller: `DelayGradientDetector` on the reported
///   arrival times; on over-use the estimate is cut to 0.85 × what was acknowledged, otherwise it grows by at most
///   8 %/s and never beyond 1.5 × the acknowledged rate.
/// - **REMB** (aiortc, older clients): the receiver ran that controller itself. A REMB below the last one is its
///   over-use verdict and is taken as it is; a higher one raises the estimate. A receiver's REMB only climbs at
///   8 %/s, so a successful probe may lift the estimate above it; only a REMB decrease brings it back down.
/// - **Receiver reports** (every client): the loss-based controller. Loss above 10 % caps the estimate at
///   estimate × (1 − loss/2) when it is congestive (an over-use in the last 2 s) or beyond repair (> 20 %); below 2 %
///   the cap grows 5 % per report until it no longer binds.
/// - **Probes**: the sender pads the stream up to a bitrate for a moment; if the path carried it (transport-cc:
///   measured; REMB: no loss reported and no REMB decrease, judged at the first receiver report after its end),
///   the estimate is raised to it.
///
/// Times are microseconds on the sender's monotonic clock (arrival times on the receiver's clock, used only as
/// differences). Nothing allocates per packet.
public struct BandwidthEstimator: Sendable {
    public enum Source: String, Sendable {
        /// No estimate yet: the viewer stays where it is.
        case none
        case remb
        case transportCC = "transport_cc"
    }

    public enum ProbeOutcome: Sendable, Equatable {
        case succeeded(bitrate: Int)
        /// Why, for logs: `overuse`, `loss`, `short`, `slow`, `rembDecrease`, `noReport`.
        case failed(reason: String)
    }

    private struct Probe {
        var bitrate: Int
        var start: Int64
        var end: Int64
        var packetsSent = 0
        var packetsReported = 0
        var packetsReceived = 0
        var bytesReceived = 0
        var firstArrival: Int64?
        var lastArrival: Int64?
        var overuse = false
        var rembDecreased = false
        var worstFractionLost: UInt8 = 0
        var lossReports = 0
        /// Whether a receiver report came after the probe's last packets had time to arrive (or be missed).
        var reportedAfterEnd = false
    }

    public static let minimumBitrate = 50_000
    public static let maximumBitrate = 50_000_000
    /// How long after a probe's end its verdict waits for feedback: transport-cc comes every ~100 ms, receiver
    /// reports about once a second.
    static let transportCCVerdictDelay: Int64 = 400_000
    static let reportVerdictDelay: Int64 = 1_300_000
    /// A receiver report this long after a probe's end covers its last packets: with one in, and no REMB decrease
    /// (a receiver sends that at once), the verdict need not wait `reportVerdictDelay`.
    static let reportAfterEndMargin: Int64 = 200_000
    /// Feedback this soon after a probe starts describes the path before it.
    static let probeFeedbackDelay: Int64 = 100_000
    static let decreaseInterval: Int64 = 300_000

    /// First: `isProbing` is read for every packet sent, so this is the field the egress's prefetch must reach
    /// (a struct's stored properties are laid out in declaration order).
    private var probe: Probe?
    public private(set) var source: Source = .none
    /// Delay-based (or REMB) estimate.
    public private(set) var delayBased: Int?
    /// Loss-based cap, when loss has been seen.
    public private(set) var lossCap: Int?
    public private(set) var lastSignal: DelayGradientDetector.Signal = .normal
    /// Over-use verdicts so far (the detector's, or REMB decreases), for operations and tests.
    public private(set) var overuseCount = 0
    private var detector = DelayGradientDetector()
    private var acknowledged = RateMeter(windowMicroseconds: 1_000_000, bucketCount: 10)
    private var lastUpdate: Int64?
    private var lastDecrease: Int64?
    private var lastOveruse: Int64?
    private var lastREMB: Int?
    private let initialBitrate: Int

    /// `initialBitrate`: what the viewer is sent at first; the transport-cc controller starts from it.
    public init(initialBitrate: Int) {
        self.initialBitrate = Self.clamp(initialBitrate)
    }

    /// The estimate the layer choice follows; nil while the viewer has given no feedback to estimate from.
    public var estimate: Int? {
        guard let delayBased else { return nil }
        guard let lossCap else { return delayBased }
        return min(delayBased, lossCap)
    }

    public var isProbing: Bool { probe != nil }

    /// What a layer choice may act on: nil until the path has said something about itself (a REMB, an over-use,
    /// loss, a probe). The transport-cc controller starts from the sender's own guess (`initialBitrate`), and a
    /// guess is no reason to move a viewer.
    public var measuredEstimate: Int? { hasEvidence ? estimate : nil }
    public private(set) var hasEvidence = false

    // MARK: REMB

    public mutating func receivedREMB(bitrate: UInt64, at now: Int64) {
        guard source != .transportCC else { return }  // transport-cc is the better signal when a viewer sends both
        source = .remb
        hasEvidence = true
        let value = Self.clamp(Int(min(bitrate, UInt64(Self.maximumBitrate))))
        defer { lastREMB = value }
        if let last = lastREMB, value < last * 97 / 100 {
            // The receiver saw over-use: its figure (0.85 × what it received) is the path's.
            delayBased = value
            lastSignal = .overusing
            lastOveruse = now
            overuseCount += 1
            if let start = probe?.start, now >= start + Self.probeFeedbackDelay { probe?.rembDecreased = true }
        } else {
            delayBased = max(delayBased ?? 0, value)
            lastSignal = .normal
        }
    }

    // MARK: transport-cc

    /// One packet a transport-cc feedback reported received.
    public mutating func reportedReceived(sendTime: Int64, arrivalTime: Int64, size: Int, isProbe: Bool, at now: Int64) {
        if source != .transportCC {
            source = .transportCC
            delayBased = initialBitrate
        }
        acknowledged.add(bytes: size, at: now)
        if let signal = detector.add(sendTime: sendTime, arrivalTime: arrivalTime) {
            lastSignal = signal
            if signal == .overusing { probe?.overuse = true }
        }
        if var probe, sendTime >= probe.start, sendTime <= probe.end {
            probe.packetsReported += 1
            probe.packetsReceived += 1
            probe.bytesReceived += size
            probe.firstArrival = min(probe.firstArrival ?? arrivalTime, arrivalTime)
            probe.lastArrival = max(probe.lastArrival ?? arrivalTime, arrivalTime)
            self.probe = probe
        }
    }

    /// One packet a transport-cc feedback reported lost.
    public mutating func reportedLost(sendTime: Int64) {
        if var probe, sendTime >= probe.start, sendTime <= probe.end {
            probe.packetsReported += 1
            self.probe = probe
        }
    }

    /// After every packet of one feedback was reported: the rate controller acts on the detector's verdict.
    public mutating func finishedFeedback(at now: Int64) {
        guard source == .transportCC, let current = delayBased else { return }
        defer { lastUpdate = now }
        // Until a whole window of feedback is in (the first second carries audio and a keyframe, not the stream's
        // rate), the acknowledged rate says little: an over-use then cuts from the estimate itself.
        let acked = acknowledged.isMature(at: now) ? acknowledged.bitsPerSecond(at: now) : nil
        switch detector.signal {
        case .overusing:
            if lastDecrease.map({ now - $0 >= Self.decreaseInterval }) ?? true {
                delayBased = Self.clamp(Int(0.85 * Double(acked ?? current)))
                lastDecrease = now
                lastOveruse = now
                overuseCount += 1
                hasEvidence = true
            }
        case .underusing:
            break  // hold: the queue is draining
        case .normal:
            let elapsed = Double(min(now - (lastUpdate ?? now), 1_000_000)) / 1_000_000
            var next = Int(Double(current) * pow108(elapsed)) + 1
            if let acked { next = min(next, max(current, acked * 3 / 2 + 10_000)) }
            delayBased = Self.clamp(next)
        }
    }

    // MARK: Receiver reports

    public mutating func receivedLossReport(fractionLost: UInt8, at now: Int64) {
        if var probe, now >= probe.start {
            probe.worstFractionLost = max(probe.worstFractionLost, fractionLost)
            if now >= probe.start + 500_000 { probe.lossReports += 1 }
            if now >= probe.end + Self.reportAfterEndMargin { probe.reportedAfterEnd = true }
            self.probe = probe
        }
        guard let current = estimate else { return }
        let loss = Double(fractionLost) / 256
        // Loss with no sign of a queue (random loss on a radio link, say) is what NACK/RTX repairs; it caps the
        // estimate when it comes with an over-use verdict of the last 2 s, or when it is beyond repair (> 20 %).
        let congestive = overusedRecently(at: now)
        if loss > 0.10, congestive || loss > 0.20 {
            lossCap = Self.clamp(Int(Double(current) * (1 - 0.5 * loss)))
            hasEvidence = true
        } else if loss < 0.02, let cap = lossCap {
            let raised = cap * 105 / 100
            lossCap = raised >= (delayBased ?? 0) ? nil : raised
        }
    }

    /// Whether the path showed a queue building (an over-use verdict) in the last 2 s: loss seen now is then
    /// congestion, not noise.
    public func overusedRecently(at now: Int64) -> Bool {
        lastOveruse.map { now - $0 < 2_000_000 } ?? false
    }

    // MARK: Probes

    /// The sender is about to pad the stream up to `bitrate` for `duration` µs.
    public mutating func startProbe(bitrate: Int, duration: Int64, at now: Int64) {
        probe = Probe(bitrate: bitrate, start: now, end: now + duration)
    }

    /// Counts a packet sent while probing (media or padding), for the transport-cc verdict.
    public mutating func sentDuringProbe(at now: Int64) {
        if var probe, now >= probe.start, now <= probe.end {
            probe.packetsSent += 1
            self.probe = probe
        }
    }

    /// The probe's verdict once its feedback is in, else nil. A success raises the estimate to what was carried.
    public mutating func probeOutcome(at now: Int64) -> ProbeOutcome? {
        guard let probe else { return nil }
        switch source {
        case .transportCC:
            guard now >= probe.end + Self.transportCCVerdictDelay else { return nil }
            self.probe = nil
            guard !probe.overuse else { return .failed(reason: "overuse") }
            guard probe.packetsSent > 0, probe.packetsReceived * 100 >= probe.packetsSent * 95 else {
                return .failed(reason: "loss \(probe.packetsReceived)/\(probe.packetsSent)")
            }
            guard let first = probe.firstArrival, let last = probe.lastArrival, last - first >= 100_000 else {
                return .failed(reason: "short")
            }
            let delivered = Int(Int64(probe.bytesReceived) * 8 * 1_000_000 / (last - first))
            guard delivered * 100 >= probe.bitrate * 85 else { return .failed(reason: "slow \(delivered)/\(probe.bitrate)") }
            return succeed(min(delivered, probe.bitrate))
        case .remb, .none:
            guard probe.reportedAfterEnd || now >= probe.end + Self.reportVerdictDelay else { return nil }
            self.probe = nil
            // With REMB alone the path's capacity cannot be measured: it held if no over-use and no loss came back.
            guard source == .remb else { return .failed(reason: "no feedback") }
            guard !probe.rembDecreased else { return .failed(reason: "rembDecrease") }
            guard probe.lossReports > 0 else { return .failed(reason: "noReport") }
            guard probe.worstFractionLost < 13 else { return .failed(reason: "loss \(probe.worstFractionLost)/256") }  // 13/256 ≈ 5 %
            return succeed(probe.bitrate)
        }
    }

    private mutating func succeed(_ bitrate: Int) -> ProbeOutcome {
        delayBased = max(delayBased ?? 0, Self.clamp(bitrate))
        lossCap = nil
        hasEvidence = true
        return .succeeded(bitrate: bitrate)
    }

    static func clamp(_ bitrate: Int) -> Int { min(max(bitrate, minimumBitrate), maximumBitrate) }
}

/// 1.08^t without Foundation: e^(t·ln 1.08), t in [0, 1].
private func pow108(_ t: Double) -> Double {
    let x = t * 0.076_961_041_136_128_33
    // Taylor series; |x| < 0.08, so four terms are exact to ~1e-7.
    return 1 + x + x * x / 2 + x * x * x / 6 + x * x * x * x / 24
}

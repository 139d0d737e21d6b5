/// The delay-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02 §5): packets are grouped into bursts by
/// send time, the change in one-way delay between consecutive groups is accumulated and smoothed, and the slope of
/// that delay over the last groups (a trendline) is compared with an adaptive threshold. A rising slope that stays
/// above the threshold for more than 10 ms is over-use: the path's queue is growing.
public struct DelayGradientDetector: Sendable {
    public enum Signal: Sendable, Equatable {
        case normal
        case overusing
        case underusing
    }

    private struct Group {
        var firstSend: Int64
        var lastSend: Int64
        var firstArrival: Int64
        var lastArrival: Int64
    }

    /// Packets sent within this span of a group's first one belong to the group (a frame's packets leave together).
    static let burstMicroseconds: Int64 = 5_000
    static let maximumBurstMicroseconds: Int64 = 100_000
    static let windowSize = 20
    static let smoothing = 0.9
    static let thresholdGain = 4.0
    static let overuseTimeMilliseconds = 10.0

    private var current: Group?
    private var previous: Group?
    private var accumulatedDelay = 0.0
    private var smoothedDelay = 0.0
    private var firstArrival: Int64?
    /// (arrival ms since the first group, smoothed delay ms), newest last; a fixed ring.
    private var window: [(x: Double, y: Double)]
    private var windowCount = 0
    private var windowNext = 0
    private var deltas = 0
    private var threshold = 12.5
    private var lastThresholdUpdate: Int64?
    private var timeOverusing = -1.0
    private var overuseCount = 0
    private var previousTrend = 0.0

    public private(set) var signal: Signal = .normal
    /// The latest modified trend, in ms (for metrics and tests).
    public private(set) var trend = 0.0

    public init() {
        window = Array(repeating: (0, 0), count: Self.windowSize)
    }

    /// One packet the receiver reported, in arrival order; times in µs (send: our clock, arrival: the receiver's).
    /// Returns the signal when a group completed and the detector ran, nil otherwise.
    @discardableResult
    public mutating func add(sendTime: Int64, arrivalTime: Int64) -> Signal? {
        guard var group = current else {
            current = Group(firstSend: sendTime, lastSend: sendTime, firstArrival: arrivalTime, lastArrival: arrivalTime)
            return nil
        }
        if sendTime < group.firstSend { return nil }  // reordered from an older group: ignored
        if sendTime - group.firstSend <= Self.burstMicroseconds || belongsToBurst(group, sendTime: sendTime, arrivalTime: arrivalTime) {
            group.lastSend = max(group.lastSend, sendTime)
            group.lastArrival = max(group.lastArrival, arrivalTime)
            current = group
            return nil
        }
        // The group is complete: compare it with the one before.
        var result: Signal?
        if let previous {
            let sendDelta = Double(group.lastSend - previous.lastSend) / 1000
            let arrivalDelta = Double(group.lastArrival - previous.lastArrival) / 1000
            if arrivalDelta >= 0 {
                result = update(delayDelta: arrivalDelta - sendDelta, sendDelta: sendDelta, arrival: group.lastArrival)
            }
        }
        previous = group
        current = Group(firstSend: sendTime, lastSend: sendTime, firstArrival: arrivalTime, lastArrival: arrivalTime)
        return result
    }

    /// Packets that arrive together though sent apart (the receiver was busy, or a queue ahead of it drained at
    /// once) are one group too: their arrival spacing says nothing about the path's queue.
    private func belongsToBurst(_ group: Group, sendTime: Int64, arrivalTime: Int64) -> Bool {
        let arrivalDelta = arrivalTime - group.lastArrival
        let sendDelta = sendTime - group.lastSend
        return arrivalDelta - sendDelta < 0 && arrivalDelta <= Self.burstMicroseconds
            && arrivalTime - group.firstArrival < Self.maximumBurstMicroseconds
    }

    private mutating func update(delayDelta: Double, sendDelta: Double, arrival: Int64) -> Signal {
        deltas = min(deltas + 1, 1000)
        accumulatedDelay += delayDelta
        smoothedDelay = Self.smoothing * smoothedDelay + (1 - Self.smoothing) * accumulatedDelay
        if firstArrival == nil { firstArrival = arrival }
        let x = Double(arrival - (firstArrival ?? arrival)) / 1000
        window[windowNext] = (x, smoothedDelay)
        windowNext = (windowNext + 1) % Self.windowSize
        windowCount = min(windowCount + 1, Self.windowSize)
        guard windowCount == Self.windowSize, let slope = slope() else { return signal }
        trend = Double(min(deltas, 60)) * slope * Self.thresholdGain
        detect(sendDelta: sendDelta, arrival: arrival)
        return signal
    }

    /// Least-squares slope of delay against arrival time over the window.
    private func slope() -> Double? {
        var sumX = 0.0, sumY = 0.0
        for point in window {
            sumX += point.x
            sumY += point.y
        }
        let meanX = sumX / Double(windowCount), meanY = sumY / Double(windowCount)
        var numerator = 0.0, denominator = 0.0
        for point in window {
            numerator += (point.x - meanX) * (point.y - meanY)
            denominator += (point.x - meanX) * (point.x - meanX)
        }
        return denominator == 0 ? nil : numerator / denominator
    }

    private mutating func detect(sendDelta: Double, arrival: Int64) {
        if trend > threshold {
            timeOverusing = timeOverusing < 0 ? sendDelta / 2 : timeOverusing + sendDelta
            overuseCount += 1
            if timeOverusing > Self.overuseTimeMilliseconds, overuseCount > 1, trend >= previousTrend {
                timeOverusing = 0
                overuseCount = 0
                signal = .overusing
            }
        } else if trend < -threshold {
            timeOverusing = -1
            overuseCount = 0
            signal = .underusing
        } else {
            timeOverusing = -1
            overuseCount = 0
            signal = .normal
        }
        previousTrend = trend
        adaptThreshold(arrival: arrival)
    }

    /// §5.4: the threshold follows the trend slowly upwards and faster downwards, so it neither starves the flow
    /// against a competing TCP stream nor fires on noise. Outliers (far above it) do not move it.
    private mutating func adaptThreshold(arrival: Int64) {
        defer { lastThresholdUpdate = arrival }
        guard let last = lastThresholdUpdate else { return }
        let magnitude = abs(trend)
        if magnitude > threshold + 15 { return }
        let gain = magnitude < threshold ? 0.039 : 0.0087
        let elapsed = min(Double(arrival - last) / 1000, 100)
        threshold = min(max(threshold + gain * (magnitude - threshold) * elapsed, 6), 600)
    }
}

import DatagramIO
import NIOCore
import RTP
import Adaptation
import MediaRouter
import SRTP

/// One viewer as a consumer of a stream's simulcast ladder: which rung it is sent and which it moves to, the wait
/// for a keyframe, the RTP rewriting that makes every rung one continuous stream (one packetizer per medium, whose
/// sequence numbers, timestamps and PictureIDs go on across switches), the RTX history, the pacing queue, the
/// bandwidth estimator and the layer selector.
///
/// It does no I/O of its own and reads no clock: every call is given `now`, and what the shard must do (ask an
/// encoder for a keyframe, close the viewer, count) comes back as a value. Packets are written into the shard's
/// datagram batch, which the shard flushes.
///
/// The fields read for every packet come first and stay in this order: the consumer is stored inline at the top of
/// `ViewerSession`, whose first `ViewerSession.hotBytes` the fan-out prefetches.
struct SimulcastConsumer {
    /// What the shard does for a consumer.
    enum Action: Equatable {
        /// Ask the encoder of this rung for a keyframe (the transcoder coalesces requests per rung).
        case requestKeyframe(rung: String)
        case probeStarted
        case probeFinished(succeeded: Bool)
        case close(SessionCloseReason)
    }

    /// What a video frame of some rung means to this consumer.
    enum FrameVerdict {
        case skip
        case send
        /// The pending switch lands on this keyframe: the viewer was on `from` until now.
        case sendAfterSwitch(from: String)
    }

    /// The shard's settings a consumer's decisions depend on.
    struct Policy {
        var pacingFactor: Double
        var pacingBurst: Int64
        var maximumPacingDelay: Int64
        var maximumPacketSize: Int
        var slowViewerTimeout: TimeAmount
    }

    // MARK: Read for every packet, first

    /// Whether video was negotiated: read per frame and per feedback packet without touching `video`
    /// (reading through the optional copies the whole sender).
    let hasVideo: Bool
    let hasAudio: Bool
    /// Video waits for a keyframe after connecting (nothing before it decodes).
    var awaitingKeyframe = true
    /// Set when the first video frame went out (for the join-time histogram).
    var firstVideoSent = false
    /// Transport-wide sequence number (one space across audio and video, for transport-cc feedback).
    var transportSequence: UInt16 = 0
    /// The rung this viewer receives.
    var layer: String
    /// The rung being switched to: the viewer moves at that rung's next keyframe, asked for at once.
    var pendingLayer: String?
    /// What was sent under each transport-wide sequence number, when the viewer gives transport-cc feedback.
    var sentLog: SentPacketLog?
    /// What may be sent now (video and audio; repairs and probe padding go regardless).
    var pacing: PacingBudget
    var probe: ProbePadding?
    var audio: AudioSender?
    /// Bits per second sent to this viewer (media, retransmissions and padding).
    var sendRate = RateMeter(windowMicroseconds: 1_000_000, bucketCount: 10)
    var video: VideoSender?
    /// Bandwidth estimation (`Adaptation`); its first field is read per packet.
    var estimator: BandwidthEstimator

    // MARK: The rest

    let maximumLayer: String?
    /// The video SSRC, read per feedback packet without touching `video`.
    let videoSSRC: UInt32?
    var selector = LayerSelector()
    var pendingSince: NIODeadline?
    /// Set through the operations API (and tests): the selector leaves the viewer on this rung.
    var pinnedLayer: String?
    /// Since when the estimate has been under half of the bottom rung's cost while on it (nil: it is not).
    var starvedSince: NIODeadline?
    var lastKeyframeRequest: NIODeadline?
    /// When a PLI or FIR of this viewer last reached the encoder (at most one a second does).
    var lastViewerKeyframeRequest: NIODeadline?
    /// Latest figures the viewer reported (RTCP RR / REMB).
    var fractionLost: UInt8 = 0
    var cumulativeLost: Int32 = 0
    var rembBitrate: UInt64?
    /// Video loss over windows of at least a second, for the estimator's loss-based part.
    var lossWindow = LossWindow()
    /// The fraction lost (×256) over the last closed loss window.
    var windowedLoss: UInt8 = 0
    var pacedFramesDropped = 0
    /// Layer switches this viewer made (up: to a better rung).
    var switchesUp = 0
    var switchesDown = 0
    var probesSucceeded = 0
    var probesFailed = 0

    init(layer: String, maximumLayer: String?, video: VideoSender?, audio: AudioSender?, transportWideFeedback: Bool,
         initialBitrate: Int, pacing: PacingBudget) {
        self.hasVideo = video != nil
        self.hasAudio = audio != nil
        self.layer = layer
        self.maximumLayer = maximumLayer
        self.video = video
        self.audio = audio
        self.videoSSRC = video?.ssrc
        self.pacing = pacing
        self.estimator = BandwidthEstimator(initialBitrate: initialBitrate)
        if transportWideFeedback { sentLog = SentPacketLog() }
    }

    // MARK: Layers

    /// Whether a frame of `rung` may be for this viewer (read for every viewer of the stream and frame).
    @inline(__always)
    func follows(_ rung: String) -> Bool { layer == rung || pendingLayer == rung }

    /// Whether this frame goes out to the viewer: a switch lands on the new rung's keyframe (until then the old rung
    /// goes on), and after connecting or a loss of frames nothing goes out before a keyframe.
    @inline(__always)
    mutating func verdict(rung: String, isKeyframe: Bool) -> FrameVerdict {
        var verdict = FrameVerdict.send
        if pendingLayer == rung {
            guard isKeyframe else { return .skip }
            verdict = .sendAfterSwitch(from: layer)
            completeSwitch(to: rung)
        } else if layer != rung {
            return .skip
        }
        if awaitingKeyframe {
            guard isKeyframe else { return .skip }
            awaitingKeyframe = false
        }
        return verdict
    }

    /// From the pending rung's keyframe on the viewer is on that rung. Sequence numbers, PictureIDs and timestamps
    /// continue, since one packetizer serves whatever rung feeds it.
    private mutating func completeSwitch(to rung: String) {
        layer = rung
        pendingLayer = nil
        pendingSince = nil
        awaitingKeyframe = false
    }

    /// Counts a completed switch; `up`: to a better rung.
    mutating func countSwitch(up: Bool) {
        if up { switchesUp += 1 } else { switchesDown += 1 }
    }

    /// Starts a move to `rung`: its keyframe is asked for at once and the viewer moves when it comes.
    mutating func switchLayer(to rung: String, now: NIODeadline) -> Action? {
        guard rung != layer else {
            pendingLayer = nil
            return nil
        }
        guard rung != pendingLayer else { return nil }
        pendingLayer = rung
        pendingSince = now
        return .requestKeyframe(rung: rung)
    }

    /// Pins the viewer to a rung of `ladder` (nil: back to the estimate). Nil when the rung is not in the ladder.
    mutating func pin(_ rung: String?, ladder: [RenditionLayout.Layer], now: NIODeadline) -> [Action]? {
        guard let rung else {
            pinnedLayer = nil
            selector.reset()
            return []
        }
        guard ladder.contains(where: { $0.rung == rung }) else { return nil }
        pinnedLayer = rung
        probe = nil
        return switchLayer(to: rung, now: now).map { [$0] } ?? []
    }

    /// A new ladder (the source changed size): a viewer whose rung is gone moves to the best one it may have.
    mutating func ladderChanged(_ ladder: [RenditionLayout.Layer], now: NIODeadline) -> Action? {
        guard !ladder.isEmpty else { return nil }
        selector.reset()
        if let pending = pendingLayer, !ladder.contains(where: { $0.rung == pending }) { pendingLayer = nil }
        if let pinned = pinnedLayer, !ladder.contains(where: { $0.rung == pinned }) { pinnedLayer = nil }
        guard !ladder.contains(where: { $0.rung == layer }) else { return nil }
        layer = (try? EgressShard.chooseLayer(ladder, maximum: maximumLayer)) ?? ladder[0].rung
        awaitingKeyframe = true
        return keyframeWanted(force: true, now: now)
    }

    // MARK: Keyframes

    /// A keyframe of the rung the viewer is on or moving to, at most every 300 ms unless `force`d.
    mutating func keyframeWanted(force: Bool = false, now: NIODeadline) -> Action? {
        if !force, let last = lastKeyframeRequest, now - last < .milliseconds(300) { return nil }
        lastKeyframeRequest = now
        return .requestKeyframe(rung: pendingLayer ?? layer)
    }

    /// The viewer's PLI or FIR: passed on at most once a second, so one viewer cannot keep an encoder making
    /// keyframes (every viewer of the rung would pay for them in bits). Nil: refused.
    mutating func viewerAskedForKeyframe(now: NIODeadline) -> Action? {
        if let last = lastViewerKeyframeRequest, now - last < .seconds(1) { return nil }
        lastViewerKeyframeRequest = now
        return keyframeWanted(force: true, now: now)
    }

    /// DTLS is done: video waits for a keyframe, asked for now.
    mutating func connected(now: NIODeadline) -> Action? {
        awaitingKeyframe = true
        return keyframeWanted(now: now)
    }

    // MARK: Adaptation

    /// Bits per second a viewer is paced at: `pacingFactor` × the larger of its estimate and its rung's cost.
    static func pacingBitrate(estimate: Int?, cost: Int, factor: Double) -> Int {
        guard factor > 0 else { return unpacedBitrate }
        return Int(factor * Double(max(estimate ?? 0, cost)))
    }

    /// With pacing off: a rate whose 20 ms burst holds any frame.
    static let unpacedBitrate = 100_000_000_000

    /// Runs from the shard's timer: probe verdicts, the pending switch's keyframe asked for again, the pace, then
    /// the selector's decision. `costs` is what each rung costs now, best first (nil: the stream has no ladder);
    /// `cap` the index of the best rung the viewer may have.
    mutating func adapt(costs: [(rung: String, bitrate: Int)]?, cap: Int, policy: Policy, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        let microseconds = EgressShard.microseconds(now)
        if let outcome = estimator.probeOutcome(at: microseconds) {
            var succeeded = false
            if case .succeeded = outcome { succeeded = true }
            selector.probeFinished(succeeded: succeeded, now: microseconds)
            if succeeded { probesSucceeded += 1 } else { probesFailed += 1 }
            actions.append(.probeFinished(succeeded: succeeded))
        }
        if let pending = pendingLayer, let since = pendingSince, now - since > .milliseconds(500) {
            pendingSince = now
            actions.append(.requestKeyframe(rung: pending))
        }
        guard hasVideo, let costs, !costs.isEmpty else { return actions }
        let target = pendingLayer ?? layer
        guard let current = costs.firstIndex(where: { $0.rung == target }) else { return actions }
        // While a switch is pending both rungs may be sent; the pace covers the dearer one.
        let cost = max(costs[current].bitrate, costs.first { $0.rung == layer }?.bitrate ?? 0)
        pacing.setBitrate(Self.pacingBitrate(estimate: estimator.estimate, cost: cost, factor: policy.pacingFactor),
                          at: microseconds)
        guard pinnedLayer == nil else { return actions }
        if isStarved(costs: costs, current: current, timeout: policy.slowViewerTimeout, now: now) {
            actions.append(.close(.tooSlow))
            return actions
        }
        switch selector.decide(estimate: estimator.measuredEstimate, rates: costs.map(\.bitrate), current: current,
                               best: cap, now: microseconds) {
        case .stay:
            break
        case .switchTo(let index):
            if let action = switchLayer(to: costs[index].rung, now: now) { actions.append(action) }
        case .probe(let bitrate):
            if startProbe(bitrate: bitrate, policy: policy, now: now) { actions.append(.probeStarted) }
        }
        return actions
    }

    /// Whether the viewer has been on the bottom rung for `timeout` with an estimate under half its cost.
    private mutating func isStarved(costs: [(rung: String, bitrate: Int)], current: Int, timeout: TimeAmount,
                                    now: NIODeadline) -> Bool {
        guard current == costs.count - 1, pendingLayer == nil, let estimate = estimator.measuredEstimate,
              estimate * 2 < costs[current].bitrate else {
            starvedSince = nil
            return false
        }
        let since = starvedSince ?? now
        starvedSince = since
        return now - since >= timeout
    }

    /// Starts padding up to `bitrate`; false when the viewer cannot be probed (padding is RTX) or already gets it.
    private mutating func startProbe(bitrate: Int, policy: Policy, now: NIODeadline) -> Bool {
        let microseconds = EgressShard.microseconds(now)
        let sending = sendRate.bitsPerSecond(at: microseconds) ?? 0
        guard video?.rtx != nil, bitrate > sending else {
            // A viewer without RTX is not probed (its estimate still grows with its feedback).
            selector.probeFinished(succeeded: bitrate <= sending, now: microseconds)
            return false
        }
        let duration = selector.settings.probeDuration
        estimator.startProbe(bitrate: bitrate, duration: duration, at: microseconds)
        probe = ProbePadding(until: now + .microseconds(duration), bitrate: bitrate - sending, lastSentAt: now)
        return true
    }

    // MARK: Feedback

    mutating func receivedReport(_ report: RTCPReceptionReport, now: NIODeadline) {
        fractionLost = report.fractionLost
        cumulativeLost = report.cumulativeLost
        let microseconds = EgressShard.microseconds(now)
        if let fraction = lossWindow.report(highestSequenceNumber: report.highestSequenceNumber,
                                            cumulativeLost: report.cumulativeLost, at: microseconds) {
            windowedLoss = fraction
            estimator.receivedLossReport(fractionLost: fraction, at: microseconds)
        }
    }

    mutating func receivedREMB(bitrate: UInt64, now: NIODeadline) {
        rembBitrate = bitrate
        estimator.receivedREMB(bitrate: bitrate, at: EgressShard.microseconds(now))
    }

    /// transport-cc: each reported packet is matched with its send time and size and handed to the estimator.
    mutating func receivedTransportFeedback(_ feedback: RTCPTransportFeedback, now deadline: NIODeadline) {
        guard let log = sentLog else { return }
        let now = EgressShard.microseconds(deadline)
        var arrival = Int64(feedback.referenceTime) * 64_000
        for status in feedback.packets {
            guard let entry = log.entry(status.sequenceNumber) else { continue }
            if let delta = status.receiveDelta {
                arrival += Int64(delta)
                estimator.reportedReceived(sendTime: entry.sendTime, arrivalTime: arrival, size: entry.size,
                                           isProbe: entry.isProbe, at: now)
            } else {
                estimator.reportedLost(sendTime: entry.sendTime)
            }
        }
        estimator.finishedFeedback(at: now)
    }

    /// Whether repairs go out twice: loss steady enough to hit a repair too (≥ 2 %), not so much that it is beyond
    /// repair (> 20 %), and no queue building — congestion is not answered with more packets.
    static func repairsTwice(windowedLoss: UInt8, congested: Bool) -> Bool {
        !congested && windowedLoss >= 5 && windowedLoss <= 51
    }
}

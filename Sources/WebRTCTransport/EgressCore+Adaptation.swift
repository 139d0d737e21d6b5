import NIOCore
import RTP
import Adaptation
import MediaRouter

/// The adaptive half of the egress: each viewer's bandwidth estimate picks its rung (switching at that rung's
/// keyframe), probes pad the stream to look for headroom, and the operations API can pin a viewer.
extension EgressCore {
    /// What each rung of a stream costs a viewer now: measured video rate (at least 30 % of the encoder's target,
    /// so a still scene does not make a rung look free) plus audio. Best rung first.
    static func layerCosts(_ media: inout StreamMedia, now: Int64) -> [(rung: String, bitrate: Int)] {
        let audio = media.audioRate.bitsPerSecond(at: now) ?? 64_000
        return media.layers.map { layer in
            let measured = media.layerRates[layer.rung]?.bitsPerSecond(at: now) ?? layer.bitrate
            return (layer.rung, max(measured, layer.bitrate * 3 / 10) + audio)
        }
    }

    static func microseconds(_ deadline: NIODeadline) -> Int64 { Int64(deadline.uptimeNanoseconds / 1000) }
    static func microseconds(_ duration: Duration) -> Int64 { amount(duration).nanoseconds / 1000 }

    /// Runs from the timer for every connected viewer: probe verdicts, then the selector's decision.
    func adapt(_ session: ViewerSession, now: NIODeadline) {
        let microseconds = Self.microseconds(now)
        if let outcome = session.estimator.probeOutcome(at: microseconds) {
            var succeeded = false
            if case .succeeded = outcome { succeeded = true }
            session.selector.probeFinished(succeeded: succeeded, now: microseconds)
            (succeeded ? metrics.probesSucceeded : metrics.probesFailed).increment()
            if succeeded { session.probesSucceeded += 1 } else { session.probesFailed += 1 }
            logger.debug("probe finished", metadata: ["session": "\(session.id.prefix(8))", "outcome": "\(outcome)",
                                                     "estimate": "\(session.estimator.estimate ?? 0)"])
        }
        if let pending = session.pendingLayer, let since = session.pendingSince, now - since > .milliseconds(500) {
            session.pendingSince = now
            _ = requestKeyframe(session.stream, pending)
        }
        guard session.hasVideo, var media = streams[session.stream], !media.layers.isEmpty else { return }
        let costs = Self.layerCosts(&media, now: microseconds)
        streams[session.stream] = media
        let target = session.pendingLayer ?? session.layer
        guard let current = costs.firstIndex(where: { $0.rung == target }) else { return }
        // While a switch is pending both rungs may be sent; the pace covers the dearer one.
        let cost = max(costs[current].bitrate, costs.first { $0.rung == session.layer }?.bitrate ?? 0)
        session.pacing.setBitrate(pacingBitrate(estimate: session.estimator.estimate, cost: cost), at: microseconds)
        guard session.pinnedLayer == nil else { return }
        let cap = (try? Self.chooseLayer(media.layers, maximum: session.maximumLayer)).flatMap { rung in
            costs.firstIndex { $0.rung == rung }
        } ?? 0
        if isStarved(session, costs: costs, current: current, now: now) {
            logger.info("viewer too slow for the bottom rung", metadata: [
                "session": "\(session.id.prefix(8))", "estimate": "\(session.estimator.measuredEstimate ?? 0)",
                "bottom": "\(costs[costs.count - 1].bitrate)"])
            _ = closeSession(id: session.id, reason: .tooSlow)
            return
        }
        let decision = session.selector.decide(estimate: session.estimator.measuredEstimate, rates: costs.map(\.bitrate),
                                               current: current, best: cap, now: microseconds)
        switch decision {
        case .stay:
            break
        case .switchTo(let index):
            switchLayer(session, to: costs[index].rung, now: now)
        case .probe(let bitrate):
            startProbe(session, bitrate: bitrate, now: now)
        }
    }

    /// Whether a viewer has been on the bottom rung for `slowViewerTimeout` with an estimate under half its cost.
    private func isStarved(_ session: ViewerSession, costs: [(rung: String, bitrate: Int)], current: Int, now: NIODeadline) -> Bool {
        guard current == costs.count - 1, session.pendingLayer == nil, let estimate = session.estimator.measuredEstimate,
              estimate * 2 < costs[current].bitrate else {
            session.starvedSince = nil
            return false
        }
        let since = session.starvedSince ?? now
        session.starvedSince = since
        return now - since >= Self.amount(settings.slowViewerTimeout)
    }

    /// Starts a move to `rung`: its keyframe is asked for at once and the viewer moves when it comes.
    func switchLayer(_ session: ViewerSession, to rung: String, now: NIODeadline) {
        guard rung != session.layer else {
            session.pendingLayer = nil
            return
        }
        guard rung != session.pendingLayer else { return }
        session.pendingLayer = rung
        session.pendingSince = now
        _ = requestKeyframe(session.stream, rung)
    }

    /// The keyframe of the pending rung is about to go out: from it on the viewer is on that rung. Sequence
    /// numbers, PictureIDs and timestamps continue, since one packetizer serves whatever rung feeds it.
    func completeSwitch(_ session: ViewerSession, to rung: String) {
        let layers = streams[session.stream]?.layers ?? []
        let from = layers.firstIndex { $0.rung == session.layer } ?? 0
        let to = layers.firstIndex { $0.rung == rung } ?? 0
        if to < from {
            metrics.switchesUp.increment()
            session.switchesUp += 1
        } else {
            metrics.switchesDown.increment()
            session.switchesDown += 1
        }
        logger.debug("viewer switched layer", metadata: ["session": "\(session.id.prefix(8))", "from": "\(session.layer)",
                                                         "to": "\(rung)", "estimate": "\(session.estimator.estimate ?? 0)"])
        session.layer = rung
        session.pendingLayer = nil
        session.pendingSince = nil
        session.awaitingKeyframe = false
    }

    /// Pins a viewer to a rung (nil: back to the estimate). False when the session or the rung is unknown.
    func pinLayer(id: String, rung: String?, now: NIODeadline) -> Bool {
        guard let session = sessions[id] else { return false }
        guard let rung else {
            session.pinnedLayer = nil
            session.selector.reset()
            return true
        }
        guard streams[session.stream]?.layers.contains(where: { $0.rung == rung }) ?? false else { return false }
        session.pinnedLayer = rung
        session.probe = nil
        switchLayer(session, to: rung, now: now)
        return true
    }

    // MARK: Probes

    func startProbe(_ session: ViewerSession, bitrate: Int, now: NIODeadline) {
        let microseconds = Self.microseconds(now)
        let sending = session.sendRate.bitsPerSecond(at: microseconds) ?? 0
        guard session.video?.rtx != nil, bitrate > sending else {
            // Padding is RTX; a viewer without it is not probed (its estimate still grows with its feedback).
            session.selector.probeFinished(succeeded: bitrate <= sending, now: microseconds)
            return
        }
        let duration = session.selector.settings.probeDuration
        session.estimator.startProbe(bitrate: bitrate, duration: duration, at: microseconds)
        session.probe = ProbePadding(until: now + .microseconds(duration), bitrate: bitrate - sending, lastSentAt: now)
        metrics.probesStarted.increment()
    }

    /// Sends the padding owed since the last step: RTX copies of the latest frame's packets, round robin.
    func pad(_ session: ViewerSession, now: NIODeadline) {
        guard var probe = session.probe else { return }
        guard now < probe.until else {
            session.probe = nil
            return
        }
        guard let outbound = session.outbound, session.selectedAddress != nil, var video = session.video.take() else { return }
        defer {
            session.video = video
            session.probe = probe
        }
        let elapsed = Double((now - probe.lastSentAt).nanoseconds) / 1e9
        probe.lastSentAt = now
        // At most 50 ms of credit, so a late step does not turn into a burst.
        probe.creditBytes = min(probe.creditBytes + elapsed * Double(probe.bitrate) / 8, Double(probe.bitrate) / 160)
        guard let rtx = video.rtx, let frame = video.history.last, frame.packetCount > 0 else { return }
        let sendTime = RTPHeaderExtensionLayout.absSendTime(nanoseconds: UInt64(now.uptimeNanoseconds))
        while probe.creditBytes >= Double(settings.maximumPacketSize) {
            let index = probe.cursor % frame.packetCount
            probe.cursor &+= 1
            guard video.packetizer.writeRetransmission(index: index, of: frame.data, timestamp: frame.timestamp,
                                                       pictureID: frame.pictureID,
                                                       originalSequenceNumber: frame.firstSequenceNumber &+ UInt16(truncatingIfNeeded: index),
                                                       rtx: rtx, rtxSequenceNumber: video.rtxSequenceNumber,
                                                       absSendTime: sendTime, into: &scratch) else { break }
            video.rtxSequenceNumber &+= 1
            probe.creditBytes -= Double(scratch.readableBytes + 16)
            send(&scratch, layout: video.packetizer.header.extensions, session: session, with: outbound,
                 isProbe: true, now: now, kind: .padding)
        }
    }

    // MARK: Feedback

    /// transport-cc: each reported packet is matched with its send time and size and handed to the estimator.
    func receivedTransportFeedback(_ feedback: RTCPTransportFeedback, session: ViewerSession, now deadline: NIODeadline) {
        guard let log = session.sentLog else { return }
        let now = Self.microseconds(deadline)
        var arrival = Int64(feedback.referenceTime) * 64_000
        for status in feedback.packets {
            guard let entry = log.entry(status.sequenceNumber) else { continue }
            if let delta = status.receiveDelta {
                arrival += Int64(delta)
                session.estimator.reportedReceived(sendTime: entry.sendTime, arrivalTime: arrival, size: entry.size,
                                                   isProbe: entry.isProbe, at: now)
            } else {
                session.estimator.reportedLost(sendTime: entry.sendTime)
            }
        }
        session.estimator.finishedFeedback(at: now)
    }

    /// Once a second: the viewers-per-rung gauges.
    func countViewersByLayer() {
        var counts: [String: Int] = [:]
        for media in streams.values {
            for layer in media.layers { counts[layer.rung] = 0 }
        }
        for session in sessions.values where session.phase == .connected { counts[session.layer, default: 0] += 1 }
        for (rung, count) in directory.setLayerCounts(counts, shard: shard) { metrics.viewers(onLayer: rung).record(count) }
    }
}

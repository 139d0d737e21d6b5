import NIOCore
import RTP
import Adaptation
import MediaRouter

/// The adaptive half of the egress: each viewer's consumer picks its rung from its bandwidth estimate (switching at
/// that rung's keyframe) and probes for headroom; the shard gives it the rungs' costs and the operations API can pin
/// a viewer.
extension EgressShard {
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

    /// Runs from the timer for every connected viewer: the consumer's probe verdicts, pace and layer decision.
    func adapt(_ session: ViewerSession, now: NIODeadline) {
        var costs: [(rung: String, bitrate: Int)]?
        var cap = 0
        if session.consumer.hasVideo, var media = streams[session.stream], !media.layers.isEmpty {
            let rungCosts = Self.layerCosts(&media, now: Self.microseconds(now))
            streams[session.stream] = media
            cap = (try? Self.chooseLayer(media.layers, maximum: session.consumer.maximumLayer)).flatMap { rung in
                rungCosts.firstIndex { $0.rung == rung }
            } ?? 0
            costs = rungCosts
        }
        for action in session.consumer.adapt(costs: costs, cap: cap, policy: policy, now: now) {
            follow(action, for: session)
        }
    }

    /// Pins a viewer to a rung (nil: back to the estimate). False when the session or the rung is unknown.
    func pinLayer(id: String, rung: String?, now: NIODeadline) -> Bool {
        guard let session = sessions[id] else { return false }
        guard let actions = session.consumer.pin(rung, ladder: streams[session.stream]?.layers ?? [], now: now) else { return false }
        for action in actions { follow(action, for: session) }
        return true
    }

    /// Sends the probe padding owed since the last step (`SimulcastConsumer.pad`).
    func pad(_ session: ViewerSession, now: NIODeadline) {
        guard let outlet = session.outlet(batch) else { return }
        session.consumer.pad(through: outlet, scratch: &scratch, tally: &sentTally,
                             maximumPacketSize: settings.maximumPacketSize, now: now)
    }

    /// Once a second: the viewers-per-rung gauges.
    func countViewersByLayer() {
        var counts: [String: Int] = [:]
        for media in streams.values {
            for layer in media.layers { counts[layer.rung] = 0 }
        }
        for session in sessions.values where session.phase == .connected { counts[session.consumer.layer, default: 0] += 1 }
        for (rung, count) in directory.setLayerCounts(counts, shard: shard) { metrics.viewers(onLayer: rung).record(count) }
    }
}

import Foundation
import NIOConcurrencyHelpers

/// DASH/HLS players seen at this origin: distinct clients (address and User-Agent) that fetched one of a stream's
/// manifests or playlists in the last `window` seconds, by protocol. Players reload those every second or two, so a
/// player that stops drops out within the window. An estimate: players behind one NAT with the same browser count
/// once, and behind a cache or CDN only its own fetches reach the origin.
public final class PlayerTally: Sendable {
    private struct Seen {
        var kind: String
        var at: Double
    }

    private struct State {
        var streams: [String: [String: Seen]] = [:]
        var lastPrune = 0.0
    }

    /// Seconds a fetch keeps a player counted.
    public let window: Double
    /// Clients remembered per stream; beyond it new clients are not counted until old ones age out.
    public let capacity: Int
    private let state = NIOLockedValueBox(State())

    public init(window: Double = 10, capacity: Int = 100_000) {
        self.window = window
        self.capacity = capacity
    }

    /// A client fetched a manifest of `stream` over `kind` (`hls`, `dash`).
    public func saw(stream: String, kind: String, client: String, now: Double = Date().timeIntervalSince1970) {
        state.withLockedValue { state in
            if now - state.lastPrune >= 1 { prune(&state, now: now) }
            if state.streams[stream]?[client] == nil, state.streams[stream]?.count ?? 0 >= capacity { return }
            state.streams[stream, default: [:]][client] = Seen(kind: kind, at: now)
        }
    }

    /// Players of `stream` by protocol.
    public func counts(stream: String, now: Double = Date().timeIntervalSince1970) -> [String: Int] {
        state.withLockedValue { state in
            var counts: [String: Int] = [:]
            for seen in (state.streams[stream] ?? [:]).values where now - seen.at < window { counts[seen.kind, default: 0] += 1 }
            return counts
        }
    }

    private func prune(_ state: inout State, now: Double) {
        state.lastPrune = now
        for (stream, clients) in state.streams {
            let kept = clients.filter { now - $0.value.at < window }
            state.streams[stream] = kept.isEmpty ? nil : kept
        }
    }
}

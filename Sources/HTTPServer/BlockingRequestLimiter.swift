import Hummingbird
import MediaCore
import Metrics
import NIOConcurrencyHelpers

/// Bounds the DASH/HLS requests held open waiting for media (LL-HLS blocking playlist reloads, preload hints, LL-DASH
/// segments asked for early): overall, and per client address so that one client cannot fill the pool and leave
/// every other player's reloads refused. A player holds one or two at a time per rendition.
public final class BlockingRequestLimiter: Sendable {
    public enum Refusal: String, Sendable {
        /// This address already holds its share: 429.
        case tooManyFromAddress = "too_many_from_address"
        /// The pool is full: 503.
        case full
    }

    private struct State {
        var held = 0
        var byAddress: [String: Int] = [:]
    }

    public let maximum: Int
    public let maximumPerAddress: Int
    private let state = NIOLockedValueBox(State())
    private let heldGauge = Gauge(label: "liverelay_http_blocking_requests_held")

    public init(maximum: Int = 4096, maximumPerAddress: Int = 64) {
        self.maximum = maximum
        self.maximumPerAddress = maximumPerAddress
    }

    /// Requests held now.
    public var held: Int { state.withLockedValue { $0.held } }

    /// Takes a slot for `address`, or says why not. Every slot taken must be given back with `release`.
    public func acquire(address: String) -> Refusal? {
        let refusal = state.withLockedValue { state -> Refusal? in
            let fromAddress = state.byAddress[address, default: 0]
            guard fromAddress < maximumPerAddress else { return .tooManyFromAddress }
            guard state.held < maximum else { return .full }
            state.held += 1
            state.byAddress[address] = fromAddress + 1
            heldGauge.record(state.held)
            return nil
        }
        if let refusal {
            Counter(label: "liverelay_http_blocking_requests_refused_total", dimensions: [("reason", refusal.rawValue)]).increment()
        }
        return refusal
    }

    public func release(address: String) {
        state.withLockedValue { state in
            state.held -= 1
            heldGauge.record(state.held)
            state.byAddress.decrementCount(address)
        }
    }

    /// Runs `wait` holding a slot for `address`; throws 429 or 503 without waiting when there is none.
    func holding<T>(address: String?, _ wait: () async -> T) async throws -> T {
        let address = address ?? ""
        switch acquire(address: address) {
        case .tooManyFromAddress:
            throw APIError(.tooManyRequests, "too_many_waiting", "this address already holds \(maximumPerAddress) waiting requests",
                           headers: [.retryAfter: "1"])
        case .full:
            throw APIError(.serviceUnavailable, "too_many_waiting", "too many waiting requests", headers: [.retryAfter: "1"])
        case nil:
            defer { release(address: address) }
            return await wait()
        }
    }
}

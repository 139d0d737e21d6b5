import MediaCore
import NIOConcurrencyHelpers
import NIOCore

/// Which egress shard owns each viewer session, shared by the shards and the front.
///
/// Every shard has a socket on the one media port (SO_REUSEPORT), and the kernel picks the socket a viewer's
/// datagrams reach from their addresses, which WHEP cannot know. So a session is created on one shard, and the
/// shard whose socket its first connectivity check reaches takes it over (before ICE there is nothing on the
/// session that belongs to a thread). A datagram that reaches a shard not owning its session (a second candidate
/// address hashed elsewhere) is handed to the owner, which answers through its own socket, on the same port.
///
/// The lock is taken per session event (create, adopt, a new address, close) and for datagrams a shard cannot place
/// itself, never per forwarded media packet.
final class SessionDirectory: Sendable {
    private struct State {
        var byID: [String: Int] = [:]
        var byUfrag: [String: Int] = [:]
        /// Each address's shard and the session that claimed it: one session's address is never another's.
        var byAddress: [SocketAddress: (shard: Int, id: String)] = [:]
        var viewers: [Int]
        var layerCounts: [[String: Int]]
        /// Sessions not yet connected, per client address (WHEP's per-client limit).
        var pendingByClient: [String: Int] = [:]
    }

    private let state: NIOLockedValueBox<State>

    init(shards: Int) {
        state = NIOLockedValueBox(State(viewers: Array(repeating: 0, count: shards),
                                        layerCounts: Array(repeating: [:], count: shards)))
    }

    var sessionCount: Int { state.withLockedValue { $0.byID.count } }

    /// Records a new session; false when the ufrag is already someone's (the caller picks another).
    func claim(id: String, ufrag: String, shard: Int) -> Bool {
        state.withLockedValue { state in
            guard state.byUfrag[ufrag] == nil else { return false }
            state.byUfrag[ufrag] = shard
            state.byID[id] = shard
            return true
        }
    }

    /// The session moved to `shard` (it was adopted).
    func move(id: String, ufrag: String, to shard: Int) {
        state.withLockedValue { state in
            guard state.byID[id] != nil else { return }
            state.byID[id] = shard
            state.byUfrag[ufrag] = shard
            for (address, holder) in state.byAddress where holder.id == id { state.byAddress[address] = (shard, id) }
        }
    }

    /// Records that session `id` on `shard` receives from `address`; false when another session holds it.
    func claim(address: SocketAddress, shard: Int, id: String) -> Bool {
        state.withLockedValue { state in
            if let holder = state.byAddress[address] { return holder.id == id }
            state.byAddress[address] = (shard, id)
            return true
        }
    }

    /// Gives up session `id`'s claim on `address` (another session's claim stays).
    func release(address: SocketAddress, id: String) {
        state.withLockedValue { state in
            if state.byAddress[address]?.id == id { state.byAddress.removeValue(forKey: address) }
        }
    }

    func remove(id: String, ufrag: String, addresses: [SocketAddress]) {
        state.withLockedValue { state in
            state.byID.removeValue(forKey: id)
            state.byUfrag.removeValue(forKey: ufrag)
            for address in addresses where state.byAddress[address]?.id == id { state.byAddress.removeValue(forKey: address) }
        }
    }

    /// Counts a new not-yet-connected session of `client`; false (nothing counted) when it holds `limit` already.
    func admitPending(client: String, limit: Int) -> Bool {
        state.withLockedValue { state in
            let count = state.pendingByClient[client, default: 0]
            guard count < limit else { return false }
            state.pendingByClient[client] = count + 1
            return true
        }
    }

    /// One of `client`'s sessions connected or ended before it did.
    func pendingEnded(client: String) {
        state.withLockedValue { state in
            state.pendingByClient.decrementCount(client)
        }
    }

    func shard(id: String) -> Int? { state.withLockedValue { $0.byID[id] } }
    func shard(ufrag: String) -> Int? { state.withLockedValue { $0.byUfrag[ufrag] } }
    func shard(address: SocketAddress) -> Int? { state.withLockedValue { $0.byAddress[address]?.shard } }

    /// One shard's viewer count; returns the node's.
    func setViewers(_ count: Int, shard: Int) -> Int {
        state.withLockedValue { state in
            state.viewers[shard] = count
            return state.viewers.reduce(0, +)
        }
    }

    /// One shard's viewers per rung; returns the node's.
    func setLayerCounts(_ counts: [String: Int], shard: Int) -> [String: Int] {
        state.withLockedValue { state in
            state.layerCounts[shard] = counts
            return state.layerCounts.reduce(into: [:]) { total, counts in
                for (rung, count) in counts { total[rung, default: 0] += count }
            }
        }
    }
}

/// Hands a loop-confined object to another loop once nothing on the first one refers to it any more.
struct Handover<Value>: @unchecked Sendable {
    let value: Value
}

/// Where a handshake stands after feeding it a datagram or a timeout.
public enum DTLSHandshakeResult: Sendable, Hashable {
    /// Waiting for the peer's next flight; send `takeOutgoing()` and arm `nextTimeout()`.
    case incomplete
    /// Keys are ready and the peer's certificate matched the offer.
    case complete(SRTPKeyingMaterial)
    /// The connection is unusable; `takeOutgoing()` may still hold an alert for the peer.
    case failed(DTLSError)
}

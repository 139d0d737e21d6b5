/// A local address the viewer may send its ICE checks to.
public struct ICECandidate: Equatable, Hashable, Sendable {
    /// An IPv4 or IPv6 literal (no zone, no hostname: the answer is read by the viewer, not by us).
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The direction attribute of a media section, seen from the side that wrote it.
public enum MediaDirection: String, Equatable, Hashable, Sendable, CaseIterable {
    case sendrecv
    case sendonly
    case recvonly
    case inactive

    /// Whether the peer that wrote this direction is willing to receive media.
    public var receives: Bool { self == .sendrecv || self == .recvonly }
}

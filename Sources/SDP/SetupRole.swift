/// The `a=setup` DTLS role (RFC 4145, RFC 5763). LiveRelay always answers passive, so an offer must
/// leave the client role to the viewer: `actpass` or `active`.
public enum SetupRole: String, Equatable, Hashable, Sendable {
    case actpass
    case active
    case passive
    case holdconn
}

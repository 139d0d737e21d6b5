/// Why an SDP body was refused, split the way the WHEP endpoint answers it: text that is not a usable
/// offer is the client's mistake (HTTP 400), a well-formed offer we cannot serve is a negotiation failure (HTTP 406).
public enum SDPError: Error, Equatable, Sendable {
    /// Syntax or a required attribute is wrong or missing.
    case malformed(reason: String)
    /// The offer is well formed but asks for something LiveRelay does not do.
    case unsupported(reason: String)

    /// The status the WHEP endpoint replies with, kept here so every caller maps errors the same way.
    public var httpStatus: Int {
        switch self {
        case .malformed: 400
        case .unsupported: 406
        }
    }

    public var reason: String {
        switch self {
        case .malformed(let reason), .unsupported(let reason): reason
        }
    }
}

/// Why a WHEP request was refused; the HTTP layer maps each case to a status.
public enum WHEPError: Error, Sendable, Equatable {
    /// The offer cannot be parsed (400).
    case badOffer(String)
    /// The offer parses but asks for nothing we can send: no VP8 or Opus, no usable m-line (406).
    case unsupportedOffer(String)
    /// The stream has no publisher, or its transcoder has not produced layers yet (409).
    case streamOffline(String)
    /// `maxLayer` names no rung of the ladder (400).
    case unknownLayer(String)
    /// The node carries as many viewers as it is configured for (503).
    case capacity
    /// The client holds as many not-yet-connected sessions as it may, or posts offers too fast (429).
    case tooManyRequests(String)
    /// No such session (404).
    case sessionNotFound
    /// A PATCH with new ICE credentials: ICE restart is not supported (the draft allows refusing it; 422).
    case iceRestartUnsupported
    /// A PATCH whose `If-Match` names another version of the session (412).
    case etagMismatch
    /// The media socket is not running (503).
    case notRunning

    public var detail: String {
        switch self {
        case .badOffer(let reason): return "the SDP offer is not valid: \(reason)"
        case .unsupportedOffer(let reason): return "the SDP offer cannot be answered: \(reason)"
        case .streamOffline(let reason): return reason
        case .unknownLayer(let name): return "no layer named '\(name)'"
        case .capacity: return "this node carries its maximum number of viewers"
        case .tooManyRequests(let reason): return reason
        case .sessionNotFound: return "no such WHEP session"
        case .iceRestartUnsupported: return "ICE restart is not supported; start a new session"
        case .etagMismatch: return "If-Match does not match the session's ETag"
        case .notRunning: return "WebRTC egress is not running"
        }
    }
}

/// A WHEP session as the HTTP layer answers it.
public struct WHEPSessionCreated: Sendable {
    /// Opaque, unguessable id; the session's resource is `/whep/{stream}/{id}`.
    public var id: String
    public var answer: String
    public var etag: String
    /// The rung this viewer is served.
    public var layer: String
    /// The stream's WebRTC rungs, best first (what `maxLayer` may name).
    public var layers: [String] = []
}

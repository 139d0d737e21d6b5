/// Why the session asks for its connection to be closed.
public enum RTMPCloseReason: Sendable, Equatable {
    /// The peer broke the protocol or a limit; nothing it sends afterwards can be trusted.
    case protocolError(RTMPProtocolError)
    /// `connect` named an application this server does not serve.
    case unknownApplication(String)
    /// The publish was refused (wrong key, stream busy); the peer was told with an onStatus error first.
    case publishRejected(code: String, description: String)

    /// A short, bounded label for `liverelay_rtmp_rejected_total{reason}`.
    public var metricReason: String {
        switch self {
        case .protocolError(let error): return error.metricReason
        case .unknownApplication: return "unknown_application"
        case .publishRejected(let code, _): return code == RTMPStatusCode.publishBadName ? "bad_name" : "publish_rejected"
        }
    }
}

/// NetConnection and NetStream status codes sent in `_result`, `_error` and `onStatus`.
public enum RTMPStatusCode {
    public static let connectSuccess = "NetConnection.Connect.Success"
    public static let connectRejected = "NetConnection.Connect.Rejected"
    public static let callFailed = "NetConnection.Call.Failed"
    public static let publishStart = "NetStream.Publish.Start"
    public static let publishBadName = "NetStream.Publish.BadName"
    public static let publishFailed = "NetStream.Publish.Failed"
    public static let unpublishSuccess = "NetStream.Unpublish.Success"
}

import Hummingbird

/// Request context of every LiveRelay route. API bodies are small JSON documents; anything larger is refused
/// before it is buffered.
public struct LiveRelayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address (no port), when the connection has one.
    public let remoteIP: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteIP = source.channel.remoteAddress?.ipAddress
    }

    public var maxUploadSize: Int { 64 * 1024 }
}

import Hummingbird

/// Request context of every LiveRelay route. API bodies are small JSON documents; anything larger is refused
/// before it is buffered.
public struct LiveRelayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { 64 * 1024 }
}

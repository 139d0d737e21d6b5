import MediaCore

/// What a publication tells the stages downstream of ingest, in order.
public enum MediaEvent: Sendable {
    /// A publisher started; configurations and frames follow.
    case started(PublisherDescription)
    case videoConfiguration(VideoTrackConfig)
    case audioConfiguration(AudioTrackConfig)
    case frame(EncodedFrame)
    /// The publisher stopped (cleanly or not); no more frames until the next `.started`.
    case ended
}

public struct PublisherDescription: Sendable, Equatable {
    /// How the media arrived: `rtmp`, `demo`, ...
    public var source: String
    /// The publisher's address, when it has one.
    public var remoteAddress: String?
    /// Publish generation of the stream, increasing with every new publisher; later stages use it to spot reconnects.
    public var generation: Int

    public init(source: String, remoteAddress: String?, generation: Int) {
        self.source = source
        self.remoteAddress = remoteAddress
        self.generation = generation
    }
}

/// A stage that sees a stream's media. Calls arrive on the publisher's thread and must not block: observers that do
/// heavy work hand frames to their own bounded queues.
public protocol MediaObserver: AnyObject, Sendable {
    func handle(_ event: MediaEvent, stream: String)
}

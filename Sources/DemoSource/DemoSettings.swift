/// What the demo stream looks like; fixed for the life of a `DemoSource`.
struct DemoSettings: Sendable {
    var stream: String
    var width: Int
    var height: Int
    var framesPerSecond: Int
    var videoBitrate: Int
    var audioSampleRate: Int
    var audioChannels: Int
    var audioBitrate: Int
    /// How long to wait before publishing again after the stream name was taken or the publication was evicted.
    var retryInterval: Duration
}

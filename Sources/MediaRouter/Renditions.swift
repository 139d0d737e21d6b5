import MediaCore

/// The renditions that make one stream's ladder: the WebRTC layers and the CMAF renditions it currently has,
/// published again whenever they change (the source changed size). Data, so that any source of renditions — the
/// transcoder, an ad source, a relay from another node, a recording — describes its ladder the same way.
public struct RenditionLayout: Sendable, Equatable {
    /// One rendition: a rung of the ladder, or the source passed through.
    public struct Layer: Sendable, Equatable {
        public var rung: String
        public var width: Int
        public var height: Int
        public var fps: Int
        public var bitrate: Int

        public init(rung: String, width: Int, height: Int, fps: Int, bitrate: Int) {
            self.rung = rung
            self.width = width
            self.height = height
            self.fps = fps
            self.bitrate = bitrate
        }
    }

    /// VP8 layers, largest first (the simulcast layers WebRTC viewers choose from).
    public var webRTCLayers: [Layer]
    /// CMAF renditions, largest first; the first one is the source passthrough when `cmafEnabled` (named "source").
    public var cmafRenditions: [Layer]

    public init(webRTCLayers: [Layer], cmafRenditions: [Layer]) {
        self.webRTCLayers = webRTCLayers
        self.cmafRenditions = cmafRenditions
    }
}

/// What is published of one stream's renditions, in order within each rendition.
///
/// Timestamps stay on the source (RTMP, millisecond) timeline, converted to each codec's media clock: VP8 and
/// re-encoded H.264 frames are in 90 kHz (pts = source ms × 90), Opus packets in 48 kHz (pts = source ms × 48 at the
/// first packet after a start or a gap, then +960 per packet). Passthrough frames (`cmafVideo` of rendition
/// "source", `cmafAudio`) are the ingest's frames untouched (timescale 1000). All carry `timescale`, so sync holds by
/// dividing: the same instant has the same seconds in every output.
public enum RenditionEvent: Sendable {
    /// A publisher started (generation from the router); outputs follow.
    case started(generation: Int)
    case layout(RenditionLayout)
    /// One VP8 frame of the named WebRTC layer (`EncodedFrame.codec == .vp8`, 90 kHz).
    case webRTCVideo(layer: String, frame: EncodedFrame)
    /// One 20 ms Opus packet, 48 kHz stereo (`EncodedFrame.codec == .opus`).
    case webRTCAudio(EncodedFrame)
    /// Codec configuration of a CMAF H.264 rendition; sent before its first frame and again when it changes.
    case cmafVideoConfiguration(rendition: String, VideoTrackConfig)
    /// One H.264 access unit (AVCC) of a CMAF rendition.
    case cmafVideo(rendition: String, frame: EncodedFrame)
    case cmafAudioConfiguration(AudioTrackConfig)
    /// One AAC frame (passthrough).
    case cmafAudio(EncodedFrame)
    /// The publisher stopped; every encoder was flushed and the pipeline released.
    case ended(generation: Int)
}

/// A consumer of renditions (the WebRTC egress, the packager), registered with `MediaRouter.addRenditionObserver`.
///
/// Calls come from the publisher's threads — the transcoder has one per encoder, so different layers arrive
/// concurrently — and must not block: copy the frame (it is a value) into your own queue or event loop and return.
/// Within one layer or rendition, frames arrive in order.
public protocol RenditionObserver: AnyObject, Sendable {
    func handle(_ media: RenditionEvent, stream: String)
}

/// Adapts a closure to `RenditionObserver`.
public final class RenditionHandler: RenditionObserver {
    private let body: @Sendable (RenditionEvent, String) -> Void

    public init(_ body: @escaping @Sendable (RenditionEvent, String) -> Void) {
        self.body = body
    }

    public func handle(_ media: RenditionEvent, stream: String) {
        body(media, stream)
    }
}

import MediaRouter
import Packager

/// Hands a stream's re-encoded H.264 renditions to the DASH/HLS packager as extra renditions of the stream.
/// The source rendition and the AAC audio reach the packager straight from the publication, so they are skipped here.
final class PackagerRenditionFeed: RenditionObserver {
    private let packager: Packager

    init(packager: Packager) {
        self.packager = packager
    }

    func handle(_ media: RenditionEvent, stream: String) {
        switch media {
        case .cmafVideoConfiguration(let rendition, let configuration) where rendition != Packager.sourceRendition:
            packager.ingest(.videoConfiguration(configuration), stream: stream, rendition: rendition)
        case .cmafVideo(let rendition, let frame) where rendition != Packager.sourceRendition:
            packager.ingest(.frame(frame), stream: stream, rendition: rendition)
        default:
            break
        }
    }
}

import Audience
import NIOCore
import Packager

/// Puts the audience layer's flashes and disclaimers on the DASH/HLS timeline (EventStream + `emsg`, EXT-X-DATERANGE).
/// The packager knows nothing of the audience module; this is the only place the two meet.
struct PackagerTimedMetadataSink: TimedMetadataSink {
    let packager: Packager

    func publish(_ metadata: TimedMetadata) {
        let seconds = metadata.duration.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        // A stream that is not being packaged has no timeline to carry the flash; the event channel still does.
        _ = try? packager.addEvent(stream: metadata.stream, at: metadata.start, duration: seconds, kind: .flash,
                                   payload: ByteBuffer(string: metadata.text))
    }
}

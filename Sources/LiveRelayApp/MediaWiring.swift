import Logging
import MediaRouter
import Packager
import ServiceLifecycle
import Codecs
import Transcoder
import WebRTCTransport

/// The media engines of one node and how they meet in the router: the packager observes publications (the source
/// rendition); the transcoder observes them and publishes renditions back; the egress and the packager's extra
/// renditions observe those. Each engine is a `Service` of the node's group and stops itself at shutdown.
struct MediaWiring {
    let packager: Packager
    let transcoder: LiveTranscoder?
    let egress: WebRTCEgress?
    /// The bound WebRTC media port, when the egress is on.
    let webrtcPort: Int?
    private let router: MediaRouter
    private let observations: [Int]
    private let renditionObservations: [Int]

    /// Makes the engines and binds the WebRTC media port (before any listener opens: a viewer's POST needs it).
    /// Observers are added last, the transcoder's after the packager's, so nothing a publisher sends goes unseen.
    static func make(configuration: Configuration, router: MediaRouter, logger: (String) -> Logger) async throws -> MediaWiring {
        let packager = Packager(configuration: PackagerConfiguration(configuration.packager), logger: logger("liverelay.packager"))
        // The transcoder is made before the egress, which asks it for keyframes.
        var transcoder: LiveTranscoder?
        if configuration.transcoder.enabled {
            let settings = TranscoderSettings(
                ladder: configuration.transcoder.ladder.map {
                    Rung(name: $0.name, width: $0.width, height: $0.height, fps: $0.fps, videoKbps: $0.videoKbps)
                },
                webRTCEnabled: configuration.webrtc.enabled, cmafEnabled: true,
                cmafRungs: Set(configuration.transcoder.ladder.filter { $0.cmaf != false }.map(\.name)),
                vp8Simulcast: configuration.transcoder.vp8Simulcast)
            transcoder = LiveTranscoder(settings: settings, publishingTo: router, logger: logger("liverelay.transcoder"))
        }
        var egress: WebRTCEgress?
        var webrtcPort: Int?
        if configuration.webrtc.enabled {
            let made = try WebRTCEgress(settings: WebRTCSettings(configuration.webrtc), logger: logger("liverelay.webrtc"),
                                        requestKeyframe: { [weak transcoder] stream, rung in
                                            transcoder?.requestKeyframe(stream: stream, rung: rung) ?? false
                                        })
            webrtcPort = try await made.start()
            egress = made
        }
        var observations = [router.addObserver(packager)]
        var renditionObservations: [Int] = []
        if let transcoder {
            renditionObservations.append(router.addRenditionObserver(PackagerRenditionFeed(packager: packager)))
            if let egress { renditionObservations.append(router.addRenditionObserver(egress)) }
            observations.append(router.addObserver(transcoder))
        }
        return MediaWiring(packager: packager, transcoder: transcoder, egress: egress, webrtcPort: webrtcPort, router: router,
                           observations: observations, renditionObservations: renditionObservations)
    }

    /// The engines as services, in start order: at shutdown the group stops them in reverse, the egress first.
    var services: [any Service] {
        var services: [any Service] = [packager]
        if let transcoder { services.append(transcoder) }
        if let egress { services.append(egress) }
        return services
    }

    /// Takes the engines out of the router, then stops them (idempotent: after the group ran, or when it never did).
    func detach() async {
        for token in observations.reversed() { router.removeObserver(token) }
        for token in renditionObservations { router.removeRenditionObserver(token) }
        transcoder?.stop()
        await egress?.stop()
        packager.stop()
    }
}

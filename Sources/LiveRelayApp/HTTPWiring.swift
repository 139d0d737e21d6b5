import Audience
import Catalog
import HTTPServer
import Hummingbird
import Logging
import MediaRouter

/// The HTTP edge of one node: every route on the request router and the event channel's, wired to the engines.
struct HTTPWiring {
    let router: Router<LiveRelayRequestContext>
    let eventRouter: Router<EventChannelRequestContext>
    let streaming: StreamingRoutes
    let logger: Logger

    init(configuration: Configuration, router mediaRouter: MediaRouter, catalog: StreamCatalog, audience: AudienceService,
         media: MediaWiring, admin: AdminAuthorization, rtmpIngestURL: String, logger: Logger) {
        self.logger = logger
        let router = Router(context: LiveRelayRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        OperationsRoutes(registry: MetricsBootstrap.registry()).register(on: router)
        PageRoutes(directory: PageRoutes.locateDirectory(configured: configuration.http.pagesDirectory), logger: logger)
            .register(on: router)

        let packager = media.packager
        let egress = media.egress
        audience.connect(metadataSink: PackagerTimedMetadataSink(packager: packager))
        if let egress { audience.connect(webRTCViewers: { await egress.viewersByLayer(stream: $0) }) }
        let players = PlayerTally()
        streaming = StreamingRoutes(packager: packager,
                                    access: StreamingAccess(tokens: audience.tokens, admin: admin, catalog: catalog),
                                    players: players,
                                    blockingRequests: BlockingRequestLimiter(maximum: configuration.http.maximumBlockingRequests,
                                                                             maximumPerAddress: configuration.http.maximumBlockingRequestsPerAddress))
        streaming.register(on: router)
        audience.connect(httpPlayers: { players.counts(stream: $0) })
        AudienceAPI(audience: audience, catalog: catalog, admin: admin, router: mediaRouter,
                    reactionPageLimit: configuration.http.reactionPageLimit,
                    allowedOrigins: configuration.http.allowedOrigins).register(on: router)
        if let egress {
            WHEPRoutes(egress: egress, audience: audience, catalog: catalog, admin: admin,
                       offersPerSecond: configuration.webrtc.offersPerSecondPerIP,
                       offerBurst: configuration.webrtc.offerBurstPerIP).register(on: router)
        }
        StreamsAPI(catalog: catalog, router: mediaRouter, admin: admin, tokens: audience.tokens, rtmpIngestURL: rtmpIngestURL,
                   forget: { name in
                       packager.remove(stream: name)
                       await egress?.closeSessions(stream: name)
                       audience.forget(stream: name)
                   })
            .register(on: router)
        self.router = router

        eventRouter = Router(context: EventChannelRequestContext.self)
        EventChannel(audience: audience, catalog: catalog, admin: admin, router: mediaRouter,
                     allowedOrigins: configuration.http.allowedOrigins).register(on: eventRouter)
    }

    /// Every route, as "METHOD /path" and "WS /path" (the authorization matrix test checks each has its row).
    var routes: [String] {
        router.routes.map { "\($0.method) \($0.path)" } + eventRouter.routes.map { "WS \($0.path)" }
    }
}

import Audience
import Catalog
import DTLS
import DemoSource
import Foundation
import HTTPServer
import Hummingbird
import Logging
import MediaCore
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import Packager
import RTMPIngest
import SRTP
import ServiceLifecycle
import Storage
import Transcode
import Transcoder
import WebRTCTransport

/// Where a running server can be reached; ports are the bound ones (configuration may ask for port 0).
public struct ServerEndpoints: Sendable {
    public var httpPort: Int
    public var rtmpPort: Int
    /// The WebRTC media (UDP) port; nil when WebRTC egress is off.
    public var webrtcPort: Int?
    public var adminToken: String
    /// Every HTTP route the node serves, as "METHOD /path" (`:name` for a parameter): the authorization matrix test
    /// checks that each has its row.
    public var routes: [String] = []
}

/// One LiveRelay node: storage, RTMP ingest, media router, HTTP API, optional demo source, under one service group.
public final class LiveRelayServer: Sendable {
    public let configuration: Configuration
    public let router: MediaRouter
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var group: ServiceGroup?
        var endpoints: ServerEndpoints?
        var waiters: [CheckedContinuation<ServerEndpoints, any Error>] = []
        var failure: (any Error)?
    }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // Metrics must be bootstrapped before the first counter or gauge is made, or those stay no-ops.
        _ = MetricsBootstrap.registry()
        var routerLogger = Logger(label: "liverelay.router")
        routerLogger.logLevel = logger.logLevel
        self.router = MediaRouter(logger: routerLogger)
    }

    /// Runs until SIGTERM/SIGINT (when `handleSignals`) or `shutdown()`, then stops gracefully: ingest stops
    /// accepting, publishers are ended, HTTP drains, the database closes.
    public func run(handleSignals: Bool = true) async throws {
        do {
            try await runServices(handleSignals: handleSignals)
        } catch {
            fail(error)
            throw error
        }
    }

    /// Waits until every listener is bound.
    public func endpoints() async throws -> ServerEndpoints {
        try await withCheckedThrowingContinuation { continuation in
            state.withLockedValue { state in
                if let endpoints = state.endpoints {
                    continuation.resume(returning: endpoints)
                } else if let failure = state.failure {
                    continuation.resume(throwing: failure)
                } else {
                    state.waiters.append(continuation)
                }
            }
        }
    }

    public func shutdown() async {
        let group = state.withLockedValue { $0.group }
        await group?.triggerGracefulShutdown()
    }

    private func runServices(handleSignals: Bool) async throws {
        let configuration = self.configuration
        try configuration.validate()
        StreamMetricLabel.allow(configuration.metrics.streamLabels)
        var libraries = NativeLibraryVersions.current.logFields.mapValues { Logger.MetadataValue.string($0) }
        libraries["libsrtp"] = .string(SRTPLibrary.version)
        libraries["openssl"] = .string(OpenSSLLibrary.version)
        logger.info("LiveRelay starting", metadata: libraries)

        let database = try await Database.open(url: configuration.database.url, dataDirectory: configuration.dataDirectory,
                                               logger: childLogger("liverelay.storage"))
        do {
            try await serve(database: database, handleSignals: handleSignals)
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
        logger.info("LiveRelay stopped")
    }

    private func serve(database: Database, handleSignals: Bool) async throws {
        let configuration = self.configuration
        let catalog = try await StreamCatalog(database: database, router: router)

        let admin = try AdminToken.resolve(configured: configuration.admin.token, dataDirectory: configuration.dataDirectory)
        if let announcement = AdminToken.announcement(admin, stdoutIsTerminal: AdminToken.stdoutIsTerminal) {
            // Shown once, on the start that generated it, and only on a terminal; later starts read it from the file.
            if let line = announcement.terminal { FileHandle.standardOutput.write(Data(line.utf8)) }
            logger.notice("\(announcement.log)")
        }

        if configuration.demo.enabled, try await catalog.get(configuration.demo.stream) == nil {
            _ = try await catalog.create(name: configuration.demo.stream, isPrivate: false)
        }

        let rtmp = RTMPIngestServer(
            configuration: RTMPIngestConfiguration(configuration.rtmp),
            router: router,
            authorize: { app, key in
                app == configuration.rtmp.application ? catalog.stream(forKey: key) : nil
            },
            logger: childLogger("liverelay.rtmp"))

        let advertisedHost = Self.advertisedHost(configuration.http.host)
        let httpLogger = childLogger("liverelay.http")
        let httpRouter = Router(context: LiveRelayRequestContext.self)
        httpRouter.add(middleware: JSONErrorMiddleware())
        OperationsRoutes(registry: MetricsBootstrap.registry()).register(on: httpRouter)
        var stopOnExit: [() -> Void] = []
        defer { for stop in stopOnExit.reversed() { stop() } }
        let packager = Packager(configuration: PackagerConfiguration(configuration.packager), logger: childLogger("liverelay.packager"))
        let packagerObservation = router.addObserver(packager)
        stopOnExit.append {
            self.router.removeObserver(packagerObservation)
            packager.stop()
        }
        // The transcoder is made before WebRTC egress (egress asks it for keyframes) and observes the router last.
        var transcoder: LiveTranscoder?
        if configuration.transcoder.enabled {
            let settings = TranscoderSettings(
                ladder: configuration.transcoder.ladder.map {
                    Rung(name: $0.name, width: $0.width, height: $0.height, fps: $0.fps, videoKbps: $0.videoKbps)
                },
                webRTCEnabled: configuration.webrtc.enabled, cmafEnabled: true,
                cmafRungs: Set(configuration.transcoder.ladder.filter { $0.cmaf != false }.map(\.name)),
                vp8Simulcast: configuration.transcoder.vp8Simulcast)
            transcoder = LiveTranscoder(settings: settings, publishingTo: router, logger: childLogger("liverelay.transcoder"))
        }
        var egress: WebRTCEgress?
        var webrtcPort: Int?
        if configuration.webrtc.enabled {
            let made = try WebRTCEgress(settings: WebRTCSettings(configuration.webrtc), logger: childLogger("liverelay.webrtc"),
                                        requestKeyframe: { [weak transcoder] stream, rung in
                                            transcoder?.requestKeyframe(stream: stream, rung: rung) ?? false
                                        })
            webrtcPort = try await made.start()
            stopOnExit.append { Task { await made.stop() } }
            egress = made
        }
        if let transcoder {
            let feed = router.addRenditionObserver(PackagerRenditionFeed(packager: packager))
            let egressObservation = egress.map { router.addRenditionObserver($0) }
            let transcoderObservation = router.addObserver(transcoder)
            stopOnExit.append {
                self.router.removeObserver(transcoderObservation)
                self.router.removeRenditionObserver(feed)
                if let egressObservation { self.router.removeRenditionObserver(egressObservation) }
                transcoder.stop()
            }
        }
        PageRoutes(directory: PageRoutes.locateDirectory(configured: configuration.http.pagesDirectory), logger: httpLogger)
            .register(on: httpRouter)
        let audience = try await AudienceService.make(configuration: configuration, database: database, logger: childLogger("liverelay.audience"))
        audience.connect(metadataSink: PackagerTimedMetadataSink(packager: packager))
        if let egress { audience.connect(webRTCViewers: { await egress.viewersByLayer(stream: $0) }) }
        let statusObservation = router.addObserver(AudienceStatusFeed(audience: audience))
        stopOnExit.append { self.router.removeObserver(statusObservation) }
        let players = PlayerTally()
        let streaming = StreamingRoutes(packager: packager, access: StreamingAccess(tokens: audience.tokens,
                                                                                    admin: AdminAuthorization(token: admin.token), catalog: catalog),
                                        players: players,
                                        blockingRequests: BlockingRequestLimiter(maximum: configuration.http.maximumBlockingRequests,
                                                                                 maximumPerAddress: configuration.http.maximumBlockingRequestsPerAddress))
        streaming.register(on: httpRouter)
        audience.connect(httpPlayers: { players.counts(stream: $0) })
        AudienceAPI(audience: audience, catalog: catalog, admin: AdminAuthorization(token: admin.token), router: router,
                    reactionPageLimit: configuration.http.reactionPageLimit,
                    allowedOrigins: configuration.http.allowedOrigins).register(on: httpRouter)
        if let egress {
            WHEPRoutes(egress: egress, audience: audience, catalog: catalog, admin: AdminAuthorization(token: admin.token),
                       offersPerSecond: configuration.webrtc.offersPerSecondPerIP,
                       offerBurst: configuration.webrtc.offerBurstPerIP).register(on: httpRouter)
        }
        let eventRouter = Router(context: EventChannelRequestContext.self)
        EventChannel(audience: audience, catalog: catalog, admin: AdminAuthorization(token: admin.token), router: router,
                     allowedOrigins: configuration.http.allowedOrigins).register(on: eventRouter)

        // Listen once every observer is in place (no publisher's first frames go unseen) and nothing below can
        // throw before the service group owns the listener.
        let rtmpPort = try await rtmp.start()
        let boundWebRTCPort = webrtcPort
        let webRTCEgress = egress
        StreamsAPI(catalog: catalog, router: router, admin: AdminAuthorization(token: admin.token),
                   rtmpIngestURL: "rtmp://\(advertisedHost):\(rtmpPort)/\(configuration.rtmp.application)",
                   forget: { name in
                       packager.remove(stream: name)
                       await webRTCEgress?.closeSessions(stream: name)
                       audience.forget(stream: name)
                   })
            .register(on: httpRouter)

        let routes = httpRouter.routes.map { "\($0.method) \($0.path)" } + eventRouter.routes.map { "WS \($0.path)" }
        let http = Application(
            router: httpRouter,
            server: EventChannel.serverBuilder(eventRouter, limiter: HTTPConnectionLimiter(limits: HTTPConnectionLimits(configuration.http)),
                                               idleTimeout: .milliseconds(Int64(configuration.http.idleTimeoutSeconds * 1000)),
                                               handlers: { streaming.fastPathHandlers(serverName: "LiveRelay") }),
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "LiveRelay"),
            onServerRunning: { [weak self] channel in
                guard let self else { return }
                let port = channel.localAddress?.port ?? configuration.http.port
                self.started(ServerEndpoints(httpPort: port, rtmpPort: rtmpPort, webrtcPort: boundWebRTCPort, adminToken: admin.token,
                                             routes: routes))
            },
            logger: httpLogger)

        var services: [any Service] = [http, rtmp, AudienceBackgroundService(audience: audience)]
        if configuration.demo.enabled {
            services.append(DemoSource(router: router, stream: configuration.demo.stream, width: configuration.demo.width,
                                       height: configuration.demo.height, fps: configuration.demo.fps,
                                       logger: childLogger("liverelay.demo")))
        }
        let group = ServiceGroup(services: services,
                                 gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                 logger: childLogger("liverelay.lifecycle"))
        state.withLockedValue { $0.group = group }
        do {
            try await group.run()
        } catch {
            await rtmp.stop()
            await egress?.stop()
            throw error
        }
        await rtmp.stop()
        await egress?.stop()
    }

    private func started(_ endpoints: ServerEndpoints) {
        let configuration = self.configuration
        let waiters = state.withLockedValue { state -> [CheckedContinuation<ServerEndpoints, any Error>] in
            state.endpoints = endpoints
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: endpoints) }
        let host = Self.advertisedHost(configuration.http.host)
        let base = configuration.http.publicURL.isEmpty ? "http://\(host):\(endpoints.httpPort)" : configuration.http.publicURL
        logger.info("LiveRelay ready", metadata: [
            "http": "\(base)", "rtmp": "rtmp://\(host):\(endpoints.rtmpPort)/\(configuration.rtmp.application)/<publish key>",
        ])
        if configuration.demo.enabled {
            logger.info("demo stream live", metadata: ["watch": "\(base)/watch/\(configuration.demo.stream)",
                                                       "status": "\(base)/api/streams/\(configuration.demo.stream)",
                                                       "health": "\(base)/healthz", "metrics": "\(base)/metrics"])
        }
    }

    private func fail(_ error: any Error) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<ServerEndpoints, any Error>] in
            state.failure = error
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// A logger per component, with the server's level (the process-wide log handler sets the format).
    private func childLogger(_ label: String) -> Logger {
        var child = Logger(label: label)
        child.logLevel = logger.logLevel
        return child
    }

    static func advertisedHost(_ bindHost: String) -> String {
        bindHost == "0.0.0.0" || bindHost == "::" ? "localhost" : bindHost
    }
}

extension WebRTCSettings {
    init(_ settings: Configuration.WebRTC) {
        self.init(bindHost: settings.host, port: settings.port,
                  threads: settings.threads > 0 ? settings.threads : ProcessInfo.processInfo.activeProcessorCount, publicAddresses: settings.publicAddresses,
                  consentTimeout: .milliseconds(Int64(settings.consentTimeoutSeconds * 1000)),
                  connectTimeout: .milliseconds(Int64(settings.connectTimeoutSeconds * 1000)),
                  maximumPendingPerClient: settings.maximumPendingSessionsPerIP,
                  offlineGrace: .milliseconds(Int64(settings.offlineGraceSeconds * 1000)),
                  maximumViewers: settings.maximumViewers, pacingFactor: settings.pacingFactor)
    }
}

extension RTMPIngestConfiguration {
    init(_ settings: Configuration.RTMP) {
        self.init()
        host = settings.host
        port = settings.port
        application = settings.application
        maximumChunkSize = settings.maximumChunkSize
        maximumMessageLength = settings.maximumMessageLength
        maximumChunkStreams = settings.maximumChunkStreams
        idleTimeout = .milliseconds(Int64(settings.idleTimeoutSeconds * 1000))
        publishTimeout = .milliseconds(Int64(settings.publishTimeoutSeconds * 1000))
        maximumConnections = settings.maximumConnections
        maximumConnectionsPerAddress = settings.maximumConnectionsPerAddress
    }
}

extension HTTPConnectionLimits {
    init(_ settings: Configuration.HTTP) {
        self.init(maximumConnections: settings.maximumConnections, maximumConnectionsPerAddress: settings.maximumConnectionsPerAddress,
                  headerTimeout: .milliseconds(Int64(settings.headerTimeoutSeconds * 1000)),
                  bodyTimeout: .milliseconds(Int64(settings.bodyTimeoutSeconds * 1000)))
    }
}

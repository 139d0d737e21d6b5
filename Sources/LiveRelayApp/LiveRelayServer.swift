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
import Codecs
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

        let media = try await MediaWiring.make(configuration: configuration, router: router, logger: childLogger)
        var detached = false
        // A failure before the service group runs still stops the engines (and closes the media port).
        defer { if !detached { Task { await media.detach() } } }
        let audience = try await AudienceService.make(configuration: configuration, database: database, logger: childLogger("liverelay.audience"))
        let statusObservation = router.addObserver(AudienceStatusFeed(audience: audience))
        defer { router.removeObserver(statusObservation) }

        // Listen once every observer is in place (no publisher's first frames go unseen) and nothing below can
        // throw before the service group owns the listener.
        let rtmpPort = try await rtmp.start()
        let web = HTTPWiring(configuration: configuration, router: router, catalog: catalog, audience: audience, media: media,
                             admin: AdminAuthorization(token: admin.token),
                             rtmpIngestURL: "rtmp://\(Self.advertisedHost(configuration.http.host)):\(rtmpPort)/\(configuration.rtmp.application)",
                             logger: childLogger("liverelay.http"))
        let boundWebRTCPort = media.webrtcPort
        let routes = web.routes
        let streaming = web.streaming
        let http = Application(
            router: web.router,
            server: EventChannel.serverBuilder(web.eventRouter, limiter: HTTPConnectionLimiter(limits: HTTPConnectionLimits(configuration.http)),
                                               idleTimeout: .milliseconds(Int64(configuration.http.idleTimeoutSeconds * 1000)),
                                               handlers: { streaming.fastPathHandlers(serverName: "LiveRelay") }),
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "LiveRelay"),
            onServerRunning: { [weak self] channel in
                guard let self else { return }
                let port = channel.localAddress?.port ?? configuration.http.port
                self.started(ServerEndpoints(httpPort: port, rtmpPort: rtmpPort, webrtcPort: boundWebRTCPort, adminToken: admin.token,
                                             routes: routes))
            },
            logger: web.logger)

        // Started in this order; at shutdown stopped in reverse: the demo source and RTMP ingest first (no more
        // publishers), then HTTP drains, then the egress, the transcoder and the packager.
        var services = media.services + [http, rtmp, AudienceBackgroundService(audience: audience)]
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
            await media.detach()
            detached = true
            throw error
        }
        await rtmp.stop()
        await media.detach()
        detached = true
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

import Logging
import MediaRouter
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMP
import ServiceLifecycle

/// Accepts RTMP publishers (OBS, ffmpeg, GStreamer) and feeds their streams into the `MediaRouter`.
public final class RTMPIngestServer: Service, Sendable {
    public enum ServerError: Error {
        case alreadyStarted
    }

    private struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var stopped = false
    }

    public let configuration: RTMPIngestConfiguration
    private let router: MediaRouter
    private let authorize: @Sendable (_ app: String, _ key: String) -> String?
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    /// - Parameter authorize: maps an application and stream key to the stream name to publish, or nil to refuse.
    public init(configuration: RTMPIngestConfiguration, router: MediaRouter,
                authorize: @escaping @Sendable (_ app: String, _ key: String) -> String?, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.authorize = authorize
        self.logger = logger
    }

    /// Binds the listening socket and returns the bound port.
    public func start() async throws -> Int {
        let configuration = configuration
        let router = router
        let authorize = authorize
        let logger = logger
        let sessionConfiguration = configuration.sessionConfiguration
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self] channel in
                guard let self, self.admit(channel) else {
                    RTMPIngestMetrics.rejected(reason: "too_many_connections")
                    logger.warning("refusing RTMP connection: connection limit reached",
                                   metadata: ["reason": "too_many_connections"])
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let handler = RTMPConnectionHandler(configuration: sessionConfiguration,
                                                        handshakeTimeout: configuration.handshakeTimeout,
                                                        router: router, authorize: authorize, logger: logger)
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: idleTimeout), handler)
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let alreadyRunning = state.withLockedValue { state -> Bool in
            if state.serverChannel != nil { return true }
            state.serverChannel = channel
            return false
        }
        if alreadyRunning {
            try? await channel.close()
            throw ServerError.alreadyStarted
        }
        let port = channel.localAddress?.port ?? configuration.port
        logger.info("RTMP ingest listening", metadata: ["host": "\(configuration.host)", "port": "\(port)",
                                                       "application": "\(configuration.application)"])
        return port
    }

    /// Stops accepting, closes every connection (their publications end) and waits until they are closed.
    public func stop() async {
        let (server, connections) = state.withLockedValue { state in
            defer {
                state.stopped = true
                state.serverChannel = nil
                state.connections = [:]
            }
            return (state.serverChannel, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
    }

    /// Serves until graceful shutdown (or cancellation), then stops.
    public func run() async throws {
        if state.withLockedValue({ $0.serverChannel == nil }) {
            _ = try await start()
        }
        try? await gracefulShutdown()
        await stop()
    }

    /// Counts the connection against the limit and forgets it when it closes.
    private func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state -> Bool in
            guard !state.stopped, state.connections.count < configuration.maximumConnections else { return false }
            state.connections[id] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { [weak self] _ in
                self?.state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
            }
        }
        return admitted
    }
}

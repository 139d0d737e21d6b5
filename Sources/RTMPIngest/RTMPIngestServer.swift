import Logging
import MediaCore
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
        /// Open connections by remote IP address; an address leaves the table with its last connection.
        var connectionsByAddress: [String: Int] = [:]
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
                guard let self else { return channel.close() }
                if let refusal = self.admit(channel) {
                    RTMPIngestMetrics.rejected(reason: refusal.rawValue)
                    logger.warning("refusing RTMP connection: connection limit reached",
                                   metadata: ["reason": "\(refusal.rawValue)",
                                              "remote": "\(channel.remoteAddress?.ipAddress ?? "-")"])
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let handler = RTMPConnectionHandler(configuration: sessionConfiguration,
                                                        handshakeTimeout: configuration.handshakeTimeout,
                                                        publishTimeout: configuration.publishTimeout,
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
                state.connectionsByAddress = [:]
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

    /// Why a connection was closed on accept; the raw value is the `liverelay_rtmp_rejected_total` reason.
    private enum Refusal: String {
        case stopped
        case tooManyConnections = "too_many_connections"
        case tooManyConnectionsFromAddress = "too_many_connections_from_address"
    }

    /// Counts the connection against the overall and per-address limits and forgets it when it closes; returns
    /// why it is refused, or nil.
    private func admit(_ channel: any Channel) -> Refusal? {
        let id = ObjectIdentifier(channel)
        let address = channel.remoteAddress?.ipAddress ?? ""
        let refusal = state.withLockedValue { state -> Refusal? in
            guard !state.stopped else { return .stopped }
            guard state.connections.count < configuration.maximumConnections else { return .tooManyConnections }
            let fromAddress = state.connectionsByAddress[address, default: 0]
            guard fromAddress < configuration.maximumConnectionsPerAddress else { return .tooManyConnectionsFromAddress }
            state.connections[id] = channel
            state.connectionsByAddress[address] = fromAddress + 1
            return nil
        }
        if refusal == nil {
            channel.closeFuture.whenComplete { [weak self] _ in
                self?.state.withLockedValue { state in
                    guard state.connections.removeValue(forKey: id) != nil else { return }
                    state.connectionsByAddress.decrementCount(address)
                }
            }
        }
        return refusal
    }
}

import Foundation
import HTTPServer
import RTMPIngest
import WebRTCTransport

// The engines' settings from the node's configuration file.

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

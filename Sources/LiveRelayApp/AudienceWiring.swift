import Audience
import Logging
import MediaRouter
import ServiceLifecycle
import Storage

extension AudienceService {
    /// The audience engine as the configuration describes it, its token key resolved (configured, or generated and
    /// kept in the data directory).
    static func make(configuration: Configuration, database: Database, logger: Logger) async throws -> AudienceService {
        let section = configuration.audience
        let secret = try AudienceTokenAuthority.resolveSecret(configured: section.tokenKey, dataDirectory: configuration.dataDirectory)
        var settings = AudienceSettings()
        settings.reactionTypes = section.reactionTypes
        settings.commentsPerSecond = section.commentsPerSecond
        settings.commentBurst = section.commentBurst
        settings.reactionsPerSecond = section.reactionsPerSecond
        settings.reactionBurst = section.reactionBurst
        var previous: [AudienceTokenKey] = []
        if !section.previousTokenKey.isEmpty, let until = configuration.previousTokenKeyUntil {
            previous.append(AudienceTokenKey(secret: section.previousTokenKey.trimmingCharacters(in: .whitespacesAndNewlines),
                                             verifiesUntil: until))
        }
        let tokens = await AudienceTokenAuthority(key: AudienceTokenKey(secret: secret), previous: previous,
                                                  mediaURLLifetime: section.mediaURLLifetimeSeconds)
        let audience = AudienceService(database: database, tokens: tokens, settings: settings, logger: logger)
        try await audience.loadRevocations()
        return audience
    }
}

/// Runs the reaction windows under the service group. Listed after the HTTP server, so on shutdown it stops first:
/// the last totals are written and every event channel is closed before the HTTP server drains.
struct AudienceBackgroundService: Service {
    let audience: AudienceService

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await audience.run()
        }
    }
}

/// Tells the event channels when a stream goes live or offline (`stream.status`); frames pass straight through.
final class AudienceStatusFeed: MediaObserver {
    let audience: AudienceService

    init(audience: AudienceService) {
        self.audience = audience
    }

    func handle(_ event: MediaEvent, stream: String) {
        switch event {
        case .started: audience.announceStatus(stream: stream, live: true)
        case .ended: audience.announceStatus(stream: stream, live: false)
        default: break
        }
    }
}

import ArgumentParser
import Foundation
import LiveRelayApp
import Logging

@main
struct LiveRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liverelay",
        abstract: "LiveRelay: RTMP in; WebRTC, DASH and HLS out.",
        subcommands: [Serve.self, Version.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (embedded defaults; a YAML config file, LIVERELAY_* variables and flags override them).")

    @Option(name: .shortAndLong, help: "YAML configuration file.")
    var config: String?

    @Flag(help: "Publish the built-in test pattern as stream 'demo'.")
    var demo = false

    @Option(help: "HTTP port (API, WHEP, DASH/HLS, metrics).")
    var httpPort: Int?

    @Option(help: "RTMP ingest port.")
    var rtmpPort: Int?

    @Option(help: "Data directory (SQLite database, generated secrets).")
    var dataDir: String?

    @Option(help: "Database URL: empty for SQLite in the data directory, or postgres://user:password@host:5432/db.")
    var databaseURL: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Log format: auto, text or json.")
    var logFormat: String?

    func run() async throws {
        var configuration = Configuration()
        do {
            if let config { configuration = try Configuration.load(path: config) }
            try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
            if demo { configuration.demo.enabled = true }
            if let httpPort { configuration.http.port = httpPort }
            if let rtmpPort { configuration.rtmp.port = rtmpPort }
            if let dataDir { configuration.dataDirectory = dataDir }
            if let databaseURL { configuration.database.url = databaseURL }
            if let logLevel { configuration.log.level = logLevel }
            if let logFormat { configuration.log.format = logFormat }
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }

        let level = Logger.Level(rawValue: configuration.log.level) ?? .info
        let format = configuration.log.format
        LoggingSystem.bootstrap { label in LogOutput.makeHandler(label: label, format: format, level: level) }
        var logger = Logger(label: "liverelay")
        logger.logLevel = level

        let server = LiveRelayServer(configuration: configuration, logger: logger)
        do {
            try await server.run()
        } catch {
            logger.critical("LiveRelay failed", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the versions of LiveRelay and the media libraries it links.")

    func run() {
        print(LiveRelayVersion.describe())
    }
}

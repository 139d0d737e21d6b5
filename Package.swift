// swift-tools-version:6.0
import PackageDescription

// Layering: the table in Sources/README.md, which `make test` checks every import against (tools/check_layers.py).
//   0 C system libraries → 1 foundations (MediaCore, SDP, Adaptation) → 2 protocols and formats → 3 C wrappers →
//   4 DatagramIO → 5 MediaRouter, Storage → 6 engines → 7 HTTPServer → 8 LiveRelayApp → 9 executables.
// A module depends only on lower layers; a C target only on the wrapper that owns it.

/// The per-packet path (RTP, SRTP, the adaptation and the egress) is optimised in debug builds too: tests drive hundreds
/// of real viewers through it, and unoptimised generic code costs ten times as much per packet.
let mediaPath: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug)),
                                 // Dynamic exclusivity checks on every class property access showed in the fan-out
                                 // profile; debug builds (the tests) keep them.
                                 .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "LiveRelay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "liverelay", targets: ["liverelay"]),
        .executable(name: "liverelay-loadgen", targets: ["liverelay-loadgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.0"),
    ],
    targets: [
        // MARK: C system libraries (each a module map + a tiny prefixed shim header)
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat libavcodec libavutil libswscale libswresample",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]),
        .systemLibrary(name: "CVPX", path: "Sources/CVPX", pkgConfig: "vpx", providers: [.apt(["libvpx-dev"])]),
        .systemLibrary(name: "COpus", path: "Sources/COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSRTP", path: "Sources/CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CDatagram", path: "Sources/CDatagram"),

        // MARK: Pure foundations, protocols and formats (layers 1 and 2; no I/O)
        .target(name: "MediaCore", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "RTMP", dependencies: ["MediaCore", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "CMAF", dependencies: ["MediaCore", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "SDP"),
        // STUN's MESSAGE-INTEGRITY is HMAC-SHA1 (swift-crypto); everything else in it is plain parsing.
        .target(name: "STUN", dependencies: [.product(name: "NIOCore", package: "swift-nio"),
                                             .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "RTP", dependencies: [.product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: mediaPath),
        // Bandwidth estimation and layer choice: pure, no sockets, no clocks of its own.
        .target(name: "Adaptation", swiftSettings: mediaPath),

        // MARK: C wrappers (layers 3 and 4)
        .target(name: "Codecs", dependencies: ["MediaCore", "CFFmpeg", "CVPX", "COpus",
                                                  .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "SRTP", dependencies: ["CSRTP", "COpenSSL", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: mediaPath),
        .target(name: "DTLS", dependencies: ["COpenSSL", .product(name: "NIOCore", package: "swift-nio")]),
        // The media socket, sendmmsg/GSO batches and prefetch hints: the egress's only C.
        .target(name: "DatagramIO", dependencies: ["CDatagram", "SRTP", .product(name: "NIOCore", package: "swift-nio")],
                swiftSettings: mediaPath),

        // MARK: Core engines (layer 5) and engines (layer 6)
        .target(name: "MediaRouter", dependencies: ["MediaCore",
                                                    .product(name: "NIOCore", package: "swift-nio"),
                                                    .product(name: "Logging", package: "swift-log"),
                                                    .product(name: "Metrics", package: "swift-metrics")]),
        .target(name: "Transcoder", dependencies: ["MediaCore", "MediaRouter", "Codecs",
                                                  .product(name: "NIOCore", package: "swift-nio"),
                                                  .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                  .product(name: "Logging", package: "swift-log"),
                                                  .product(name: "Metrics", package: "swift-metrics"),
                                                  .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .target(name: "Packager", dependencies: ["MediaCore", "MediaRouter", "CMAF",
                                                .product(name: "NIOCore", package: "swift-nio"),
                                                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                .product(name: "Logging", package: "swift-log"),
                                                .product(name: "Metrics", package: "swift-metrics"),
                                                .product(name: "Crypto", package: "swift-crypto"),
                                                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .target(name: "Audience", dependencies: ["MediaCore", "Storage",
                                                 .product(name: "NIOCore", package: "swift-nio"),
                                                 .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                 .product(name: "SQLKit", package: "sql-kit"),
                                                 .product(name: "JWTKit", package: "jwt-kit"),
                                                 .product(name: "Logging", package: "swift-log"),
                                                 .product(name: "Metrics", package: "swift-metrics")]),
        .target(name: "WebRTCTransport", dependencies: ["MediaCore", "SDP", "STUN", "RTP", "Adaptation", "DTLS", "SRTP", "MediaRouter", "DatagramIO",
                                                        .product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOPosix", package: "swift-nio"),
                                                        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                                                        .product(name: "Logging", package: "swift-log"),
                                                        .product(name: "Metrics", package: "swift-metrics"),
                                                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
                swiftSettings: mediaPath),
        .target(name: "Storage", dependencies: [.product(name: "SQLKit", package: "sql-kit"),
                                                .product(name: "SQLiteKit", package: "sqlite-kit"),
                                                .product(name: "PostgresKit", package: "postgres-kit"),
                                                .product(name: "Logging", package: "swift-log"),
                                                .product(name: "NIOCore", package: "swift-nio"),
                                                .product(name: "NIOPosix", package: "swift-nio")]),
        .target(name: "RTMPIngest", dependencies: ["RTMP", "MediaCore", "MediaRouter",
                                                   .product(name: "NIOCore", package: "swift-nio"),
                                                   .product(name: "NIOPosix", package: "swift-nio"),
                                                   .product(name: "Logging", package: "swift-log"),
                                                   .product(name: "Metrics", package: "swift-metrics"),
                                                   .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .target(name: "DemoSource", dependencies: ["MediaCore", "MediaRouter", "RTMP", "Codecs",
                                                   .product(name: "NIOCore", package: "swift-nio"),
                                                   .product(name: "Logging", package: "swift-log"),
                                                   .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),

        // The node's streams: stored rows, the in-memory publish-key index and the router's publications in step.
        .target(name: "Catalog", dependencies: ["MediaRouter", "Storage"]),

        // MARK: Edges (layers 7 to 9)
        .target(name: "HTTPServer", dependencies: ["MediaCore", "MediaRouter", "Catalog", "Packager", "Audience", "WebRTCTransport",
                                                   .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                                                   .product(name: "Hummingbird", package: "hummingbird"),
                                                   .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                                                   .product(name: "Logging", package: "swift-log"),
                                                   .product(name: "Metrics", package: "swift-metrics"),
                                                   .product(name: "Prometheus", package: "swift-prometheus"),
                                                   .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "LiveRelayApp", dependencies: ["MediaCore", "MediaRouter", "Storage", "Catalog", "RTMPIngest", "DemoSource",
                                                     "Transcoder", "Packager", "Audience",
                                                     "HTTPServer", "Codecs", "SRTP", "DTLS", "WebRTCTransport",
                                                     .product(name: "Hummingbird", package: "hummingbird"),
                                                     .product(name: "Logging", package: "swift-log"),
                                                     .product(name: "Metrics", package: "swift-metrics"),
                                                     .product(name: "Prometheus", package: "swift-prometheus"),
                                                     .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                     .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "liverelay", dependencies: ["LiveRelayApp",
                                                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // N WHEP viewers in one process, on the project's own protocol modules; points at any WHEP server.
        .executableTarget(name: "liverelay-loadgen", dependencies: ["STUN", "DTLS", "SRTP", "RTP", "SDP",
                                                                   .product(name: "NIOCore", package: "swift-nio"),
                                                                   .product(name: "NIOPosix", package: "swift-nio"),
                                                                   .product(name: "NIOHTTP1", package: "swift-nio"),
                                                                   .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "tools/loadgen", exclude: ["README.md"]),

        // MARK: Tests (one target per module)
        // Shared by the test targets: a throwaway PostgreSQL server, captured SDP offers, a seeded generator.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MediaCoreTests", dependencies: ["MediaCore"]),
        .testTarget(name: "RTMPTests", dependencies: ["RTMP", "MediaCore"]),
        .testTarget(name: "MediaRouterTests", dependencies: ["MediaRouter", "MediaCore"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs", "MediaCore"]),
        .testTarget(name: "TranscoderTests", dependencies: ["Transcoder", "Codecs", "MediaRouter", "MediaCore", "RTMPIngest", "RTMP",
                                                            .product(name: "NIOCore", package: "swift-nio"),
                                                            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SDPTests", dependencies: ["SDP", "TestSupport"]),
        .testTarget(name: "STUNTests", dependencies: ["STUN", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "AdaptationTests", dependencies: ["Adaptation"]),
        .testTarget(name: "DTLSTests", dependencies: ["DTLS", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "SRTPTests", dependencies: ["SRTP", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "WebRTCTransportTests", dependencies: ["WebRTCTransport", "SDP", "STUN", "RTP", "DTLS", "SRTP",
                                                                 "MediaRouter", "MediaCore", "DatagramIO",
                                                                 .product(name: "NIOCore", package: "swift-nio"),
                                                                 .product(name: "NIOEmbedded", package: "swift-nio"),
                                                                 .product(name: "NIOPosix", package: "swift-nio"),
                                                                 .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DatagramIOTests", dependencies: ["DatagramIO", "SRTP", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "CMAFTests", dependencies: ["CMAF", "MediaCore", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "PackagerTests", dependencies: ["Packager", "CMAF", "MediaRouter", "MediaCore",
                                                          .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "AudienceTests", dependencies: ["Audience", "Storage", "MediaCore", "TestSupport",
                                                          .product(name: "NIOCore", package: "swift-nio"),
                                                          .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DemoSourceTests", dependencies: ["DemoSource", "MediaRouter", "MediaCore", "RTMP", "Codecs",
                                                            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "RTMPIngestTests", dependencies: ["RTMPIngest", "TestSupport", "RTMP", "MediaRouter", "MediaCore",
                                                            .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "LiveRelayAppTests", dependencies: ["LiveRelayApp", "MediaRouter", "MediaCore", "Storage", "Audience", "HTTPServer", "TestSupport",
                                                              .product(name: "NIOPosix", package: "swift-nio"),
                                                              .product(name: "HummingbirdWSClient", package: "hummingbird-websocket")]),
    ],
    swiftLanguageModes: [.v6]
)

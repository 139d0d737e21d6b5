// swift-tools-version:6.0
import PackageDescription

// Layering (see docs/architecture.md):
//   C system libraries  →  pure protocol/format modules  →  C wrappers  →  engines  →  edges  →  executable.
// Pure modules import only NIOCore and MediaCore; only the wrapper modules import the C targets.

let package = Package(
    name: "LiveRelay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "liverelay", targets: ["liverelay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
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
    ],
    targets: [
        // MARK: C system libraries (each a module map + a tiny prefixed shim header)
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat libavcodec libavutil libswscale libswresample",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]),
        .systemLibrary(name: "CVPX", path: "Sources/CVPX", pkgConfig: "vpx", providers: [.apt(["libvpx-dev"])]),
        .systemLibrary(name: "COpus", path: "Sources/COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSRTP", path: "Sources/CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        // MARK: Pure protocol and format modules (no I/O)
        .target(name: "MediaCore", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "RTMP", dependencies: ["MediaCore", .product(name: "NIOCore", package: "swift-nio")]),

        // MARK: C wrappers
        .target(name: "Transcode", dependencies: ["MediaCore", "CFFmpeg", "CVPX", "COpus",
                                                  .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "SRTP", dependencies: ["CSRTP"]),
        .target(name: "DTLS", dependencies: ["COpenSSL"]),

        // MARK: Engines
        .target(name: "MediaRouter", dependencies: ["MediaCore",
                                                    .product(name: "NIOCore", package: "swift-nio"),
                                                    .product(name: "Logging", package: "swift-log"),
                                                    .product(name: "Metrics", package: "swift-metrics")]),
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
        .target(name: "DemoSource", dependencies: ["MediaCore", "MediaRouter", "RTMP", "Transcode",
                                                   .product(name: "NIOCore", package: "swift-nio"),
                                                   .product(name: "Logging", package: "swift-log"),
                                                   .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),

        // MARK: Edges
        .target(name: "HTTPServer", dependencies: ["MediaCore", "MediaRouter", "Storage",
                                                   .product(name: "Hummingbird", package: "hummingbird"),
                                                   .product(name: "Logging", package: "swift-log"),
                                                   .product(name: "Metrics", package: "swift-metrics"),
                                                   .product(name: "Prometheus", package: "swift-prometheus"),
                                                   .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "LiveRelayApp", dependencies: ["MediaCore", "MediaRouter", "Storage", "RTMPIngest", "DemoSource",
                                                     "HTTPServer", "Transcode", "SRTP", "DTLS",
                                                     .product(name: "Hummingbird", package: "hummingbird"),
                                                     .product(name: "Logging", package: "swift-log"),
                                                     .product(name: "Metrics", package: "swift-metrics"),
                                                     .product(name: "Prometheus", package: "swift-prometheus"),
                                                     .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                     .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "liverelay", dependencies: ["LiveRelayApp",
                                                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: Tests (one target per module)
        .testTarget(name: "MediaCoreTests", dependencies: ["MediaCore"]),
        .testTarget(name: "RTMPTests", dependencies: ["RTMP", "MediaCore"]),
        .testTarget(name: "MediaRouterTests", dependencies: ["MediaRouter", "MediaCore"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "TranscodeTests", dependencies: ["Transcode", "MediaCore"]),
        .testTarget(name: "DemoSourceTests", dependencies: ["DemoSource", "MediaRouter", "MediaCore", "RTMP", "Transcode",
                                                            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(name: "RTMPIngestTests", dependencies: ["RTMPIngest", "RTMP", "MediaRouter", "MediaCore",
                                                            .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "LiveRelayAppTests", dependencies: ["LiveRelayApp", "MediaRouter", "MediaCore", "Storage",
                                                              .product(name: "NIOPosix", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)

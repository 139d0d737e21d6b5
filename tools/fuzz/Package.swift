// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for LiveRelay's parsers: one executable per entry point, each built on the main package's own
// source folders (Parsers/ holds symbolic links to them, since a package's targets must lie inside it), so a fuzzer
// exercises exactly the code the server runs.
// Build and run through run.sh, which passes `-sanitize=fuzzer,address -parse-as-library`.

let parsers = "Parsers"

/// One fuzz entry point (`Sources/<name>/<name>.swift`, exporting `LLVMFuzzerTestOneInput`).
func fuzzer(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: dependencies)
}

let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")

let package = Package(
    name: "LiveRelayFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
    ],
    targets: [
        // The pure modules, exactly as the server builds them.
        .target(name: "MediaCore", dependencies: [nioCore], path: "\(parsers)/MediaCore"),
        .target(name: "RTMP", dependencies: ["MediaCore", nioCore], path: "\(parsers)/RTMP"),
        .target(name: "SDP", path: "\(parsers)/SDP"),
        .target(name: "STUN", dependencies: [nioCore, .product(name: "Crypto", package: "swift-crypto")], path: "\(parsers)/STUN"),
        .target(name: "RTP", dependencies: [nioCore], path: "\(parsers)/RTP"),
        // DTLS record framing is the one Swift-side piece of the DTLS module (the rest wraps OpenSSL); it is built
        // alone, with testing enabled because the packer is internal to DTLS.
        .target(name: "DTLSRecordFraming", dependencies: [nioCore], path: "\(parsers)/DTLSRecordFraming",
                swiftSettings: [.unsafeFlags(["-enable-testing"])]),
        // The HTTP API's request bodies and their strict JSON decoding (Foundation only; the routes need Hummingbird).
        .target(name: "HTTPRequestBodies", path: "\(parsers)/HTTPRequestBodies", swiftSettings: [.unsafeFlags(["-enable-testing"])]),

        fuzzer("FuzzRTMPChunkStream", ["RTMP", nioCore]),
        fuzzer("FuzzAMF0", ["RTMP", nioCore]),
        fuzzer("FuzzFLVCodecConfig", ["RTMP", "MediaCore", nioCore]),
        fuzzer("FuzzSTUN", ["STUN", nioCore]),
        fuzzer("FuzzRTP", ["RTP", nioCore]),
        fuzzer("FuzzRTCP", ["RTP", nioCore]),
        fuzzer("FuzzSDP", ["SDP"]),
        fuzzer("FuzzDTLSRecordFraming", ["DTLSRecordFraming", nioCore]),
        fuzzer("FuzzHTTPJSONBodies", ["HTTPRequestBodies"]),
    ],
    swiftLanguageModes: [.v6]
)

import Testing
@testable import LiveRelayApp
import Packager

@Suite("packager configuration")
struct PackagerConfigurationTests {
    @Test func keysAreOptionalAndReachThePackager() throws {
        #expect(try Configuration.parse(yaml: "http:\n  port: 9000\n").packager == Configuration.Packaging())
        let configuration = try Configuration.parse(yaml: "packager:\n  windowSeconds: 20\n  partSeconds: 0.25\n")
        #expect(configuration.packager.windowSeconds == 20 && configuration.packager.partSeconds == 0.25)
        #expect(configuration.packager.segmentSeconds == 2)
        try configuration.validate()
        let engine = PackagerConfiguration(configuration.packager)
        #expect(engine.windowSeconds == 20 && engine.partSeconds == 0.25 && engine.maximumBytesPerStream == 768 * 1024 * 1024)
    }

    @Test(arguments: ["windowSeconds: 1", "segmentSeconds: 0", "partSeconds: 5", "maximumBytesPerStream: 10"])
    func impossibleValuesAreRefused(_ line: String) throws {
        let configuration = try Configuration.parse(yaml: "packager:\n  \(line)\n")
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }

    @Test func unknownKeysAreRefused() {
        #expect(throws: ConfigurationError.self) { try Configuration.parse(yaml: "packager:\n  windowSecs: 20\n") }
    }
}

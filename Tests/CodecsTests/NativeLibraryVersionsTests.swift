import Testing
@testable import Codecs

@Suite struct NativeLibraryVersionsTests {
    @Test func reportsTheLoadedLibraries() {
        let versions = NativeLibraryVersions.current
        for version in [versions.libavcodec, versions.libavformat, versions.libavutil, versions.libswscale,
                        versions.libswresample] {
            let parts = version.split(separator: ".")
            #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil }, "\(version)")
        }
        #expect(!versions.ffmpeg.isEmpty)
        #expect(versions.libvpx.contains("."))
        #expect(versions.libopus.hasPrefix("libopus"))
        #expect(versions.logFields.count == 8)
    }
}

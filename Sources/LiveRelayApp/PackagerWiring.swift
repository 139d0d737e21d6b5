import Foundation
import Packager

extension PackagerConfiguration {
    init(_ settings: Configuration.Packaging) {
        self.init()
        windowSeconds = settings.windowSeconds
        segmentSeconds = settings.segmentSeconds
        partSeconds = settings.partSeconds
        maximumBytesPerStream = settings.maximumBytesPerStream
        maximumBytes = settings.maximumBytes
        let directory = settings.recordingDirectory.trimmingCharacters(in: .whitespaces)
        recordingDirectory = directory.isEmpty ? nil : directory
    }
}

extension Configuration.Packaging {
    func validate() throws {
        guard windowSeconds >= 4, windowSeconds <= 24 * 3600 else {
            throw ConfigurationError.badValue(name: "packager.windowSeconds", value: "\(windowSeconds)")
        }
        guard segmentSeconds >= 0.5, segmentSeconds <= 30 else {
            throw ConfigurationError.badValue(name: "packager.segmentSeconds", value: "\(segmentSeconds)")
        }
        guard partSeconds >= 0.1, partSeconds <= segmentSeconds else {
            throw ConfigurationError.badValue(name: "packager.partSeconds", value: "\(partSeconds)")
        }
        guard maximumBytesPerStream >= 1024 * 1024 else {
            throw ConfigurationError.badValue(name: "packager.maximumBytesPerStream", value: "\(maximumBytesPerStream)")
        }
        guard maximumBytes >= maximumBytesPerStream else {
            throw ConfigurationError.badValue(name: "packager.maximumBytes", value: "\(maximumBytes) (below maximumBytesPerStream)")
        }
    }
}

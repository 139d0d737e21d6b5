internal import CFFmpeg

/// Why an encoder could not be set up or could not take a frame.
///
/// libav* reports failures as negative `AVERROR` codes; they are mapped here once so that callers see what went wrong
/// (and which call it was) instead of a bare number. "Try again" and "end of stream" are flow, never errors: the
/// encoders handle them before anything reaches this type.
public enum TranscodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Width or height is zero, negative, odd (4:2:0 chroma needs even sizes) or beyond the codec's limits.
    case invalidDimensions(width: Int, height: Int)
    /// A configuration value outside what the encoder accepts (frame rate, sample rate, channels, bitrate...).
    case invalidParameter(String)
    /// The libavcodec in this process was built without the named encoder.
    case encoderUnavailable(name: String)
    /// A frame's size differs from the size the encoder was opened with.
    case frameSizeMismatch(expectedWidth: Int, expectedHeight: Int, width: Int, height: Int)
    /// A frame's timestamp is not after the previous one; H.264 encoders reject such input.
    case nonIncreasingTimestamp(previous: Int64, current: Int64)
    /// `encode` was called after `flush`; an encoder is single-use once drained.
    case alreadyFlushed
    case outOfMemory(operation: String)
    /// Any other libav* failure: the call that failed, its AVERROR code and libav's text for it.
    case library(operation: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .invalidDimensions(let width, let height):
            return "invalid picture size \(width)x\(height): width and height must be positive and even"
        case .invalidParameter(let detail):
            return "invalid encoder parameter: \(detail)"
        case .encoderUnavailable(let name):
            return "encoder \(name) is not available in this libavcodec"
        case .frameSizeMismatch(let expectedWidth, let expectedHeight, let width, let height):
            return "frame is \(width)x\(height) but the encoder was opened for \(expectedWidth)x\(expectedHeight)"
        case .nonIncreasingTimestamp(let previous, let current):
            return "frame timestamp \(current) does not follow \(previous)"
        case .alreadyFlushed:
            return "encoder was already flushed"
        case .outOfMemory(let operation):
            return "out of memory in \(operation)"
        case .library(let operation, let code, let message):
            return "\(operation) failed: \(message) (\(code))"
        }
    }

    /// Maps a negative libav* return code from `operation`.
    static func libav(_ code: Int32, operation: String) -> TranscodeError {
        if code == lr_averror_enomem() { return .outOfMemory(operation: operation) }
        var text = [CChar](repeating: 0, count: 128)
        lr_av_strerror(code, &text, text.count)
        let message = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return .library(operation: operation, code: code, message: message)
    }
}

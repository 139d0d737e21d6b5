/// Why a codec configuration (AVCDecoderConfigurationRecord, SPS, AudioSpecificConfig) could not be read.
///
/// The strings name the field that failed so that a rejected publisher can be told something useful.
public enum CodecConfigurationError: Error, Equatable, Sendable {
    /// The structure ended before the named field.
    case truncated(String)
    /// A field holds a value the specification does not allow (or that LiveRelay cannot represent).
    case invalid(String)
}

/// Why an RTMP connection is being closed because of what the peer sent. Each case names the limit or rule broken,
/// so the log line and the rejection metric say what happened.
public enum RTMPProtocolError: Error, Equatable, Sendable {
    /// C0 asked for a protocol version other than 3 (6 would be RTMPE, which LiveRelay does not speak).
    case unsupportedVersion(UInt8)
    /// Set Chunk Size carried 0 or a value with the reserved top bit set.
    case invalidChunkSize(UInt32)
    /// Set Chunk Size asked for more than this server buffers per chunk.
    case chunkSizeAboveLimit(requested: UInt32, limit: Int)
    /// A message header declared a length above the configured maximum.
    case messageTooLong(length: Int, limit: Int)
    /// The peer opened more chunk streams than the configured maximum.
    case tooManyChunkStreams(limit: Int)
    /// Incomplete messages across all chunk streams would exceed the configured memory bound.
    case bufferedBytesExceeded(limit: Int)
    /// A type 1, 2 or 3 chunk arrived on a chunk stream with no previous header to inherit from.
    case missingPreviousHeader(chunkStreamID: UInt32)
    /// A protocol control or user control message was shorter than its fixed layout.
    case malformedControlMessage(type: UInt8)
    /// A command or data message could not be decoded as AMF0.
    case malformedCommand(AMF0Error)
    /// A command that must carry a value (app name, stream key) did not.
    case invalidCommand(String)
    /// Audio or video could not be demultiplexed.
    case media(FLVDemuxError)

    /// A short, bounded label for metrics (`liverelay_rtmp_rejected_total{reason}`).
    public var metricReason: String {
        switch self {
        case .unsupportedVersion: return "handshake"
        case .invalidChunkSize, .chunkSizeAboveLimit: return "chunk_size"
        case .messageTooLong: return "message_too_long"
        case .tooManyChunkStreams: return "too_many_chunk_streams"
        case .bufferedBytesExceeded: return "buffer_limit"
        case .missingPreviousHeader: return "chunk_header"
        case .malformedControlMessage: return "control_message"
        case .malformedCommand, .invalidCommand: return "command"
        case .media(.unsupportedVideoCodec), .media(.unsupportedAudioCodec): return "unsupported_codec"
        case .media(.malformed): return "malformed_media"
        }
    }
}

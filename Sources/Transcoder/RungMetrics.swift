import MediaCore
import Metrics

/// Per-encoder metric handles, made once when the encoder starts so encoding a frame does not look them up.
struct RungMetrics: Sendable {
    let frames: Counter
    let bytes: Counter
    let dropped: Counter
    let encodeLatency: Timer

    init(stream: String, rung: String, codec: String) {
        let dimensions = [("stream", StreamMetricLabel.label(for: stream)), ("rung", rung), ("codec", codec)]
        frames = Counter(label: "liverelay_transcode_frames_total", dimensions: dimensions)
        bytes = Counter(label: "liverelay_transcode_bytes_total", dimensions: dimensions)
        dropped = Counter(label: "liverelay_transcode_dropped_frames_total", dimensions: dimensions)
        encodeLatency = Timer(label: "liverelay_transcode_encode_seconds", dimensions: dimensions,
                              preferredDisplayUnit: .seconds)
    }
}

/// Per-stream decoder metric handles.
struct DecoderMetrics: Sendable {
    let videoErrors: Counter
    let audioErrors: Counter
    let decoderDrops: Counter
    let opusPackets: Counter
    let audioDrops: Counter

    init(stream name: String) {
        let stream = StreamMetricLabel.label(for: name)
        videoErrors = Counter(label: "liverelay_transcode_decode_errors_total", dimensions: [("stream", stream), ("kind", "video")])
        audioErrors = Counter(label: "liverelay_transcode_decode_errors_total", dimensions: [("stream", stream), ("kind", "audio")])
        decoderDrops = Counter(label: "liverelay_transcode_dropped_frames_total",
                               dimensions: [("stream", stream), ("rung", "decoder"), ("codec", "h264")])
        opusPackets = Counter(label: "liverelay_transcode_frames_total",
                              dimensions: [("stream", stream), ("rung", "audio"), ("codec", "opus")])
        audioDrops = Counter(label: "liverelay_transcode_dropped_frames_total",
                             dimensions: [("stream", stream), ("rung", "audio"), ("codec", "aac")])
    }
}

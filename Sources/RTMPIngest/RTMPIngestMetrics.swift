import Metrics

/// Counters exported for operators. Reasons are a small fixed set (see `RTMPCloseReason.metricReason`).
enum RTMPIngestMetrics {
    static let connections = Counter(label: "liverelay_rtmp_connections_total")
    static let publishes = Counter(label: "liverelay_rtmp_publishes_total")

    static func rejected(reason: String) {
        Counter(label: "liverelay_rtmp_rejected_total", dimensions: [("reason", reason)]).increment()
    }
}

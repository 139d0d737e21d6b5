import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// swift-metrics has one process-wide factory; LiveRelay installs a Prometheus registry in it exactly once, and
/// every server in the process (tests start several) exports that registry on `/metrics`.
public enum MetricsBootstrap {
    private static let installed = NIOLockedValueBox<PrometheusCollectorRegistry?>(nil)

    public static func registry() -> PrometheusCollectorRegistry {
        installed.withLockedValue { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            current = registry
            return registry
        }
    }
}

import Metrics
import Prometheus

/// The node's metrics (docs/observability.md): one Prometheus registry behind swift-metrics for the
/// whole process. `shared` bootstraps `MetricsSystem` on first use — once per process, however many
/// nodes a test builds (a second bootstrap would crash) — and every metric object made after that
/// lands in the registry; `/metrics` serves `exposition()`.
public final class SealboxMetrics: Sendable {
    public static let shared = SealboxMetrics()

    public let registry: PrometheusCollectorRegistry

    private init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Unlocks run from a few milliseconds (cached) to seconds (scrypt on a busy node).
        factory.durationHistogramBuckets["sealbox_mailbox_unlock_seconds"] = [
            .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// The metrics in Prometheus text format (0.0.4).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

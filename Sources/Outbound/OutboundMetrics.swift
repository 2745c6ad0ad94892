import Metrics

/// The outbound worker's counters (docs/observability.md): each recipient of a forward, a
/// submitted message or a bounce as it is sent, deferred or bounced, and each webhook post.
struct OutboundMetrics: Sendable {
    let sent: Counter
    let deferred: Counter
    let bounced: Counter
    let webhookOK: Counter
    let webhookFailed: Counter
    let webhookDropped: Counter

    init() {
        func recipients(_ result: String) -> Counter { Counter(label: "sealbox_outbound_recipients_total", dimensions: [("result", result)]) }
        sent = recipients("sent")
        deferred = recipients("deferred")
        bounced = recipients("bounced")
        webhookOK = Counter(label: "sealbox_webhook_posts_total", dimensions: [("result", "ok")])
        webhookFailed = Counter(label: "sealbox_webhook_posts_total", dimensions: [("result", "failed")])
        webhookDropped = Counter(label: "sealbox_webhook_dropped_total")
    }
}

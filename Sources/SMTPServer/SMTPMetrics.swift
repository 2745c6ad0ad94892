import Metrics

/// The SMTP listeners' metrics (docs/observability.md), made once per server after the metrics
/// system is bootstrapped; the sessions only increment them.
public struct SMTPMetrics: Sendable {
    /// Why the MX refused a message after its data (`sealbox_smtp_messages_refused_total{reason}`).
    public enum Refusal: String, Sendable, CaseIterable {
        /// Over the size limit.
        case size
        /// The memory budget or the disk's free-space floor.
        case storage
        /// Too many Received headers.
        case loop
        /// SPF / DKIM / DMARC said reject.
        case authentication
        /// A Sieve script or another filter refused it.
        case filter
        /// The commit failed (451).
        case error
    }

    let received: Counter
    let refused: [Refusal: Counter]
    let submitted: Counter
    let submissionRefused: Counter
    let unknownRecipients: Counter
    let tarpits: Counter
    let probeCloses: Counter

    public init() {
        received = Counter(label: "sealbox_smtp_messages_received_total")
        var refused: [Refusal: Counter] = [:]
        for reason in Refusal.allCases {
            refused[reason] = Counter(label: "sealbox_smtp_messages_refused_total", dimensions: [("reason", reason.rawValue)])
        }
        self.refused = refused
        submitted = Counter(label: "sealbox_smtp_messages_submitted_total")
        submissionRefused = Counter(label: "sealbox_smtp_submissions_refused_total")
        unknownRecipients = Counter(label: "sealbox_smtp_unknown_recipients_total")
        tarpits = Counter(label: "sealbox_smtp_probe_tarpits_total")
        probeCloses = Counter(label: "sealbox_smtp_probe_closes_total")
    }

    /// A message the session refused after its data: counted by reason on the MX, as one refusal on submission.
    func refuse(_ reason: Refusal, submission: Bool) {
        if submission { submissionRefused.increment() } else { refused[reason]?.increment() }
    }

    func accept(submission: Bool) {
        (submission ? submitted : received).increment()
    }
}

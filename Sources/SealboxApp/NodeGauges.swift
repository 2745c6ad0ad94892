import Foundation
import MailboxAPI
import MailStore
import Metrics
import Synchronization

/// Gauges read from the node when `/metrics` is scraped: the queues, the unlocked mailboxes and
/// the last backup. At most one refresh at a time; a scrape during one shows the values before it.
final class NodeGauges: Sendable {
    let node: SealboxNode
    let backup: BackupMetrics?
    let inboundMessages = Gauge(label: "sealbox_queue_inbound_messages")
    let inboundBytes = Gauge(label: "sealbox_queue_inbound_bytes")
    let inboundOldest = Gauge(label: "sealbox_queue_inbound_oldest_age_seconds")
    let outboundJobs: [OutboundJob.Kind: Gauge]
    let outboundOldest: [OutboundJob.Kind: Gauge]
    let unlocked = Gauge(label: "sealbox_mailboxes_unlocked")
    private let refreshing = Mutex(false)

    init(node: SealboxNode, backup: BackupMetrics?) {
        self.node = node; self.backup = backup
        let kinds: [OutboundJob.Kind] = [.smtp, .webhook]
        outboundJobs = Dictionary(uniqueKeysWithValues: kinds.map { ($0, Gauge(label: "sealbox_queue_outbound_jobs", dimensions: [("kind", $0.rawValue)])) })
        outboundOldest = Dictionary(uniqueKeysWithValues: kinds.map {
            ($0, Gauge(label: "sealbox_queue_outbound_oldest_age_seconds", dimensions: [("kind", $0.rawValue)]))
        })
    }

    func refresh(now: Date = Date()) async {
        guard refreshing.withLock({ busy in defer { busy = true }; return !busy }) else { return }
        defer { refreshing.withLock { $0 = false } }
        if let inbound = try? await node.queue.inboundSummary() {
            inboundMessages.record(inbound.reduce(0) { $0 + $1.count })
            inboundBytes.record(inbound.reduce(Int64(0)) { $0 + $1.bytes })
            inboundOldest.record(inbound.map(\.oldest).min().map { max(0, now.timeIntervalSince($0)) } ?? 0)
        }
        if let outbound = try? await node.queue.outboundSummary() {
            for (kind, gauge) in outboundJobs { gauge.record(outbound.first { $0.kind == kind }?.count ?? 0) }
            for (kind, gauge) in outboundOldest {
                gauge.record(outbound.first { $0.kind == kind }.map { max(0, now.timeIntervalSince($0.oldest)) } ?? 0)
            }
        }
        unlocked.record(await node.mailboxes.unlockedCount())
        backup?.refresh(now: now)
    }
}

/// The backup schedule's metrics: `sealbox_backups_total{result}` per mailbox backed up or failed,
/// `sealbox_backup_last_success_timestamp_seconds` (Unix time of the node's last successful
/// mailbox backup; 0 before the first) and `sealbox_backup_last_success_age_seconds` (since then,
/// or since the schedule started when none has succeeded yet: an alert on it fires either way).
public final class BackupMetrics: Sendable {
    let ok = Counter(label: "sealbox_backups_total", dimensions: [("result", "ok")])
    let failed = Counter(label: "sealbox_backups_total", dimensions: [("result", "failed")])
    let lastSuccessTimestamp = Gauge(label: "sealbox_backup_last_success_timestamp_seconds")
    let lastSuccessAge = Gauge(label: "sealbox_backup_last_success_age_seconds")
    private let state: Mutex<(started: Date, lastSuccess: Date?)>

    public init(started: Date = Date()) { state = Mutex((started, nil)) }

    func succeeded(at date: Date = Date()) {
        ok.increment()
        state.withLock { $0.lastSuccess = date }
        lastSuccessTimestamp.record(date.timeIntervalSince1970)
    }

    func failedOnce() { failed.increment() }

    func refresh(now: Date) {
        let (started, last) = state.withLock { ($0.started, $0.lastSuccess) }
        lastSuccessAge.record(max(0, now.timeIntervalSince(last ?? started)))
    }
}

/// Which of the node's listeners have bound (`/readyz`): `SealboxServer.buildServices` names each
/// listener it makes, and each `onBound` marks one.
final class ListenerReadiness: Sendable {
    private let state = Mutex<(expected: [String], bound: Set<String>)>(([], []))

    func expect(_ name: String) { state.withLock { if !$0.expected.contains(name) { $0.expected.append(name) } } }
    func bound(_ name: String) { _ = state.withLock { $0.bound.insert(name) } }

    /// One line per listener not bound yet.
    var problems: [String] {
        state.withLock { s in s.expected.filter { !s.bound.contains($0) }.map { "listener not bound: \($0)" } }
    }
}

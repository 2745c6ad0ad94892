import Backup
import Crypto
import Directory
import Foundation
import Logging
import MailCore
import ServiceLifecycle

/// Backs every mailbox up once per interval inside `sealbox serve`. Mailboxes are spread over the
/// interval: each has a fixed slot (from a hash of its id), the same across restarts, so a daily
/// backup happens at about the same time each day and never all at once. One backup runs at a
/// time (so never two of one mailbox); unchanged mailboxes upload nothing; a failure is retried
/// after 15 minutes, doubling up to the interval.
public struct BackupScheduler: Service {
    let service: BackupService
    let interval: Duration
    let logger: Logger
    /// How often the schedule is looked at.
    let tick: Duration
    /// `sealbox_backups_total`, the last success (nil: not counted).
    let metrics: BackupMetrics?
    /// On a storage node of a cluster: whether this node owns the mailbox (it backs up only its
    /// own; nil: every mailbox, one machine).
    let owns: (@Sendable (String) async -> Bool)?

    /// `tick` defaults to a quarter of the interval, at most 30 s.
    public init(service: BackupService, interval: Duration, logger: Logger, tick: Duration? = nil, metrics: BackupMetrics? = nil,
                owns: (@Sendable (String) async -> Bool)? = nil) {
        self.service = service; self.interval = interval; self.logger = logger; self.metrics = metrics; self.owns = owns
        self.tick = tick ?? min(.seconds(30), interval / 4)
    }

    /// The first time at or after `now` that falls in the mailbox's slot of the interval.
    static func nextSlot(mailboxID: String, interval: Duration, after now: Date) -> Date {
        let seconds = max(60, Double(interval.components.seconds))
        let digest = SHA256.hash(data: Array(mailboxID.utf8))
        let hash = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let offset = Double(hash % UInt64(seconds))
        let cycleStart = (now.timeIntervalSince1970 / seconds).rounded(.down) * seconds
        var slot = cycleStart + offset
        if slot < now.timeIntervalSince1970 { slot += seconds }
        return Date(timeIntervalSince1970: slot)
    }

    /// Until the node shuts down: a graceful shutdown ends the wait at once and cancels a backup
    /// under way (an unfinished generation is never listed; the next start makes a new one), so
    /// `serve` exits within seconds, not after the tick or the upload.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await schedule() }
    }

    func schedule() async {
        var due: [String: Date] = [:]          // mailbox id → next backup
        var failures: [String: Int] = [:]
        let intervalSeconds = Double(interval.components.seconds)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = Date()
            let aliases = (try? await service.directory.aliases(domain: nil)) ?? []
            for alias in aliases {
                guard let mailboxID = alias.mailboxID else { continue }
                let next = due[mailboxID] ?? Self.nextSlot(mailboxID: mailboxID, interval: interval, after: now)
                due[mailboxID] = next
                guard next <= now, !Task.isShuttingDownGracefully else { continue }
                if let owns, await !owns(mailboxID) {
                    due[mailboxID] = Self.nextSlot(mailboxID: mailboxID, interval: interval, after: Date().addingTimeInterval(1))
                    continue
                }
                do {
                    let outcome = try await service.backUp(address: alias.address)
                    failures[mailboxID] = nil
                    metrics?.succeeded()
                    due[mailboxID] = Self.nextSlot(mailboxID: mailboxID, interval: interval, after: Date().addingTimeInterval(1))
                    logger.notice("backup", metadata: ["backup.mailbox": "\(mailboxID)", "backup.outcome": "\(outcome)"])
                } catch {
                    let n = (failures[mailboxID] ?? 0) + 1
                    failures[mailboxID] = n
                    metrics?.failedOnce()
                    let retry = min(intervalSeconds, 900 * pow(2, Double(n - 1)))
                    due[mailboxID] = Date().addingTimeInterval(retry)
                    logger.error("backup failed; retrying later", metadata: [
                        "backup.mailbox": "\(mailboxID)", "backup.error": "\(error)", "backup.retry.seconds": "\(Int(retry))"])
                }
            }
            try? await Task.sleep(for: tick)
        }
    }
}

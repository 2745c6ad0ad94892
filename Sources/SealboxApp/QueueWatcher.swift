import Logging
import MailboxAPI
import MailStore
import ServiceLifecycle

/// Notices mail queued by other processes (`sealbox deliver` while `serve` runs; later the MX on
/// another node) and moves it into the mailboxes unlocked here, so IDLE sessions hear of it within
/// a second. Polls the queue's last sequence number: one indexed read every `interval`; and every
/// 240 intervals gives the queue file's free pages back when many are free.
public struct QueueWatcher: Service {
    let queue: SealedQueue
    let mailboxes: LocalMailboxService
    let interval: Duration
    let logger: Logger

    public init(queue: SealedQueue, mailboxes: LocalMailboxService, interval: Duration = .milliseconds(250), logger: Logger) {
        self.queue = queue; self.mailboxes = mailboxes; self.interval = interval; self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var last = (try? await queue.lastSeq()) ?? 0
            var ticks = 0
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                    let now = try await queue.lastSeq()
                    if now != last {
                        last = now
                        try await mailboxes.drainQueuedMail()
                    }
                    // About once a minute: space freed by sent forwards and webhooks goes back too
                    // (drains give theirs back themselves).
                    ticks += 1
                    if ticks % 240 == 0 { try await queue.reclaimSpace() }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("queue watch failed", metadata: ["queue.error": "\(type(of: error))"])
                }
            }
        }
    }
}

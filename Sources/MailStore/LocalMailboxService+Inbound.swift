import Directory
import Foundation
import MailboxAPI
import Synchronization

extension LocalMailboxService {
    /// The MX's commit: seals one copy of `message` per storing mailbox (each to its own public
    /// key), and commits the copies together with the outbound jobs (forwards, webhooks) in one
    /// durable transaction. Only after this returns may SMTP answer 250. Then the copies of
    /// mailboxes unlocked in this process move into INBOX at once (their IDLE sessions hear of
    /// it); the others wait for the next login. Returns the outbound jobs' ids. Each stored copy is
    /// `prefix ‖ message` (Return-Path), put together while sealing rather than copied first.
    @discardableResult
    public func acceptInbound(message: [UInt8], prefix: [UInt8], internalDate: Date, mailboxes: [InboundMailbox],
                              jobs: [OutboundJob]) async throws -> [Int64] {
        try checkDiskSpace()
        var copies: [SealedCopy] = []
        let mailboxIDs = Set(mailboxes.map(\.mailboxID)).sorted()
        // Counted from before the claim until the commit: a move of one of these mailboxes waits
        // for this commit before it copies the queue (`waitForQueueWriters`).
        queueWriters.enter(mailboxIDs)
        defer { queueWriters.leave(mailboxIDs) }
        for mailboxID in mailboxIDs { try await claim(mailboxID) }
        await FaultInjection.pause("inbound.afterClaim")
        for mailbox in Set(mailboxes).sorted(by: { $0.mailboxID < $1.mailboxID }) {
            let blob = try InboundSeal.seal(message: mailbox.message ?? message, prefix: prefix, internalDate: internalDate, publicKey: mailbox.publicKey,
                                            mailboxID: mailbox.mailboxID, delivery: mailbox.delivery)
            copies.append(SealedCopy(mailboxID: mailbox.mailboxID, blob: blob))
        }
        let (_, ids) = try await queue.commit(copies: copies, jobs: jobs)
        for copy in copies { requestDrain(mailboxID: copy.mailboxID) }
        if !jobs.isEmpty { onJobsQueued?() }
        return ids
    }

    /// Records what the last drains into `database` noted (a Sieve `fileinto` folder that did not
    /// exist, filed into INBOX) in the Sieve error log of the alias whose script asked for it.
    func recordDeliveryNotes(_ database: MailboxDatabase) async {
        for note in database.takeDeliveryNotes() {
            try? await directory.recordSieveRunError(aliasID: note.aliasID, SieveRunErrorRecord(at: note.at, script: note.script, message: note.message))
        }
    }

    /// Moves a mailbox's queued mail into its INBOX in the background, if it is unlocked here.
    /// Requests made while a drain runs are coalesced into one more pass, so concurrent deliveries
    /// never drain the same entries in parallel; the caller (SMTP's 250) does not wait for it: the
    /// message is already durable in the queue. The mailbox is held open while the drain runs.
    func requestDrain(mailboxID: String) {
        guard drains.request(mailboxID) else { return }  // a running drain will pass again
        Task {
            guard let (database, _) = await registry.retain(mailboxID: mailboxID) else {
                drains.finished(mailboxID); return
            }
            repeat {
                // Already durable in the queue: a failure only delays the move to the next drain.
                _ = try? await queue.drain(into: database)
                await recordDeliveryNotes(database)
            } while drains.again(mailboxID)
            await registry.detach(mailboxID: mailboxID)
        }
    }

    /// Bytes a mailbox holds without unlocking it: its file (with WAL) plus its queued mail. The
    /// MX checks quotas with this at RCPT time (the exact usage is inside the encrypted file).
    public func storedBytes(mailboxID: String) async throws -> Int64 {
        let queued = try await queue.queuedBytes(mailboxID: mailboxID)
        if let database = await registry.database(mailboxID: mailboxID) {
            return try await database.usage() + queued  // unlocked: the exact figure IMAP's QUOTA shows
        }
        let file = MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        var total: Int64 = 0
        for suffix in ["", "-wal"] {
            if let size = (try? FileManager.default.attributesOfItem(atPath: file + suffix))?[.size] as? NSNumber {
                total += size.int64Value
            }
        }
        return total + queued
    }
}

/// Which mailboxes have a background drain running, and whether another pass was asked for.
final class DrainCoordinator: Sendable {
    private let state = Mutex<[String: Bool]>([:])  // mailbox → another pass requested

    /// Whether the caller should start a drain (false: one runs and will pass again).
    func request(_ mailboxID: String) -> Bool {
        state.withLock { running in
            if running[mailboxID] != nil { running[mailboxID] = true; return false }
            running[mailboxID] = false
            return true
        }
    }

    /// After a pass: whether to pass again (true) or stop (false: the drain is over).
    func again(_ mailboxID: String) -> Bool {
        state.withLock { running in
            if running[mailboxID] == true { running[mailboxID] = false; return true }
            running[mailboxID] = nil
            return false
        }
    }

    func finished(_ mailboxID: String) { _ = state.withLock { $0.removeValue(forKey: mailboxID) } }
}

/// How many tasks are inside some span of work, by mailbox: deliveries between their claim and
/// their queue commit (`LocalMailboxService.queueWriters`: a move marks the mailbox as moving, so
/// no new one claims it, and waits until none is left, so that a delivery cannot commit to this
/// node's queue after the queue was copied), drains running (`SealedQueue.isDraining`).
final class MailboxCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func enter(_ mailboxIDs: [String]) {
        counts.withLock { c in for id in mailboxIDs { c[id, default: 0] += 1 } }
    }

    func leave(_ mailboxIDs: [String]) {
        counts.withLock { c in
            for id in mailboxIDs {
                let n = (c[id] ?? 1) - 1
                c[id] = n > 0 ? n : nil
            }
        }
    }

    func count(_ mailboxID: String) -> Int { counts.withLock { $0[mailboxID] ?? 0 } }
}

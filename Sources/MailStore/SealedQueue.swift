import Foundation
import GRDB
import MailboxAPI
import SQLiteCipher
import Synchronization

/// The storage node's inbound queue: messages sealed to their mailbox's public key (InboundSeal),
/// waiting to be moved into the mailbox at its next unlock (DESIGN.md §3).
///
/// The queue database is encrypted with the node key (defence in depth: the blobs themselves are
/// already unreadable without the mailbox's private key) and commits with `synchronous = FULL`:
/// `enqueue` returns only once the entry is durable, which is when SMTP may answer 250.
public final class SealedQueue: Sendable {
    let pool: DatabasePool
    /// Where `enqueue` and `commit` write: concurrent callers share a transaction (one fsync).
    let groupCommit: QueueGroupCommit
    let path: String
    /// Drains running, by mailbox (`isDraining`).
    private let draining = MailboxCounter()

    public struct Entry: Sendable {
        public var seq: Int64
        public var blob: [UInt8]
    }

    public init(path: String, key: SecretBytes) throws {
        // Freed pages go back to the file system (`reclaimSpace`): a queue that held a long
        // absence's mail does not stay at its high-water size.
        if !FileManager.default.fileExists(atPath: path) { try EncryptedDatabase.createIncrementallyVacuumed(path: path, key: key) }
        let config = EncryptedDatabase.configuration(key: key, label: "queue")
        pool = try DatabasePool(path: path, configuration: config)
        self.path = path
        // Every commit synced before it returns. Not in `prepareDatabase`: opening the pool in WAL
        // mode sets its writer to `synchronous = NORMAL` after that has run (a commit then
        // survived the process dying, not the machine losing power).
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE inbound (
                    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
                    mailbox_id TEXT NOT NULL,
                    received   TEXT NOT NULL,
                    size       INTEGER NOT NULL,
                    blob       BLOB NOT NULL
                );
                CREATE INDEX inbound_mailbox ON inbound(mailbox_id, seq);
                """)
        }
        migrator.registerMigration("v2-outbound") { db in
            // Mail to relay (forwards) and webhooks to post: readable by the node (it must send
            // them), so encrypted with the node key only, and kept only until done.
            try db.execute(sql: """
                CREATE TABLE outbound (
                    id           INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind         TEXT NOT NULL CHECK (kind IN ('smtp', 'webhook')),
                    created      TEXT NOT NULL,
                    next_attempt TEXT NOT NULL,
                    attempts     INTEGER NOT NULL DEFAULT 0,
                    last_error   TEXT,
                    sender       TEXT NOT NULL,      -- the envelope sender (SRS-rewritten for forwards)
                    original_sender TEXT NOT NULL,   -- the sender as received (bounces go there)
                    recipients   TEXT NOT NULL,      -- JSON array: forward targets, or the alias for a webhook
                    target       TEXT,               -- the webhook URL
                    context      TEXT NOT NULL DEFAULT '{}',  -- JSON: remote address, HELO, alias
                    message      BLOB NOT NULL
                );
                CREATE INDEX outbound_due ON outbound(next_attempt);
                """)
        }
        try migrator.migrate(pool)
        groupCommit = QueueGroupCommit(pool: pool)
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try? convertToIncrementalVacuum()
    }

    /// Live data under which a queue file made before incremental vacuum is converted at open (a
    /// VACUUM copies the live pages through memory).
    static let convertBelowBytes = 64 << 20

    /// A queue file made without `auto_vacuum = INCREMENTAL` (before it was the default) is
    /// converted when little is in it; a busy one is left for a later start.
    func convertToIncrementalVacuum() throws {
        try pool.writeWithoutTransaction { db in
            guard try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 0 else { return }
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0, free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            guard (pages - free) * pageSize < Self.convertBelowBytes else { return }
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute(sql: "VACUUM")
            _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// Gives free pages back to the file system when many are free (as a mailbox's maintenance
    /// pass does: 4 MiB, or an eighth of the file), in steps of 256 pages, each its own write so
    /// that deliveries interleave; then empties the WAL. Returns the pages given back.
    @discardableResult
    public func reclaimSpace() async throws -> Int {
        let pages = try await pool.read { db in try MailboxDatabase.pageCounts(db) }
        guard MailboxDatabase.worthReclaiming(free: pages.free, total: pages.total) else { return 0 }
        let given = try await MailboxDatabase.reclaimFreePages(in: pool)
        if given > 0 { try await pool.writeWithoutTransaction { db in try MailboxDatabase.checkpointAndTruncate(db) } }
        return given
    }

    /// Seals `message` to `publicKey` (in the caller's task) and commits it durably, in a
    /// transaction shared with other callers committing at the same time (`QueueGroupCommit`).
    /// Returns the entry's sequence number.
    @discardableResult
    public func enqueue(message: [UInt8], internalDate: Date = Date(), mailboxID: String, publicKey: [UInt8],
                        delivery: InboundDelivery = .inbox) async throws -> Int64 {
        let blob = try InboundSeal.seal(message: message, internalDate: internalDate, publicKey: publicKey, mailboxID: mailboxID, delivery: delivery)
        let committed = try await groupCommit.commit(.init(copies: [SealedCopy(mailboxID: mailboxID, blob: blob)], jobs: []))
        return committed.seqs[0]
    }

    /// Pending entries of a mailbox, oldest first (at most `limit`).
    public func pending(mailboxID: String, after seq: Int64 = 0, limit: Int = 100) async throws -> [Entry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, blob FROM inbound WHERE mailbox_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                             arguments: [mailboxID, seq, limit])
                .map { Entry(seq: $0["seq"], blob: Array($0["blob"] as Data)) }
        }
    }

    public func count(mailboxID: String) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM inbound WHERE mailbox_id = ?", arguments: [mailboxID]) ?? 0 }
    }

    /// Drops a mailbox's entries up to and including `seq` (they are in the mailbox now).
    public func remove(mailboxID: String, through seq: Int64) async throws {
        try await pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM inbound WHERE mailbox_id = ? AND seq <= ?").execute(arguments: [mailboxID, seq])
        }
    }

    /// Drops every entry of a mailbox (alias purge).
    public func removeAll(mailboxID: String) async throws {
        try await pool.write { db in try db.cachedStatement(sql: "DELETE FROM inbound WHERE mailbox_id = ?").execute(arguments: [mailboxID]) }
    }

    /// Moves a mailbox's queued messages into its INBOX, in order, exactly once: each entry is
    /// appended together with its sequence number in one mailbox transaction, and only then
    /// removed from the queue. A crash at any point leaves either the entry in the queue and not
    /// in the mailbox, or in both with the mailbox knowing it — never lost, never doubled.
    /// Returns how many messages were moved.
    /// The highest sequence number ever queued (0 when empty): a cheap change marker for watchers
    /// (deliveries by other processes, e.g. `sealbox deliver` while `serve` runs).
    public func lastSeq() async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'inbound'), 0)") ?? 0
        }
    }

    /// Puts back an entry as a backup holds it (already sealed to the mailbox's key). An entry
    /// with the same sealed bytes already queued for the mailbox is not added twice (each seal is
    /// unique). Returns false when it was already there.
    @discardableResult
    public func restoreSealed(blob: [UInt8], mailboxID: String) async throws -> Bool {
        try await pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM inbound WHERE mailbox_id = ? AND blob = ?", arguments: [mailboxID, Data(blob)]) != nil {
                return false
            }
            try db.cachedStatement(sql: "INSERT INTO inbound(mailbox_id, received, size, blob) VALUES (?, ?, ?, ?)").execute(arguments: [mailboxID, isoString(Date()), blob.count, Data(blob)])
            return true
        }
    }

    /// Makes every later entry's sequence number greater than `seq`: a mailbox restored from
    /// another node remembers the last sequence number it drained, and must not take new mail
    /// numbered at or below it for mail it already has.
    public func raiseSequence(atLeast seq: Int64) async throws {
        try await pool.write { db in
            let current = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'inbound'")
            if let current {
                if current < seq { try db.cachedStatement(sql: "UPDATE sqlite_sequence SET seq = ? WHERE name = 'inbound'").execute(arguments: [seq]) }
            } else {
                try db.cachedStatement(sql: "INSERT INTO sqlite_sequence(name, seq) VALUES ('inbound', ?)").execute(arguments: [seq])
            }
        }
    }

    /// Whether a drain into the mailbox is running in this process.
    public func isDraining(mailboxID: String) -> Bool { draining.count(mailboxID) > 0 }

    /// Mailboxes that have queued mail.
    public func mailboxesWithMail() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT mailbox_id FROM inbound") }
    }

    @discardableResult
    public func drain(into mailbox: MailboxDatabase) async throws -> Int {
        try await drain(into: mailbox, until: nil).moved
    }

    /// Entries a mailbox transaction takes at most, and their sealed bytes at most (one entry
    /// always goes, whatever its size): one fsync moves many small messages, memory stays bounded.
    static let drainBatchEntries = 64
    static let drainBatchBytes = 16 << 20

    /// Moves the mailbox's queued mail into its INBOX, oldest first, a bounded batch per mailbox
    /// transaction. With `deadline`, stops after the batch that passes it: `complete` says whether
    /// the queue was emptied (a login answers at once and leaves the rest to a background drain).
    public func drain(into mailbox: MailboxDatabase, until deadline: ContinuousClock.Instant?) async throws -> (moved: Int, complete: Bool) {
        let mailboxID = mailbox.mailboxID
        draining.enter([mailboxID])
        defer { draining.leave([mailboxID]) }
        var done = try await mailbox.drainedQueueSeq()
        try await remove(mailboxID: mailbox.mailboxID, through: done)
        var moved = 0
        while true {
            let pending = try await pending(mailboxID: mailbox.mailboxID, after: done, limit: Self.drainBatchEntries)
            guard !pending.isEmpty else {
                if moved > 0 { _ = try? await reclaimSpace() }  // best effort: the mail has moved
                return (moved, true)
            }
            var start = 0
            while start < pending.count {
                var end = start + 1, bytes = pending[start].blob.count
                while end < pending.count, bytes + pending[end].blob.count <= Self.drainBatchBytes {
                    bytes += pending[end].blob.count; end += 1
                }
                moved += try await mailbox.deliverSealed(pending[start..<end].map { ($0.seq, $0.blob) }).count
                FaultInjection.point("drain.afterMailboxCommit")
                done = pending[end - 1].seq
                start = end
            }
            // One queue commit (an fsync) per batch: entries the mailbox already has are skipped by
            // their sequence number, so a crash before this line moves nothing twice.
            try await remove(mailboxID: mailbox.mailboxID, through: done)
            if let deadline, ContinuousClock.now >= deadline { return (moved, try await count(mailboxID: mailbox.mailboxID) == 0) }
        }
    }
}

/// Crash-safety tests kill the process at named points: `SEALBOX_FAULT_KILL=<point>:<n>` sends
/// SIGKILL to this process the n-th time `<point>` is reached. Unset in production (a no-op).
enum FaultInjection {
    private static let target: (point: String, count: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["SEALBOX_FAULT_KILL"] else { return nil }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n > 0 else { return nil }
        return (String(parts[0]), n)
    }()
    private static let hits = Mutex<Int>(0)

    static func point(_ name: String) {
        guard let target, target.point == name else { return }
        let n = hits.withLock { $0 += 1; return $0 }
        if n == target.count { kill(getpid(), SIGKILL) }
    }

    /// Race tests hold a task at a named point: `SEALBOX_FAULT_DELAY=<point>:<milliseconds>` makes
    /// every pass through `<point>` wait that long. Unset in production (a no-op).
    private static let delay: (point: String, duration: Duration)? = {
        guard let spec = ProcessInfo.processInfo.environment["SEALBOX_FAULT_DELAY"] else { return nil }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let ms = Int(parts[1]), ms > 0 else { return nil }
        return (String(parts[0]), .milliseconds(ms))
    }()

    static func pause(_ name: String) async {
        guard let delay, delay.point == name else { return }
        FileHandle.standardError.write(Data("fault: holding at \(name)\n".utf8))
        try? await Task.sleep(for: delay.duration)
    }
}

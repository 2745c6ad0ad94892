import GRDB
import Synchronization

/// The maintenance pass that follows an EXPUNGE, a MOVE or a folder delete, half a second after the
/// command has answered: it deletes the contents (and parts, search entries, threads) left without a message,
/// in short write transactions, indexes the messages stored since it last did (once appends paused:
/// MailboxDatabase+SearchIndex), then gives free pages back to the file system.
///
/// Deleting a message's rows frees its pages, and SQLite reads each overflow page to free it
/// (`secure_delete` zeroes it too): that is what made EXPUNGE cost more than the mail client waits
/// for. The pass pays it once, in the background, and an expunged message is unrecoverable from
/// the file once the pass has run. It runs again when the mailbox opens, for what a crash left.
///
/// New mailbox files are created with `auto_vacuum = INCREMENTAL`; when many pages are free, the
/// pass runs `PRAGMA incremental_vacuum` in steps (each its own write, so sessions' writes
/// interleave) and a checkpoint then truncates the file. Files made before this have
/// `auto_vacuum = NONE` and keep their size.
extension MailboxDatabase {
    /// Free pages (4 KiB) at which a pass starts: 4 MiB, or an eighth of the file.
    static func worthReclaiming(free: Int, total: Int) -> Bool { free >= 1024 || (free >= 64 && free * 8 >= total) }

    /// Pages one step moves: a step takes a few tens of milliseconds.
    static let reclaimStepPages = 256

    /// Contents deleted by one step of the pass.
    static let purgeStepContents = 32

    /// The whole pass: queued contents deleted, then free pages given back when worth it. Safe to
    /// call while a background pass runs (their steps take turns). Returns the contents deleted.
    @discardableResult
    public func maintain() async throws -> Int {
        var purged = 0
        while !reclaimer.isClosing {
            let step = try await pool.write { db in try Self.purgeQueued(db, limit: Self.purgeStepContents) }
            if step == 0 { break }
            purged += step
            await Task.yield()
        }
        if indexDue() { try await indexPending() }
        let pages = try await pooledRead { db in try Self.pageCounts(db) }
        let given = Self.worthReclaiming(free: pages.free, total: pages.total) ? try await reclaimFreeSpace() : 0
        if purged > 0 || given > 0, !reclaimer.isClosing {
            try await pool.writeWithoutTransaction { db in try Self.checkpointAndTruncate(db) }
        }
        return purged
    }

    /// Before a copy of the file (a backup snapshot): the full-text index complete, so that no
    /// index write follows the copy, and the contents of expunged messages gone, so that none is copied.
    func settleForCopy() async throws {
        try await indexPending()
        _ = try await maintain()
    }

    /// Copies the WAL back into the file (which an incremental vacuum may have shortened) and, if
    /// no reader still needs it within a few milliseconds, empties it: the WAL still holds the
    /// earlier versions of the pages the pass just zeroed, until they are written over. When
    /// readers are busy, what they do not need is checkpointed and the WAL is emptied next time.
    static func checkpointAndTruncate(_ db: Database) throws {
        try db.execute(sql: "PRAGMA busy_timeout = 20")
        defer { try? db.execute(sql: "PRAGMA busy_timeout = 5000") }
        _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// Deletes up to `limit` (nil: all) of the queued contents that no message refers to any more
    /// and takes them off the queue; returns how many it took.
    static func purgeQueued(_ db: Database, limit: Int?) throws -> Int {
        let ids = try Int64.fetchAll(db, sql: "SELECT content_id FROM unreferenced_contents" + (limit.map { " LIMIT \($0)" } ?? ""))
        guard !ids.isEmpty else { return 0 }
        try dropUnreferenced(db, contents: ids)
        let done = try db.cachedStatement(sql: "DELETE FROM unreferenced_contents WHERE content_id = ?")
        for id in ids { try done.execute(arguments: [id]) }
        return ids.count
    }

    /// Runs incremental-vacuum steps until no free page is left or the mailbox closes; returns the
    /// pages given back (the caller checkpoints).
    func reclaimFreeSpace() async throws -> Int {
        try await Self.reclaimFreePages(in: pool, stop: { self.reclaimer.isClosing })
    }

    /// Incremental-vacuum steps of `reclaimStepPages` on an `auto_vacuum = INCREMENTAL` file, each
    /// its own write (other writers interleave), until no free page is left or `stop()`; returns
    /// the pages given back (the caller checkpoints). Mailboxes and the sealed queue share it.
    static func reclaimFreePages(in pool: DatabasePool, stop: () -> Bool = { false }) async throws -> Int {
        var given = 0
        while !stop() {
            let step = try await pool.writeWithoutTransaction { db -> Int in
                guard try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 2 else { return 0 }
                let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                guard free > 0 else { return 0 }
                let n = min(free, reclaimStepPages)
                try db.execute(sql: "PRAGMA incremental_vacuum(\(n))")
                return n
            }
            if step == 0 { break }
            given += step
            await Task.yield()
        }
        return given
    }

    /// Free and total pages.
    static func pageCounts(_ db: Database) throws -> (free: Int, total: Int) {
        (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0, try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0)
    }

    /// Starts the pass in the background (one at a time; one more, `delay` later, if asked while it runs).
    func startMaintenance() {
        reclaimer.start { [weak self] in _ = try? await self?.maintain() }
    }
}

/// The background maintenance pass of one mailbox: at most one at a time, none once it closes.
final class SpaceReclaimer: Sendable {
    private struct State { var running = false; var again = false; var closing = false }
    private let state = Mutex(State())
    /// How long a pass waits before its first step: the commands a client sends right after an
    /// EXPUNGE (a sync goes on, a folder is selected) do not share the cores and the writer with it.
    let delay: Duration

    init(delay: Duration = .milliseconds(500)) { self.delay = delay }

    var isClosing: Bool { state.withLock { $0.closing } }

    func start(_ pass: @escaping @Sendable () async -> Void) {
        let begin = state.withLock { s -> Bool in
            guard !s.closing else { return false }
            if s.running { s.again = true; return false }
            s.running = true
            return true
        }
        guard begin else { return }
        Task.detached(priority: .utility) { [self] in
            try? await Task.sleep(for: delay)
            while true {
                await pass()
                let more = state.withLock { s -> Bool in
                    if s.again && !s.closing { s.again = false; return true }
                    s.running = false
                    return false
                }
                if !more { return }
                // Asked again while it ran (appends going on): not straight away, so that a pass
                // waiting for appends to pause does not spin.
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// No pass starts after this; a step in progress finishes (closing the pool waits for it).
    func close() { state.withLock { $0.closing = true } }
}

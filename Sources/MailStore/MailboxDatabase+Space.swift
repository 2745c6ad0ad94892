import GRDB
import Synchronization

/// Giving freed space back to the file system. New mailbox files are created with
/// `auto_vacuum = INCREMENTAL`; when an EXPUNGE, MOVE or folder delete leaves many free pages, a
/// background pass runs `PRAGMA incremental_vacuum` in short steps (each its own write
/// transaction, so sessions' writes interleave) and a checkpoint then truncates the file. Freed
/// pages were zeroed already (`secure_delete`), and the pass moves live pages into them from the
/// end of the file. Files made before this have `auto_vacuum = NONE` and keep their size.
extension MailboxDatabase {
    /// Free pages (4 KiB) at which a pass starts: 4 MiB, or an eighth of the file.
    static func worthReclaiming(free: Int, total: Int) -> Bool { free >= 1024 || (free >= 64 && free * 8 >= total) }

    /// Pages one step moves: a step takes a few tens of milliseconds.
    static let reclaimStepPages = 256

    /// Runs passes until no free page is left or the mailbox closes; returns the pages given back.
    /// Safe to call while a background pass runs (their steps take turns).
    @discardableResult
    public func reclaimFreeSpace() async throws -> Int {
        var given = 0
        while !reclaimer.isClosing {
            let step = try await pool.writeWithoutTransaction { db -> Int in
                guard try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 2 else { return 0 }
                let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                guard free > 0 else { return 0 }
                let n = min(free, Self.reclaimStepPages)
                try db.execute(sql: "PRAGMA incremental_vacuum(\(n))")
                return n
            }
            if step == 0 { break }
            given += step
            await Task.yield()
        }
        if given > 0, !reclaimer.isClosing {
            // Copies the WAL back and truncates the file to its new size (readers permitting).
            try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        }
        return given
    }

    /// Free and total pages, read inside a write that freed some.
    static func pageCounts(_ db: Database) throws -> (free: Int, total: Int) {
        (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0, try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0)
    }

    /// Starts a background pass when a write left enough free pages (one pass at a time).
    func reclaimIfWorthIt(_ pages: (free: Int, total: Int)) {
        guard Self.worthReclaiming(free: pages.free, total: pages.total) else { return }
        reclaimer.start { [weak self] in _ = try? await self?.reclaimFreeSpace() }
    }
}

/// The background pass of one mailbox: at most one at a time, none once the mailbox closes.
final class SpaceReclaimer: Sendable {
    private struct State { var running = false; var again = false; var closing = false }
    private let state = Mutex(State())

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
            while true {
                await pass()
                let more = state.withLock { s -> Bool in
                    if s.again && !s.closing { s.again = false; return true }
                    s.running = false
                    return false
                }
                if !more { return }
            }
        }
    }

    /// No pass starts after this; a step in progress finishes (closing the pool waits for it).
    func close() { state.withLock { $0.closing = true } }
}

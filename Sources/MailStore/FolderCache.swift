import GRDB
import MailboxAPI
import Synchronization

/// The folder rows as last read, good until the file's writer commits again.
///
/// A client that switches folders (SELECT) or lists them (LIST) asks for the same rows over and over
/// while nothing changes; each ask was a read transaction of its own (a reader taken from the pool,
/// BEGIN, the schema check, the statement, COMMIT): a third of a repeated SELECT's CPU. Every write
/// to a mailbox file goes through its one `DatabasePool` writer in this process (snapshots and
/// exports are copies), so its commits are all the changes there are: each commit (SQLite's commit
/// hook, through GRDB's transaction observer) drops what is kept and starts a new generation.
///
/// A read that began in an older generation is not kept: a commit may have landed between the
/// rows it read and the moment it would store them. A rolled-back transaction changed nothing.
final class FolderCache: TransactionObserver, Sendable {
    private struct State {
        var generation: UInt64 = 0
        var byPath: [String: FolderInfo] = [:]
        var all: [FolderInfo]?
    }

    private let state = Mutex(State())

    /// The generation a read about to begin belongs to.
    var generation: UInt64 { state.withLock { $0.generation } }

    func folder(_ path: String) -> FolderInfo? { state.withLock { $0.byPath[path] } }
    func folders() -> [FolderInfo]? { state.withLock { $0.all } }

    /// Keeps `info` (read in `generation`) unless a commit came since.
    func keep(_ info: FolderInfo, readIn generation: UInt64) {
        state.withLock { s in if s.generation == generation { s.byPath[info.path] = info } }
    }

    func keep(_ folders: [FolderInfo], readIn generation: UInt64) {
        state.withLock { s in
            guard s.generation == generation else { return }
            s.all = folders
            for f in folders { s.byPath[f.path] = f }
        }
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) {
        state.withLock { s in
            s.generation &+= 1
            if !s.byPath.isEmpty { s.byPath = [:] }
            s.all = nil
        }
    }
    func databaseDidRollback(_ db: Database) {}
}

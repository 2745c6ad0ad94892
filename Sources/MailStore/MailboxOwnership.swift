import Foundation
import GRDB
import MailboxAPI

/// Whether this process may write a mailbox: in a cluster (issue 19), a storage node writes a
/// mailbox only while it holds the mailbox's lease in the node registry. `LocalMailboxService`
/// asks `claim` before it opens a mailbox or queues mail for it, and every write transaction of an
/// open mailbox asks `mayCommit` just before it commits (a lease lost meanwhile rolls it back).
/// One process alone (`sealbox serve`, the CLI) has no ownership: it writes every mailbox.
public protocol MailboxOwnership: Sendable {
    /// Takes or renews this node's lease on the mailbox. Throws `MailStoreError(.unavailable)` when
    /// another node owns it or the registry cannot be reached.
    func claim(mailboxID: String) async throws
    /// Synchronous, no I/O: this node still holds an unexpired lease on the mailbox.
    func mayCommit(mailboxID: String) -> Bool
}

/// Rolls back a mailbox's write transaction when `mayCommit` says no (SQLite's commit hook, through
/// GRDB's transaction observer): the commit fails with `MailStoreError(.unavailable)` and nothing
/// of it reaches the file.
final class CommitFence: TransactionObserver {
    let mayCommit: @Sendable () -> Bool
    init(_ mayCommit: @escaping @Sendable () -> Bool) { self.mayCommit = mayCommit }
    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseWillCommit() throws {
        guard mayCommit() else { throw MailStoreError(.unavailable, "this node no longer holds the mailbox's lease") }
    }
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}
}

extension MailboxDatabase {
    /// Every later write transaction commits only while `mayCommit()` is true.
    func installCommitFence(_ mayCommit: @escaping @Sendable () -> Bool) {
        pool.writeWithoutTransaction { db in db.add(transactionObserver: CommitFence(mayCommit), extent: .databaseLifetime) }
    }
}

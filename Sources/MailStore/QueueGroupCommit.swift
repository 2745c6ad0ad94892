import Foundation
import GRDB
import MailboxAPI
import Synchronization

/// Group commit for the sealed queue: deliveries committed at the same time (many SMTP sessions)
/// share one write transaction, and so one fsync of the WAL (`synchronous = FULL`), instead of
/// taking one each in turn on the one writer.
///
/// A delivery (sealed copies and outbound jobs, already sealed by the caller, outside any
/// transaction) joins a list of waiting deliveries. The caller that finds no transaction under way
/// leads: it submits everything waiting (up to `maxEntries` deliveries or `maxBytes` bytes) as one
/// transaction to the pool's writer. Each delivery is written under a savepoint of its own, so one
/// that fails is rolled back alone and only its caller gets the error. When the transaction is
/// over, its completion (still on the writer's queue) resumes the callers of that transaction and
/// submits what piled up meanwhile as the next one, so the writer never idles while deliveries
/// wait, and nothing runs when nothing waits (no background task).
///
/// A caller returns only once the transaction that holds its delivery committed, with its own
/// sequence numbers and job ids, or with the error that kept its delivery out of the queue. The
/// wait is not cancellable: once a delivery is handed over, the caller learns whether it is in
/// the queue (a cancelled SMTP session must not answer 451 for mail that was committed, nor a
/// retry double it). Memory: the waiting deliveries are messages their SMTP sessions hold in
/// memory anyway, within the server's in-flight byte budget.
final class QueueGroupCommit: Sendable {
    /// What one caller commits: all or nothing.
    struct Delivery: Sendable {
        var copies: [SealedCopy]
        var jobs: [OutboundJob]
        var bytes: Int { copies.reduce(0) { $0 + $1.blob.count } + jobs.reduce(0) { $0 + $1.message.count } }
    }

    struct Committed: Sendable {
        var seqs: [Int64]
        var jobIDs: [Int64]
    }

    /// Bounds of one transaction (its size in the WAL, and how long its first caller waits).
    static let maxEntries = 256
    static let maxBytes = 32 << 20

    /// Counters, for tests and diagnostics.
    struct Statistics: Sendable {
        /// Deliveries waiting for a transaction, and those of the transaction under way.
        var waiting = 0
        var inFlight = 0
        /// Transactions written so far, and the deliveries they held.
        var transactions = 0
        var deliveries = 0
    }

    private struct Waiter: Sendable {
        var delivery: Delivery
        var continuation: CheckedContinuation<Committed, any Error>
    }

    private struct State: Sendable {
        /// Deliveries of the transaction under way (0: the writer is free, the next caller leads).
        var inFlight = 0
        var waiting: [Waiter] = []
        var statistics = Statistics()

        /// Takes the next transaction's deliveries, oldest first, and marks the writer busy (or idle
        /// when none wait).
        mutating func nextBatch() -> [Waiter]? {
            guard !waiting.isEmpty else { inFlight = 0; return nil }
            var count = 0, bytes = 0
            while count < waiting.count, count < QueueGroupCommit.maxEntries {
                let size = waiting[count].delivery.bytes
                if count > 0, bytes + size > QueueGroupCommit.maxBytes { break }
                bytes += size
                count += 1
            }
            let batch = Array(waiting.prefix(count))
            waiting.removeFirst(count)
            inFlight = count
            return batch
        }
    }

    private let pool: DatabasePool
    private let state = Mutex(State())

    init(pool: DatabasePool) { self.pool = pool }

    var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.waiting = state.waiting.count
            statistics.inFlight = state.inFlight
            return statistics
        }
    }

    /// Commits `delivery` durably, together with whatever other callers commit at the same time.
    func commit(_ delivery: Delivery) async throws -> Committed {
        try await withCheckedThrowingContinuation { continuation in
            let batch = state.withLock { state -> [Waiter]? in
                state.waiting.append(Waiter(delivery: delivery, continuation: continuation))
                return state.inFlight > 0 ? nil : state.nextBatch()
            }
            if let batch { write(batch) }
        }
    }

    /// Writes one transaction on the pool's writer queue (serialized with the queue's other
    /// writes); then resumes its callers and submits the next transaction, if deliveries wait.
    private func write(_ batch: [Waiter]) {
        pool.asyncWriteWithoutTransaction { db in
            var outcomes: [Result<Committed, any Error>] = []
            outcomes.reserveCapacity(batch.count)
            do {
                try db.inTransaction(.immediate) {
                    let now = isoString(Date())
                    if batch.count == 1 {
                        // Alone: the transaction is the delivery's all-or-nothing (no savepoint).
                        outcomes.append(.success(try Self.insert(batch[0].delivery, received: now, into: db)))
                    } else {
                        for waiter in batch {
                            var committed: Committed?
                            do {
                                try db.inSavepoint {
                                    committed = try Self.insert(waiter.delivery, received: now, into: db)
                                    return .commit
                                }
                                outcomes.append(.success(committed!))
                            } catch {
                                // Rolled back to its savepoint: the others stay. (Should SQLite have
                                // rolled the whole transaction back, the commit below throws and
                                // every delivery of this transaction gets that error.)
                                outcomes.append(.failure(error))
                            }
                        }
                    }
                    return .commit
                }
            } catch {
                // Nothing of this transaction is in the queue.
                outcomes = Array(repeating: .failure(error), count: batch.count)
            }
            let next = self.state.withLock { state in
                state.statistics.transactions += 1
                state.statistics.deliveries += batch.count
                return state.nextBatch()
            }
            for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(with: outcome) }
            if let next { self.write(next) }
        }
    }

    /// Inserts one delivery: its sealed copies, then its outbound jobs.
    static func insert(_ delivery: Delivery, received: String, into db: Database) throws -> Committed {
        var committed = Committed(seqs: [], jobIDs: [])
        for copy in delivery.copies {
            try db.cachedStatement(sql: "INSERT INTO inbound(mailbox_id, received, size, blob) VALUES (?, ?, ?, ?)")
                .execute(arguments: [copy.mailboxID, received, copy.blob.count, Data(copy.blob)])
            committed.seqs.append(db.lastInsertedRowID)
        }
        for job in delivery.jobs { committed.jobIDs.append(try SealedQueue.insert(job, into: db)) }
        return committed
    }
}

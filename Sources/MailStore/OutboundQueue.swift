import Foundation
import GRDB
import MailboxAPI

/// One stored copy of an inbound message: sealed to the mailbox's public key.
public struct SealedCopy: Sendable {
    public var mailboxID: String
    public var blob: [UInt8]
    public init(mailboxID: String, blob: [UInt8]) { self.mailboxID = mailboxID; self.blob = blob }
}

extension SealedQueue: OutboundJobStore {
    /// Commits everything an inbound message becomes — sealed copies for the storing mailboxes
    /// and outbound jobs for forwards and webhooks — durably (synchronous = FULL) and all or
    /// nothing, so the 250 that follows never covers half a delivery. Concurrent calls share one
    /// transaction, each delivery under a savepoint of its own (`QueueGroupCommit`). Returns the
    /// sealed copies' sequence numbers and the jobs' ids.
    @discardableResult
    public func commit(copies: [SealedCopy], jobs: [OutboundJob]) async throws -> (seqs: [Int64], jobIDs: [Int64]) {
        guard !copies.isEmpty || !jobs.isEmpty else { return ([], []) }
        let committed = try await groupCommit.commit(.init(copies: copies, jobs: jobs))
        return (committed.seqs, committed.jobIDs)
    }

    /// Jobs whose next attempt is due at `now`, oldest first.
    public func dueJobs(now: Date = Date(), limit: Int = 20) async throws -> [OutboundJob] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbound WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?",
                             arguments: [isoString(now), limit]).map(Self.job)
        }
    }

    /// Every pending job (for `sealbox queue list` and tests).
    public func outboundJobs() async throws -> [OutboundJob] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM outbound ORDER BY id").map(Self.job) }
    }

    /// When the next job is due (nil when there is none).
    public func nextJobDue() async throws -> Date? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT min(next_attempt) FROM outbound").flatMap(parseISO)
        }
    }

    /// Records a failed attempt: the job waits until `nextAttempt`. Its remaining recipients may
    /// shrink (those a relay accepted or refused for good are done).
    public func reschedule(jobID: Int64, nextAttempt: Date, error: String, remainingRecipients: [String]? = nil) async throws {
        try await pool.write { db in
            if let remainingRecipients {
                try db.execute(sql: "UPDATE outbound SET attempts = attempts + 1, next_attempt = ?, last_error = ?, recipients = ? WHERE id = ?",
                               arguments: [isoString(nextAttempt), error, Self.json(remainingRecipients), jobID])
            } else {
                try db.execute(sql: "UPDATE outbound SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
                               arguments: [isoString(nextAttempt), error, jobID])
            }
        }
    }

    public func enqueue(_ jobs: [OutboundJob]) async throws {
        try await commit(copies: [], jobs: jobs)
    }

    /// Removes a finished job; `replacement` (a bounce to send) is committed in the same transaction.
    public func finish(jobID: Int64, replacement: OutboundJob? = nil) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM outbound WHERE id = ?", arguments: [jobID])
            if let job = replacement { _ = try Self.insert(job, into: db) }
        }
    }

    /// Bytes waiting in the inbound queue for a mailbox (counted against its quota at RCPT time).
    public func queuedBytes(mailboxID: String) async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT coalesce(sum(size), 0) FROM inbound WHERE mailbox_id = ?", arguments: [mailboxID]) ?? 0
        }
    }

    /// Adds a job (attempts start at 0); returns its id.
    static func insert(_ job: OutboundJob, into db: Database) throws -> Int64 {
        try db.cachedStatement(sql: """
            INSERT INTO outbound(kind, created, next_attempt, attempts, sender, original_sender, recipients, target, context, message)
            VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [job.kind.rawValue, isoString(job.created), isoString(job.nextAttempt), job.sender, job.originalSender,
                                     json(job.recipients), job.target, json(job.context), Data(job.message)])
        return db.lastInsertedRowID
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }

    static func job(_ row: Row) -> OutboundJob {
        let recipients = (try? JSONDecoder().decode([String].self, from: Data((row["recipients"] as String).utf8))) ?? []
        let context = (try? JSONDecoder().decode([String: String].self, from: Data((row["context"] as String).utf8))) ?? [:]
        var job = OutboundJob(kind: OutboundJob.Kind(rawValue: row["kind"]) ?? .smtp, sender: row["sender"], originalSender: row["original_sender"],
                              recipients: recipients, target: row["target"], context: context,
                              message: Array(row["message"] as Data), created: parseISO(row["created"]) ?? Date())
        job.id = row["id"]
        job.nextAttempt = parseISO(row["next_attempt"]) ?? Date()
        job.attempts = row["attempts"]
        job.lastError = row["last_error"]
        return job
    }
}

extension SealedQueue {
    /// Per mailbox: how many sealed messages wait for its next unlock, their size and the oldest.
    public struct InboundSummary: Sendable {
        public var mailboxID: String
        public var count: Int
        public var bytes: Int64
        public var oldest: Date
    }

    public func inboundSummary() async throws -> [InboundSummary] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT mailbox_id, count(*) AS n, sum(size) AS bytes, min(received) AS oldest FROM inbound GROUP BY mailbox_id")
                .map { InboundSummary(mailboxID: $0["mailbox_id"], count: $0["n"], bytes: $0["bytes"], oldest: parseISO($0["oldest"]) ?? Date()) }
        }
    }

    /// Per kind of outbound job (`smtp`, `webhook`): how many wait and when the oldest was made.
    public struct OutboundSummary: Sendable {
        public var kind: OutboundJob.Kind
        public var count: Int
        public var oldest: Date
    }

    /// What `/metrics` shows of the outbound queue: one aggregate query, no message read.
    public func outboundSummary() async throws -> [OutboundSummary] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, count(*) AS n, min(created) AS oldest FROM outbound GROUP BY kind").compactMap { row in
                guard let kind = OutboundJob.Kind(rawValue: row["kind"]) else { return nil }
                return OutboundSummary(kind: kind, count: row["n"], oldest: parseISO(row["oldest"]) ?? Date())
            }
        }
    }

    /// Makes every outbound job due now (after fixing a smarthost). Returns how many there are.
    @discardableResult
    public func retryAllJobs(now: Date = Date()) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "UPDATE outbound SET next_attempt = ?", arguments: [isoString(now)])
            return db.changesCount
        }
    }
}

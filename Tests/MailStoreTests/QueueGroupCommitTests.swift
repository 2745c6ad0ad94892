import Dispatch
import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

@Suite("Sealed queue group commit")
struct QueueGroupCommitTests {
    let dir = TemporaryDirectory()
    let key = SecretBytes.random(count: 32)
    var path: String { dir.path + "/queue.sqlite" }

    /// The sequence numbers committed, as a connection of its own (not the queue's pool) sees them.
    func committedSeqs() throws -> Set<Int64> {
        let db = try DatabaseQueue(path: path, configuration: EncryptedDatabase.configuration(key: key, readonly: true))
        defer { try? db.close() }
        return try db.read { db in Set(try Int64.fetchAll(db, sql: "SELECT seq FROM inbound")) }
    }

    /// Holds the queue's writer until `gate` is signalled (a dispatch queue of GRDB's, not a
    /// cooperative thread), so that the test knows which deliveries wait together.
    func holdWriter(_ queue: SealedQueue, until gate: DispatchSemaphore) {
        queue.pool.asyncWriteWithoutTransaction { _ in gate.wait() }
    }

    func waitUntil(_ queue: SealedQueue, _ condition: (QueueGroupCommit.Statistics) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while !condition(queue.groupCommit.statistics) {
            try #require(ContinuousClock.now < deadline, "timed out: \(queue.groupCommit.statistics)")
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    static func fakeCopy(_ mailboxID: String, _ n: Int) -> SealedCopy {
        SealedCopy(mailboxID: mailboxID, blob: Array("sealed \(mailboxID) \(n)".utf8))
    }

    @Test("concurrent enqueues land exactly once, in each caller's order, each committed when its call returns")
    func concurrentEnqueues() async throws {
        let queue = try SealedQueue(path: path, key: key)
        let keys = try InboundSeal.KeyPair.generate()
        let callers = 8, perCaller = 12
        let sent = try await withThrowingTaskGroup(of: (Int, [(seq: Int64, message: [UInt8])]).self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var mine: [(Int64, [UInt8])] = []
                    for i in 0..<perCaller {
                        let message = sampleMessage(subject: "caller \(caller) message \(i)")
                        let seq = try await queue.enqueue(message: message, mailboxID: "m\(caller)", publicKey: keys.publicKeyBytes)
                        // Durable when the call returns: another connection sees it at once.
                        #expect(try committedSeqs().contains(seq), "seq \(seq) not visible after enqueue returned")
                        mine.append((seq, message))
                    }
                    return (caller, mine)
                }
            }
            var all: [Int: [(seq: Int64, message: [UInt8])]] = [:]
            for try await (caller, mine) in group { all[caller] = mine }
            return all
        }
        #expect(try committedSeqs().count == callers * perCaller)
        for caller in 0..<callers {
            let mine = try #require(sent[caller])
            let entries = try await queue.pending(mailboxID: "m\(caller)", limit: 1000)
            #expect(entries.map(\.seq) == mine.map(\.seq))  // once each, in the caller's order
            for (entry, expected) in zip(entries, mine) {
                #expect(try InboundSeal.open(entry.blob, keyPair: keys, mailboxID: "m\(caller)").message == expected.message)
            }
        }
        let statistics = queue.groupCommit.statistics
        #expect(statistics.deliveries == callers * perCaller && statistics.waiting == 0 && statistics.inFlight == 0)
        #expect(statistics.transactions <= statistics.deliveries)
    }

    @Test("deliveries that wait together share a transaction, at most 256 to one")
    func sharedTransactions() async throws {
        let queue = try SealedQueue(path: path, key: key)
        let gate = DispatchSemaphore(value: 0)
        holdWriter(queue, until: gate)
        let count = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<count {
                group.addTask { _ = try await queue.commit(copies: [Self.fakeCopy("m", n)], jobs: []) }
            }
            // The first caller's transaction waits behind the held writer; all others wait for the next.
            try await waitUntil(queue) { $0.inFlight == 1 && $0.waiting == count - 1 }
            #expect(queue.groupCommit.statistics.transactions == 0)
            gate.signal()
            try await group.waitForAll()
        }
        let statistics = queue.groupCommit.statistics
        // One alone, then 256 (the bound), then the 43 left.
        #expect(statistics.transactions == 3 && statistics.deliveries == count)
        #expect(try committedSeqs().count == count)
        #expect(try await queue.count(mailboxID: "m") == count)
    }

    @Test("a delivery that fails fails only its caller, and all of it is rolled back")
    func failingDelivery() async throws {
        let queue = try SealedQueue(path: path, key: key)
        try await queue.pool.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_bad BEFORE INSERT ON inbound WHEN NEW.mailbox_id = 'bad'
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
        }
        let gate = DispatchSemaphore(value: 0)
        holdWriter(queue, until: gate)
        // The first good delivery goes alone (behind the held writer); the others share the next transaction.
        async let first = queue.commit(copies: [Self.fakeCopy("good", 0)], jobs: [])
        try await waitUntil(queue) { $0.inFlight == 1 }
        let job = OutboundJob(kind: .smtp, sender: "a@example.org", originalSender: "a@example.org",
                              recipients: ["b@example.net"], message: Array("forwarded".utf8))
        let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for n in 1...5 {
                group.addTask { _ = try await queue.commit(copies: [Self.fakeCopy("good", n)], jobs: [job]); return ("good \(n)", true) }
            }
            group.addTask {
                do {
                    // A good copy, a job and a bad copy: none of it may stay.
                    _ = try await queue.commit(copies: [Self.fakeCopy("half", 0), Self.fakeCopy("bad", 0)], jobs: [job])
                    return ("bad", true)
                } catch let error as DatabaseError {
                    #expect(error.message == "refused by the test")
                    return ("bad", false)
                }
            }
            for n in 6...10 {
                group.addTask { _ = try await queue.commit(copies: [Self.fakeCopy("good", n)], jobs: []); return ("good \(n)", true) }
            }
            try await waitUntil(queue) { $0.waiting == 11 }
            gate.signal()
            var outcomes: [String: Bool] = [:]
            for try await (name, ok) in group { outcomes[name] = ok }
            return outcomes
        }
        _ = try await first
        #expect(outcomes.count == 11 && outcomes["bad"] == false && outcomes.filter { !$0.value }.count == 1)
        #expect(queue.groupCommit.statistics.transactions == 2)
        #expect(try await queue.count(mailboxID: "good") == 11)
        #expect(try await queue.count(mailboxID: "half") == 0)
        #expect(try await queue.outboundJobs().count == 5)
        #expect(try committedSeqs().count == 11)
    }

    @Test("one caller alone takes a transaction of its own")
    func alone() async throws {
        let queue = try SealedQueue(path: path, key: key)
        let keys = try InboundSeal.KeyPair.generate()
        for i in 1...3 {
            let seq = try await queue.enqueue(message: sampleMessage(subject: "\(i)"), mailboxID: "m", publicKey: keys.publicKeyBytes)
            #expect(seq == Int64(i) && queue.groupCommit.statistics.transactions == i)
        }
        let nothing = try await queue.commit(copies: [], jobs: [])
        #expect(nothing.seqs.isEmpty && nothing.jobIDs.isEmpty)
        #expect(queue.groupCommit.statistics.transactions == 3)
    }
}

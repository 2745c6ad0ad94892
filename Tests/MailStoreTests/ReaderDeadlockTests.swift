import Directory
import Foundation
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

/// One thread runs every job of the tasks that prefer it (as a connection's event loop runs its session).
private final class OneThreadExecutor: TaskExecutor {
    let queue = DispatchQueue(label: "one-thread-executor")
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

@Suite("Readers and the threads that wait for them")
struct ReaderDeadlockTests {
    let dir = TemporaryDirectory()

    @Test("small reads on the calling thread never wait for a reader that tasks on the same thread hold (no deadlock)")
    func noDeadlock() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        for i in 0..<40 { _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "m\(i)")) }
        // Before the fix, the first small read that found every reader taken blocked the one
        // thread, where the readers' holders had to resume to give them back: the run hung.
        let watchdog = DispatchWorkItem {
            FileHandle.standardError.write(Data("ReaderDeadlockTests: no progress in 120 s (deadlock)\n".utf8))
            abort()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        defer { watchdog.cancel() }
        let executor = OneThreadExecutor()
        let counts = try await withTaskExecutorPreference(executor) {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        var n = 0
                        for j in 0..<25 {
                            let uids: UIDSet = (i + j) % 3 == 0 ? .all : UIDSet([UID(j % 40 + 1)])  // async read / read here
                            n += try await db.structures(in: "INBOX", uids: uids).count
                        }
                        return n
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
        }
        #expect(counts.count == 24)
        #expect(db.readers.inUse == 0)
    }
}

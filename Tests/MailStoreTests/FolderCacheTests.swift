import Directory
import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

/// Folder rows are kept between reads until the writer's next commit (FolderCache): every write
/// is seen by the next `folder`/`folders`, and a read that raced a commit is not kept.
@Suite("Folder rows kept between commits")
struct FolderCacheTests {
    let dir = TemporaryDirectory()

    @Test("each kind of write is seen by the next folder() and folders(): append, claim, flags, expunge, subscribe, create, rename, delete")
    func writesAreSeen() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        defer { try? db.close() }
        let before = try #require(try await db.folder("INBOX"))
        #expect(try await db.folder("inbox") == before)  // kept, and found by its canonical name
        let uid = try await db.append(to: "INBOX", message: sampleMessage(subject: "one")).uid
        let appended = try #require(try await db.folder("INBOX"))
        #expect(appended.uidNext == uid + 1 && appended.highestModSeq > before.highestModSeq)
        _ = try await db.claimRecent(in: "INBOX")
        #expect(try await db.folder("INBOX")?.recentUID == uid + 1)
        let modSeq = try #require(try await db.folder("INBOX")).highestModSeq
        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet([uid]), operation: .add, flags: [.seen])
        #expect(try #require(try await db.folder("INBOX")).highestModSeq > modSeq)

        #expect(try await db.folders().contains { $0.path == "Projects" } == false)
        _ = try await db.createFolder("Projects")
        #expect(try await db.folders().first { $0.path == "Projects" }?.subscribed == false)
        try await db.setSubscribed("Projects", true)
        #expect(try await db.folder("Projects")?.subscribed == true)
        #expect(try await db.folders().first { $0.path == "Projects" }?.subscribed == true)
        try await db.renameFolder("Projects", to: "Work")
        #expect(try await db.folder("Projects") == nil)
        #expect(try await db.folder("Work") != nil)
        #expect(try await db.folders().map(\.path).contains("Work"))
        try await db.deleteFolder("Work")
        #expect(try await db.folder("Work") == nil)
        #expect(try await !db.folders().map(\.path).contains("Work"))
        _ = try await db.expunge(in: "INBOX")
        #expect(try #require(try await db.folder("INBOX")).highestModSeq >= modSeq)
    }

    @Test("a read begun before a commit is not kept; a rolled-back write keeps what was kept")
    func generations() throws {
        let queue = try DatabaseQueue()
        let cache = FolderCache()
        try queue.write { db in
            db.add(transactionObserver: cache, extent: .databaseLifetime)
            try db.execute(sql: "CREATE TABLE t(x)")
        }
        let info = FolderInfo(id: 1, path: "INBOX", specialUse: nil, subscribed: true, uidValidity: 1, uidNext: 1, highestModSeq: 1, recentUID: 1)
        let stale = cache.generation
        try queue.write { db in try db.execute(sql: "INSERT INTO t VALUES (1)") }
        cache.keep(info, readIn: stale)
        cache.keep([info], readIn: stale)
        #expect(cache.folder("INBOX") == nil && cache.folders() == nil)
        cache.keep([info], readIn: cache.generation)
        #expect(cache.folder("INBOX") == info && cache.folders() == [info])
        try? queue.inTransaction { db in
            try db.execute(sql: "INSERT INTO t VALUES (2)")
            return .rollback
        }
        #expect(cache.folder("INBOX") == info)
        try queue.write { db in try db.execute(sql: "INSERT INTO t VALUES (3)") }
        #expect(cache.folder("INBOX") == nil && cache.folders() == nil)
    }
}

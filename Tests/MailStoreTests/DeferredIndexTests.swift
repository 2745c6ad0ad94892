import Directory
import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

/// The full-text index is filled after the write that stores a message (MailboxDatabase+SearchIndex):
/// a search never misses a message the index has not reached, in any state of it.
@Suite("Full-text index filled after the append")
struct DeferredIndexTests {
    let dir = TemporaryDirectory()

    func entries(_ db: MailboxDatabase) async throws -> (rows: Int, mark: Int64) {
        try await db.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM content_fts") ?? -1, try MailboxDatabase.indexedThrough(db))
        }
    }

    @Test("a message is found at once, before and after the pass indexes it")
    func foundInEveryState() async throws {
        let key = SecretBytes.random(count: 32)
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: key)
        defer { try? db.close() }
        for i in 0..<20 {
            _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "note \(i)", body: i % 4 == 0 ? "a quokkaberry pie" : "plain words"))
        }
        // the pass waits for appends to pause: most likely nothing indexed yet (the search reads the pending ones)
        #expect(try await db.fullTextSearch(in: "INBOX", text: "quokkaberry", field: .body) == [1, 5, 9, 13, 17])
        #expect(try await db.fullTextSearch(in: "INBOX", text: "quo", field: .any) == [1, 5, 9, 13, 17])  // one trigram: not taken as exact
        #expect(try await db.fullTextSearch(in: "INBOX", text: "quokkaberry", field: .subject) == [])
        try await db.indexPending()
        let after = try await entries(db)
        #expect(after.rows == 20 && after.mark == 20)
        #expect(try await db.fullTextSearch(in: "INBOX", text: "quokkaberry", field: .body) == [1, 5, 9, 13, 17])
        // half indexed, half pending: one answer in UID order
        for i in 20..<24 { _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "later \(i)", body: "quokkaberry again")) }
        #expect(try await db.fullTextSearch(in: "INBOX", text: "quokkaberry", field: .any) == [1, 5, 9, 13, 17, 21, 22, 23, 24])
    }

    @Test("the pass indexes on its own once appends pause")
    func passIndexes() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        defer { try? db.close() }
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "one", body: "lanternfish"))
        var indexed = false
        for _ in 0..<100 where !indexed {  // the pass starts half a second after the append
            try await Task.sleep(for: .milliseconds(50))
            indexed = try await entries(db).mark == 1
        }
        #expect(indexed)
        #expect(try await db.fullTextSearch(in: "INBOX", text: "lanternfish", field: .any) == [1])
    }

    @Test("closing indexes what is still in memory; what is not is read again by the pass of the next open")
    func closeAndReopen() async throws {
        let key = SecretBytes.random(count: 32), id = DirectoryID.random()
        var db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: id, dataKey: key)
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "kept", body: "zebrafinch one"))
        try db.close()
        db = try MailboxDatabase.open(storageRoot: dir.path, mailboxID: id, dataKey: key)
        #expect(try await entries(db) == (1, 1))
        // as after a crash: stored, its text no longer in memory
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "lost", body: "zebrafinch two"))
        db.searchTexts.removeAll()
        try db.close()
        db = try MailboxDatabase.open(storageRoot: dir.path, mailboxID: id, dataKey: key)
        defer { try? db.close() }
        #expect(try await entries(db).rows >= 1)  // the second one, unless the open's pass already read it again
        #expect(try await db.fullTextSearch(in: "INBOX", text: "zebrafinch", field: .any) == [1, 2])
        db.searchTexts.removeAll()
        try await db.indexPending()
        #expect(try await entries(db) == (2, 2))
        #expect(try await db.fullTextSearch(in: "INBOX", text: "zebrafinch", field: .any) == [1, 2])
    }

    @Test("a message expunged before it was indexed leaves nothing behind and is never indexed")
    func expungedWhilePending() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        defer { try? db.close() }
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "gone", body: "marmoset"))
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "kept", body: "marmoset"))
        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet([1]), operation: .add, flags: [.deleted])
        _ = try await db.expunge(in: "INBOX")
        try await db.maintain()
        try await db.indexPending()
        #expect(try await entries(db) == (1, 2))
        #expect(try await db.fullTextSearch(in: "INBOX", text: "marmoset", field: .any) == [2])
    }

    @Test("TEXT looks in the whole header, through the index; the decoded columns (any) do not")
    func headerColumn() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        defer { try? db.close() }
        var m = sampleMessage(subject: "plain", body: "nothing here")
        m.insert(contentsOf: Array("X-Tracking: zanzibarquill-42\r\n".utf8), at: 0)
        _ = try await db.append(to: "INBOX", message: m)
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "zanzibarquill in the subject"))
        for indexed in [false, true] {
            if indexed { try await db.indexPending() }
            #expect(try await db.fullTextSearch(in: "INBOX", text: "ZANZIBARQUILL", field: .text) == [1, 2])
            #expect(try await db.fullTextSearch(in: "INBOX", text: "zanzibarquill", field: .any) == [2])
            #expect(try await db.fullTextSearch(in: "INBOX", text: "x-tracking", field: .text) == [1])
            #expect(try await db.fullTextSearch(in: "INBOX", text: "x-tracking", field: .body) == [])
        }
    }
}

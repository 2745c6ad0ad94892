import Directory
import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import MIMEParser
import SQLiteCipher
import Testing

@Suite("Structure stored at delivery")
struct StoredStructureTests {
    let dir = TemporaryDirectory()

    @Test("a stored message's structure and header come without its body; a row without one is parsed once and kept")
    func storedAndLazy() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        let message = sampleMessage(subject: "structured", attachmentBytes: 50_000)
        _ = try await db.append(to: "INBOX", message: message)
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "second"))
        let expected = MIMEMessage.parse(message).structure
        let structures = try await db.structures(in: "INBOX", uids: .all)
        #expect(structures.count == 2)
        #expect(structures[1] == expected)
        let headers = try await db.messageHeaders(in: "INBOX", uids: UIDSet([1]))
        #expect(headers[1] == Array(message[..<MIMEMessage.parse(message).headerLength]))

        // A row from before structures were stored (or of another parser version): parsed on
        // read, then stored.
        try await db.pool.write { db in try db.execute(sql: "DELETE FROM content_structures") }
        #expect(try await db.structures(in: "INBOX", uids: UIDSet([1]))[1] == expected)
        let stored = try await db.pool.read { db in
            try Data.fetchOne(db, sql: "SELECT structure FROM content_structures ORDER BY content_id LIMIT 1")
        }
        #expect(stored.map { Array($0) } == expected.encoded())
        try await db.pool.write { db in try db.execute(sql: "UPDATE content_structures SET structure = x'FF00'") }
        #expect(try await db.structures(in: "INBOX", uids: .all).count == 2)
    }
}

@Suite("Large messages read piece by piece")
struct ChunkedPartTests {
    let dir = TemporaryDirectory()

    @Test("a 5 MB attachment is stored in chunks, read back exactly whole and piece by piece, and freed with the message")
    func chunks() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        let message = sampleMessage(subject: "big", attachmentBytes: 5_000_000)
        _ = try await db.append(to: "INBOX", message: message)
        let chunks = try await db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM part_chunks") ?? 0 }
        #expect(chunks >= 6)
        #expect(try await db.messageBytes(in: "INBOX", uid: 1) == message)

        let reader = try #require(try await db.messageReader(in: "INBOX", uid: 1))
        #expect(reader.size == message.count)
        var joined: [UInt8] = [], largest = 0
        while let piece = try await reader.read() { joined += piece; largest = max(largest, piece.count) }
        #expect(joined == message)
        #expect(largest <= 1 << 20)
        #expect(try await db.messageReader(in: "INBOX", uid: 2) == nil)

        _ = try await db.storeFlags(in: "INBOX", uids: .all, operation: .add, flags: .deleted)
        _ = try await db.expunge(in: "INBOX")
        try await db.maintain()  // parts go in the pass after the expunge
        #expect(try await db.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM part_chunks") } == 0)
    }
}

@Suite("Locking a mailbox with change streams open")
struct CloseWithWatchersTests {
    let dir = TemporaryDirectory()

    @Test("close() ends open change streams (it trapped on a recursive lock when a stream was still registered)")
    func closeEndsStreams() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        let stream = db.changes(folder: nil)
        let ended = Task { for await _ in stream {}; return true }
        try db.close()
        #expect(await ended.value)
    }
}

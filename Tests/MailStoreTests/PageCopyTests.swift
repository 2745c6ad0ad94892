import Directory
import Foundation
import GRDB
import MailboxAPI
@testable import MailStore
import SQLiteCipher
import Testing

@Suite("Snapshots copied as encrypted pages")
struct PageCopyTests {
    let dir = TemporaryDirectory()

    /// Opens a copy with the key and runs SQLite's full integrity check on it.
    func integrity(_ path: String, key: SecretBytes) throws -> (String, Int) {
        let queue = try EncryptedDatabase.openQueue(path: PageCopy.immutableURI(path), key: key, readonly: true)
        defer { try? queue.close() }
        return try queue.read { db in
            (try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "", try Int.fetchOne(db, sql: "SELECT count(*) FROM messages") ?? -1)
        }
    }

    @Test("copies taken while mail is appended are consistent: each verifies and passes SQLite's integrity check")
    func consistentUnderWrites() async throws {
        let key = SecretBytes.random(count: 32)
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: key)
        for i in 0..<50 { _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "before \(i)", body: String(repeating: "x", count: 20_000))) }
        let writer = Task {
            for i in 0..<300 { _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "during \(i)", body: String(repeating: "y", count: 8_000))) }
        }
        var counts: [Int] = []
        for n in 0..<6 {
            let target = dir.path + "/copy-\(n).sqlite"
            let copy = try #require(try await db.copyPages(to: target, key: key))
            #expect(copy.size == Int64((try FileManager.default.attributesOfItem(atPath: target)[.size] as? Int) ?? 0))
            #expect(copy.sha256 == (try LocalMailboxService.hashFile(target)).1)
            try PageCopy.verify(path: target, key: key, size: copy.size)
            let (check, messages) = try integrity(target, key: key)
            #expect(check == "ok", "copy \(n): \(check)")
            counts.append(messages)
        }
        try await writer.value
        #expect(counts.first! >= 50 && counts == counts.sorted(), "\(counts)")
        try db.close()
    }

    @Test("a damaged or short copy, or the wrong key, fails verification with a clear error")
    func damageDetected() async throws {
        let key = SecretBytes.random(count: 32)
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: key)
        for i in 0..<20 { _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "m \(i)", body: String(repeating: "z", count: 10_000))) }
        let target = dir.path + "/copy.sqlite"
        let copy = try #require(try await db.copyPages(to: target, key: key))
        try db.close()
        try PageCopy.verify(path: target, key: key, size: copy.size)
        #expect(throws: MailStoreError.self) { try PageCopy.verify(path: target, key: SecretBytes.random(count: 32), size: copy.size) }

        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: target)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        #expect { try PageCopy.verify(path: target, key: key, size: copy.size) } throws: { error in
            "\(error)".contains("snapshot") && !"\(error)".contains(key.hexString())
        }
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes.prefix(bytes.count - 4096)).write(to: URL(fileURLWithPath: target))
        #expect(throws: MailStoreError.self) { try PageCopy.verify(path: target, key: key, size: copy.size - 4096) }
    }

    @Test("the file stamp stays while nothing is written and changes with a write made right after it")
    func stamp() async throws {
        let key = SecretBytes.random(count: 32)
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: key)
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "one"))
        try await db.indexPending()  // its full-text entry, a write of its own (the pass would make it half a second later)
        let first = try #require(try await db.checkpointedStamp())
        #expect(try await db.checkpointedStamp() == first)
        _ = try await db.messages(in: "INBOX", uids: nil, changedSince: nil)  // a read is not a change
        #expect(try await db.checkpointedStamp() == first)
        _ = try await db.append(to: "INBOX", message: sampleMessage(subject: "two"))
        let second = try #require(try await db.checkpointedStamp())
        #expect(second != first)
        try db.close()
    }
}

import Directory
import Foundation
import MailboxAPI
import MailStore
import SQLiteCipher
import Testing

/// UID sets of any shape against a folder whose UIDs are full of gaps (the sync issue: a set was
/// once SQL text with one OR term per range, refused by SQLite past ~1,000 ranges).
@Suite("UID sets with many ranges")
struct UIDSetQueryTests {
    let dir = TemporaryDirectory()

    /// 2,300 messages, every other one expunged: the live UIDs are 1, 3, 5, … 2,299.
    func gappyFolder() async throws -> MailboxDatabase {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        let message = sampleMessage(subject: "gap")
        #expect(try await db.append(to: "INBOX", messages: Array(repeating: message, count: 2_300)).last?.uid == 2_300)
        let even = UIDSet(stride(from: UID(2), through: 2_300, by: 2).map { $0 })
        #expect(even.ranges.count == 1_150)
        _ = try await db.storeFlags(in: "INBOX", uids: even, operation: .add, flags: .deleted)
        #expect(try await db.expunge(in: "INBOX").count == 1_150)
        return db
    }

    @Test("1,150 single UIDs and 5,000 ranges: every operation answers with exactly the right messages")
    func scatteredSets() async throws {
        let db = try await gappyFolder()
        let odd = stride(from: UID(1), through: 2_299, by: 2).map { $0 }
        let oddSet = UIDSet(odd)
        #expect(oddSet.ranges.count == 1_150)
        #expect(try await db.messages(in: "INBOX", uids: oddSet).map(\.uid) == odd)
        #expect(try await db.messages(in: "INBOX", uids: .all).map(\.uid) == odd)
        #expect(try await db.searchFields(in: "INBOX", uids: oddSet, includeHeader: false).map(\.uid) == odd)

        // STORE on 1,150 separate UIDs (failed with "Expression tree is too large").
        let stored = try await db.storeFlags(in: "INBOX", uids: oddSet, operation: .add, flags: .flagged, keywords: ["$Sync"])
        #expect(stored.updated.map(\.uid) == odd)
        #expect(stored.updated.allSatisfy { $0.flags.contains(.flagged) && $0.keywords == ["$Sync"] })

        // 5,000 ranges, most of them selecting nothing (even UIDs) and some beyond the end.
        var ranges: [ClosedRange<UID>] = [1 ... 1]
        for i in UID(1) ... 5_000 { ranges.append(2 * i ... 2 * i) }
        let fiveThousand = UIDSet(ranges)
        #expect(fiveThousand.ranges.count == 5_000)  // 1:2 merge, then 4, 6, … 10,000
        #expect(try await db.messages(in: "INBOX", uids: fiveThousand).map(\.uid) == [1])

        let copied = try await db.copy(from: "INBOX", uids: oddSet, to: "Archive")
        #expect(copied.mapping.map(\.source) == odd)
        let moved = try await db.move(from: "INBOX", uids: UIDSet(Array(odd.prefix(1_000))), to: "Trash")
        #expect(moved.mapping.map(\.source) == Array(odd.prefix(1_000)))
        #expect(try await db.messages(in: "INBOX").map(\.uid) == Array(odd.dropFirst(1_000)))

        _ = try await db.storeFlags(in: "Archive", uids: .all, operation: .add, flags: .deleted)
        let archive = try await db.messages(in: "Archive").map(\.uid)
        let everyOther = UIDSet(stride(from: 0, to: archive.count, by: 2).map { archive[$0] })
        #expect(try await db.expunge(in: "Archive", uids: everyOther).count == 575)
        #expect(try await db.messages(in: "Archive", changedSince: 0).count == 575)
    }
}

@Suite("Appending in one transaction")
struct BatchAppendTests {
    let dir = TemporaryDirectory()

    @Test("several messages in one transaction: consecutive UIDs, one MODSEQ, one change, all or none under quota")
    func batch() async throws {
        let db = try MailboxDatabase.create(storageRoot: dir.path, mailboxID: DirectoryID.random(), dataKey: SecretBytes.random(count: 32))
        let changes = db.changes(folder: "INBOX")
        let messages = (1...3).map { sampleMessage(subject: "m\($0)") }
        let results = try await db.append(to: "INBOX", messages: messages)
        #expect(results.map(\.uid) == [1, 2, 3])
        let records = try await db.messages(in: "INBOX")
        #expect(Set(records.map(\.modSeq)).count == 1)
        for (i, m) in messages.enumerated() { #expect(try await db.messageBytes(in: "INBOX", uid: UID(i + 1)) == m) }
        var it = changes.makeAsyncIterator()
        #expect(await it.next()?.kind == .appended(uids: [1, 2, 3]))
        await #expect(throws: MailStoreError.self) {
            try await db.append(to: "INBOX", messages: messages, quotaBytes: Int64(messages.reduce(0) { $0 + $1.count }) * 2 - 1)
        }
        #expect(try await db.status(of: "INBOX").messages == 3)
    }
}

import Foundation
import GRDB
import MailboxAPI
import MailStore
import SQLiteCipher
import Testing

/// RFC 8514 save dates and RFC 8474 object ids as the store keeps them (`messages.save_date`,
/// `messages.thread_id`, content ids from a counter), and the v11 migration.
extension MailboxDatabaseTests {
    static func threaded(_ id: String, replyTo: String? = nil, subject: String) -> [UInt8] {
        Array(("From: a@example.org\r\nSubject: \(subject)\r\nMessage-ID: <\(id)>\r\n"
            + (replyTo.map { "In-Reply-To: <\($0)>\r\n" } ?? "") + "\r\nbody \(subject)\r\n").utf8)
    }

    @Test("save dates, email ids and threads: read with the states, kept by COPY and MOVE")
    func saveDatesAndObjectIDs() async throws {
        let db = try create()
        let start = Date().addingTimeInterval(-2)
        try await db.append(to: "INBOX", message: Self.threaded("a@x", subject: "one"), internalDate: Date(timeIntervalSince1970: 1_000_000))
        try await db.append(to: "INBOX", message: Self.threaded("b@x", replyTo: "a@x", subject: "two"))
        try await db.append(to: "INBOX", message: Self.threaded("c@x", subject: "three"))
        let states = try await db.messages(in: "INBOX", facts: false)
        #expect(states.count == 3)
        for s in states {
            let saved = try #require(s.saveDate)
            #expect(saved >= start && saved <= Date().addingTimeInterval(2))
            #expect(s.emailID != nil && s.threadID != nil)
        }
        #expect(states[0].threadID == states[1].threadID)
        #expect(states[2].threadID != states[0].threadID)
        #expect(Set(states.compactMap(\.emailID)).count == 3)
        // The records with facts say the same.
        let records = try await db.messages(in: "INBOX")
        #expect(records.map(\.threadID) == states.map(\.threadID))
        #expect(records.map(\.emailID) == states.map(\.emailID))
        #expect(records.map(\.saveDate) == states.map(\.saveDate))

        let copied = try await db.copy(from: "INBOX", uids: UIDSet([1]), to: "Archive")
        let moved = try await db.move(from: "INBOX", uids: UIDSet([2]), to: "Trash")
        let archived = try #require(try await db.messages(in: "Archive", uids: UIDSet([copied.mapping[0].destination]), facts: false).first)
        let trashed = try #require(try await db.messages(in: "Trash", uids: UIDSet([moved.mapping[0].destination]), facts: false).first)
        #expect(archived.emailID == states[0].emailID && archived.threadID == states[0].threadID)
        #expect(trashed.emailID == states[1].emailID && trashed.threadID == states[0].threadID)
        #expect(try #require(archived.saveDate) >= states[0].saveDate!)
        // A reply to the moved message joins its thread, wherever it is.
        try await db.append(to: "INBOX", message: Self.threaded("d@x", replyTo: "b@x", subject: "four"))
        #expect(try await db.messages(in: "INBOX", uids: UIDSet([4]), facts: false).first?.threadID == states[0].threadID)
    }

    @Test("an email id or thread id is never given again after its message is gone")
    func idsNotReused() async throws {
        let db = try create()
        try await db.append(to: "INBOX", message: Self.threaded("a@x", subject: "one"))
        let first = try #require(try await db.messages(in: "INBOX", facts: false).first)
        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet([1]), operation: .add, flags: [.deleted])
        #expect(try await db.expunge(in: "INBOX") == [1])
        try await db.maintain()  // the content and its thread are deleted
        try await db.append(to: "INBOX", message: Self.threaded("e@x", subject: "other"))
        let second = try #require(try await db.messages(in: "INBOX", facts: false).first)
        #expect(second.emailID != first.emailID)
        #expect(second.threadID != first.threadID)
    }

    @Test("v11-save-date-thread: stored messages get their thread, and no save date")
    func saveDateMigration() async throws {
        let db = try create()
        try await db.append(to: "INBOX", message: Self.threaded("a@x", subject: "one"))
        try await db.append(to: "INBOX", message: Self.threaded("b@x", replyTo: "a@x", subject: "two"))
        try db.close()
        // Back to a version 10 file: no save_date or thread_id columns.
        let again = try await reopened(after: """
            ALTER TABLE messages DROP COLUMN save_date;
            ALTER TABLE messages DROP COLUMN thread_id;
            DELETE FROM grdb_migrations WHERE identifier = 'v11-save-date-thread';
            """)
        let states = try await again.messages(in: "INBOX", facts: false)
        #expect(states.map(\.saveDate) == [nil, nil])
        #expect(states[0].threadID != nil && states[0].threadID == states[1].threadID)
        // New messages have save dates; copies of old ones too (a copy is saved now).
        try await again.append(to: "INBOX", message: Self.threaded("c@x", replyTo: "a@x", subject: "three"))
        _ = try await again.copy(from: "INBOX", uids: UIDSet([1]), to: "Archive")
        let after = try await again.messages(in: "INBOX", uids: UIDSet([3]), facts: false)
        #expect(after.first?.saveDate != nil && after.first?.threadID == states[0].threadID)
        #expect(try await again.messages(in: "Archive", facts: false).first?.saveDate != nil)
    }

    @Test("replace: the new message in and the old one out in one transaction; nothing changes when it fails")
    func replaceInOneTransaction() async throws {
        let db = try create()
        let v1 = sampleMessage(subject: "v1"), v2 = sampleMessage(subject: "v2")
        try await db.append(to: "Drafts", message: v1)
        let r = try await db.replace(in: "Drafts", uid: 1, with: AppendRequest(folder: "Drafts", message: v2, flags: [.draft]))
        #expect(r.uid == 2)
        #expect(try await db.messages(in: "Drafts").map(\.uid) == [2])
        #expect(try await db.messages(in: "Drafts").first?.flags == [.draft])
        #expect(try await db.expunged(in: "Drafts", since: 0) == [1])
        #expect(try await db.messageBytes(in: "Drafts", uid: 2) == v2)
        let v3 = AppendRequest(folder: "Drafts", message: sampleMessage(subject: "v3", attachmentBytes: 5_000))
        await #expect(throws: MailStoreError(.noSuchFolder, "no such folder")) {
            try await db.replace(in: "Drafts", uid: 2, with: AppendRequest(folder: "Nowhere", message: v1))
        }
        await #expect(throws: MailStoreError(.noSuchMessage, "no such message")) { try await db.replace(in: "Drafts", uid: 1, with: v3) }
        await #expect(throws: MailStoreError(.overQuota, "mailbox is over its storage quota")) {
            try await db.replace(in: "Drafts", uid: 2, with: v3, quotaBytes: Int64(v2.count + 100))
        }
        #expect(try await db.messages(in: "Drafts").map(\.uid) == [2])
        #expect(try await db.usage() == Int64(v2.count))
        // Within the quota when the old message's bytes are counted out.
        _ = try await db.replace(in: "Drafts", uid: 2, with: AppendRequest(folder: "Archive", message: v1), quotaBytes: Int64(v1.count))
        #expect(try await db.messages(in: "Drafts").isEmpty)
        #expect(try await db.messages(in: "Archive").count == 1)
    }
}

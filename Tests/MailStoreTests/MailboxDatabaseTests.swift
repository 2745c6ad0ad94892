import Directory
import Foundation
import GRDB
import MailboxAPI
import MIMEParser
import MailStore
import SQLiteCipher
import Testing

@Suite("Mailbox database")
struct MailboxDatabaseTests {
    let dir = TemporaryDirectory()
    let key = SecretBytes.random(count: 32)
    let id = DirectoryID.random()

    func create() throws -> MailboxDatabase {
        try MailboxDatabase.create(storageRoot: dir.path, mailboxID: id, dataKey: key)
    }

    @Test("file is named by a random id under a 2-hex shard, never by the address")
    func fileNaming() throws {
        let db = try create()
        #expect(db.path == "\(dir.path)/\(id.prefix(2))/\(id).sqlite")
        #expect(FileManager.default.fileExists(atPath: db.path))
    }

    @Test("runs on sqlite3mc with chacha20 and the Sealbox pragmas")
    func pragmas() throws {
        let db = try create()
        try db.close()
        let queue = try EncryptedDatabase.openQueue(path: MailboxDatabase.filePath(storageRoot: dir.path, mailboxID: id), key: key)
        try queue.read { db in
            let v = try EncryptedDatabase.versions(db)
            #expect(v.sqlite3mc.contains("Multiple Ciphers"))
            #expect(try String.fetchOne(db, sql: "PRAGMA cipher") == "chacha20")
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Int.fetchOne(db, sql: "PRAGMA busy_timeout") == 5000)
            #expect(try Int.fetchOne(db, sql: "PRAGMA synchronous") == 1)
            #expect(try Int.fetchOne(db, sql: "PRAGMA foreign_keys") == 1)
            #expect(try Int.fetchOne(db, sql: "PRAGMA secure_delete") == 1)
            #expect(try Int.fetchOne(db, sql: "PRAGMA temp_store") == 2)
            #expect(try String.fetchOne(db, sql: "PRAGMA encoding") == "UTF-8")
        }
    }

    @Test("the standard folders exist from the first unlock, with their special-use flags")
    func defaultFolders() async throws {
        let db = try create()
        let folders = try await db.folders()
        let byPath = Dictionary(uniqueKeysWithValues: folders.map { ($0.path, $0.specialUse) })
        #expect(Set(byPath.keys) == ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"])
        #expect(byPath["Drafts"] == .drafts && byPath["Sent"] == .sent && byPath["Trash"] == .trash)
        #expect(byPath["Junk"] == .junk && byPath["Archive"] == .archive && byPath["INBOX"] == .some(nil))
        #expect(Set(folders.map(\.uidValidity)).count == folders.count)
    }

    @Test("a wrong key refuses to open; nothing is changed")
    func wrongKey() throws {
        let db = try create()
        try db.close()
        let before = FileManager.default.contents(atPath: db.path)
        #expect(throws: EncryptedDatabase.Failure.self) {
            _ = try MailboxDatabase.open(storageRoot: dir.path, mailboxID: id, dataKey: SecretBytes.random(count: 32))
        }
        #expect(FileManager.default.contents(atPath: db.path) == before)
    }

    @Test("append returns ascending UIDs and the exact bytes come back")
    func appendAndFetch() async throws {
        let db = try create()
        let m1 = sampleMessage(subject: "one"), m2 = sampleMessage(subject: "two", attachmentBytes: 40_000)
        let r1 = try await db.append(to: "INBOX", message: m1)
        let r2 = try await db.append(to: "inbox", message: m2, flags: [.seen], keywords: ["$Important"])
        #expect(r1.uid == 1 && r2.uid == 2 && r1.uidValidity == r2.uidValidity)
        #expect(try await db.messageBytes(in: "INBOX", uid: 1) == m1)
        #expect(try await db.messageBytes(in: "INBOX", uid: 2) == m2)
        let records = try await db.messages(in: "INBOX")
        #expect(records.map(\.uid) == [1, 2])
        #expect(records[1].flags == [.seen] && records[1].keywords == ["$Important"])
        #expect(records[0].size == m1.count)
        let status = try await db.status(of: "INBOX")
        #expect(status.messages == 2 && status.unseen == 1 && status.uidNext == 3 && status.recent == 2)
        #expect(try await db.usage() == Int64(m1.count + m2.count))
    }

    @Test("an attachment received many times is stored once and released with its last message")
    func deduplication() async throws {
        let db = try create()
        let a = sampleMessage(subject: "first", attachmentBytes: 100_000, seed: 1)
        let b = sampleMessage(subject: "second", body: "other text", attachmentBytes: 100_000, seed: 1)
        try await db.append(to: "INBOX", message: a)
        try await db.append(to: "INBOX", message: b)
        try await db.append(to: "Archive", message: a)  // same bytes: one content, two references
        try db.close()
        let reopened = try MailboxDatabase.open(storageRoot: dir.path, mailboxID: id, dataKey: key)
        #expect(try await reopened.messageBytes(in: "INBOX", uid: 1) == a)
        #expect(try await reopened.messageBytes(in: "INBOX", uid: 2) == b)
        #expect(try await reopened.messageBytes(in: "Archive", uid: 1) == a)
        try reopened.close()

        let counts = try withRawQueue { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM parts")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM contents")!)
        }
        #expect(counts == (1, 2))

        let db2 = try MailboxDatabase.open(storageRoot: dir.path, mailboxID: id, dataKey: key)
        _ = try await db2.storeFlags(in: "INBOX", uids: .all, operation: .add, flags: [.deleted])
        #expect(try await db2.expunge(in: "INBOX") == [1, 2])
        #expect(try await db2.messageBytes(in: "Archive", uid: 1) == a)
        _ = try await db2.storeFlags(in: "Archive", uids: .all, operation: .add, flags: [.deleted])
        try await db2.expunge(in: "Archive")
        try await db2.maintain()  // contents and parts go in the pass after the expunge
        try db2.close()
        let after = try withRawQueue { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM parts")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM contents")!,
             try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'usage_bytes'")!)
        }
        #expect(after == (0, 0, 0))
    }

    func withRawQueue<T>(_ body: (Database) throws -> T) throws -> T {
        let q = try EncryptedDatabase.openQueue(path: MailboxDatabase.filePath(storageRoot: dir.path, mailboxID: id), key: key)
        return try q.read(body)
    }

    @Test("STORE changes flags with one new MODSEQ and honours UNCHANGEDSINCE")
    func storeFlags() async throws {
        let db = try create()
        for i in 1...3 { try await db.append(to: "INBOX", message: sampleMessage(subject: "m\(i)")) }
        let start = try await db.status(of: "INBOX").highestModSeq
        let r = try await db.storeFlags(in: "INBOX", uids: UIDSet([1...2]), operation: .add, flags: [.seen, .flagged], keywords: ["work"])
        #expect(r.updated.map(\.uid) == [1, 2])
        #expect(r.updated.allSatisfy { $0.modSeq == start + 1 && $0.flags == [.seen, .flagged] && $0.keywords == ["work"] })
        // No-op: nothing changes, MODSEQ stays.
        let noop = try await db.storeFlags(in: "INBOX", uids: UIDSet([1...2]), operation: .add, flags: [.seen])
        #expect(noop.updated.isEmpty)
        #expect(try await db.status(of: "INBOX").highestModSeq == start + 1)
        // UNCHANGEDSINCE below message 1's MODSEQ: reported as modified, not changed.
        let cond = try await db.storeFlags(in: "INBOX", uids: UIDSet([1...3]), operation: .remove, flags: [.seen], unchangedSince: start)
        #expect(cond.modified == [1, 2] && cond.updated.map(\.uid) == [])
        let replace = try await db.storeFlags(in: "INBOX", uids: UIDSet([1]), operation: .replace, flags: [.answered], keywords: [])
        #expect(replace.updated.first?.flags == [.answered] && replace.updated.first?.keywords == [])
        #expect(try await db.messages(in: "INBOX", changedSince: start + 1).map(\.uid) == [1])
    }

    @Test("COPY keeps flags and maps UIDs; MOVE expunges the source and logs it")
    func copyMove() async throws {
        let db = try create()
        let originals = (1...4).map { sampleMessage(subject: "m\($0)") }
        for (i, m) in originals.enumerated() { try await db.append(to: "INBOX", message: m, flags: i == 1 ? [.flagged] : []) }
        let copy = try await db.copy(from: "INBOX", uids: UIDSet([2...3]), to: "Archive")
        #expect(copy.mapping.map(\.source) == [2, 3] && copy.mapping.map(\.destination) == [1, 2])
        #expect(try await db.messages(in: "Archive").first?.flags == [.flagged])
        let before = try await db.status(of: "INBOX").highestModSeq
        let move = try await db.move(from: "INBOX", uids: UIDSet([1, 4]), to: "Trash")
        #expect(move.mapping.map(\.destination) == [1, 2])
        #expect(try await db.messages(in: "INBOX").map(\.uid) == [2, 3])
        #expect(try await db.expunged(in: "INBOX", since: before) == [1, 4])
        #expect(try await db.messageBytes(in: "Trash", uid: 2) == originals[3])
        #expect(try await db.messageBytes(in: "Archive", uid: 1) == originals[1])
    }

    @Test("EXPUNGE removes only \\Deleted messages (optionally within a UID set)")
    func expunge() async throws {
        let db = try create()
        for i in 1...5 { try await db.append(to: "INBOX", message: sampleMessage(subject: "m\(i)")) }
        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet([2, 3, 5]), operation: .add, flags: [.deleted])
        #expect(try await db.expunge(in: "INBOX", uids: UIDSet([1...3])) == [2, 3])
        #expect(try await db.expunge(in: "INBOX") == [5])
        #expect(try await db.messages(in: "INBOX").map(\.uid) == [1, 4])
        #expect(try await db.status(of: "INBOX").uidNext == 6)
    }

    @Test("folders: create, rename with children, INBOX rename, delete, subscribe")
    func folders() async throws {
        let db = try create()
        try await db.createFolder("Work")
        try await db.createFolder("Work/2026")
        try await db.append(to: "Work/2026", message: sampleMessage(subject: "deep"))
        await #expect(throws: MailStoreError.self) { try await db.createFolder("Work") }
        await #expect(throws: MailStoreError.self) { try await db.createFolder("bad//name") }
        try await db.renameFolder("Work", to: "Projects")
        #expect(try await db.folder("Projects/2026") != nil)
        #expect(try await db.folder("Work") == nil)
        #expect(try await db.messages(in: "Projects/2026").count == 1)

        try await db.append(to: "INBOX", message: sampleMessage(subject: "in inbox"))
        try await db.renameFolder("INBOX", to: "Old Inbox")
        #expect(try await db.status(of: "INBOX").messages == 0)
        #expect(try await db.status(of: "Old Inbox").messages == 1)
        #expect(try await db.status(of: "INBOX").uidNext == 2)  // UIDs are never reused

        await #expect(throws: MailStoreError.self) { try await db.deleteFolder("INBOX") }
        try await db.deleteFolder("Projects/2026")
        #expect(try await db.folder("Projects/2026") == nil)
        #expect(try await db.usage() == Int64(sampleMessage(subject: "in inbox").count))

        try await db.setSubscribed("Projects", false)
        #expect(try await db.folder("Projects")?.subscribed == false)
    }

    /// RFC 3501 §6.3.3/§6.3.4: CREATE does not subscribe, DELETE does not unsubscribe (a folder
    /// created again under that name is subscribed again); the default folders are subscribed.
    @Test("subscriptions: default folders subscribed, created ones not, kept past a delete")
    func subscriptions() async throws {
        let db = try create()
        #expect(try await db.subscriptions() == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"])
        #expect(try await db.folder("Sent")?.subscribed == true)
        try await db.createFolder("Work")
        #expect(try await db.folder("Work")?.subscribed == false)
        try await db.setSubscribed("Work", true)
        try await db.deleteFolder("Work")
        #expect(try await db.subscriptions().contains("Work"))
        await #expect(throws: MailStoreError.self) { try await db.setSubscribed("Work", true) }
        #expect(try await db.createFolder("Work").subscribed == true)
        try await db.renameFolder("Work", to: "Play")
        let renamed = try await db.subscriptions()
        #expect(renamed.contains("Play") && !renamed.contains("Work"))
        try await db.deleteFolder("Play")
        try await db.setSubscribed("Play", false)
        #expect(try await !db.subscriptions().contains("Play"))
    }

    @Test("v9-subscriptions carries over the subscribed column")
    func subscriptionsMigration() async throws {
        try create().close()
        // Back to a version 8 file: no subscriptions table, Junk unsubscribed, one more folder subscribed.
        let db = try await reopened(after: """
            DROP TABLE subscriptions;
            DELETE FROM grdb_migrations WHERE identifier = 'v9-subscriptions';
            UPDATE folders SET subscribed = 0 WHERE path = 'Junk';
            INSERT INTO folders(path, uid_validity, uid_next, highest_modseq, recent_uid, subscribed, created)
            VALUES ('Old', 99, 1, 1, 1, 1, '2026-01-01T00:00:00Z');
            """)
        #expect(try await db.subscriptions() == ["Archive", "Drafts", "INBOX", "Old", "Sent", "Trash"])
        #expect(try await db.folder("Junk")?.subscribed == false)
    }

    static let zoned = Array("From: Friends: ann@example.org, bob@example.org;\r\nSubject: s\r\nDate: Mon, 1 Dec 2025 23:30:00 -0500\r\n\r\nx\r\n".utf8)

    /// RFC 3501 §6.4.4: the Date: header's day as written (not the UTC instant's) for SENT*; an
    /// address column carries a group's name (SEARCH FROM "Friends").
    @Test("sent days as written and group names in the address columns")
    func sentDaysAndGroups() async throws {
        let db = try create()
        try await db.append(to: "INBOX", message: Self.zoned)
        try await db.append(to: "INBOX", message: sampleMessage(subject: "plain"))
        try await db.append(to: "INBOX", message: Array("Subject: no date\r\n\r\nx\r\n".utf8))
        let days = try await db.sentDays(in: "INBOX")
        #expect(days[1] == CivilDate.daysSinceEpoch(year: 2025, month: 12, day: 1))
        #expect(days[3] == nil)
        let fields = try await db.searchFields(in: "INBOX", uids: UIDSet([1]), includeHeader: false)
        #expect(fields.first?.from == "Friends: <ann@example.org>, <bob@example.org>")
    }

    @Test("v10-sent-day fills the sent days and group names of stored messages")
    func sentDayMigration() async throws {
        let db = try create()
        try await db.append(to: "INBOX", message: Self.zoned)
        try await db.append(to: "INBOX", message: sampleMessage(subject: "plain"))
        let before = try await db.searchFields(in: "INBOX", uids: nil, includeHeader: false).map(\.from)
        try db.close()
        // Back to a version 9 file: no content_dates, address columns without group names.
        let again = try await reopened(after: """
            DROP TABLE content_dates;
            DELETE FROM grdb_migrations WHERE identifier = 'v10-sent-day';
            UPDATE contents SET from_addr = '<ann@example.org>, <bob@example.org>' WHERE from_addr LIKE 'Friends:%';
            """)
        #expect(try await again.sentDays(in: "INBOX")[1] == CivilDate.daysSinceEpoch(year: 2025, month: 12, day: 1))
        #expect(try await again.sentDays(in: "INBOX")[2] != nil)
        #expect(try await again.searchFields(in: "INBOX", uids: nil, includeHeader: false).map(\.from) == before)
    }

    @Test("a deleted and re-created folder gets a new UIDVALIDITY")
    func uidValidity() async throws {
        let db = try create()
        let first = try await db.createFolder("X").uidValidity
        try await db.deleteFolder("X")
        #expect(try await db.createFolder("X").uidValidity != first)
    }

    @Test("\\Recent is claimed by one session only")
    func recent() async throws {
        let db = try create()
        for i in 1...2 { try await db.append(to: "INBOX", message: sampleMessage(subject: "m\(i)")) }
        #expect(try await db.claimRecent(in: "INBOX") == [1, 2])
        #expect(try await db.claimRecent(in: "INBOX") == [])
        try await db.append(to: "INBOX", message: sampleMessage(subject: "m3"))
        #expect(try await db.status(of: "INBOX").recent == 1)
    }

    @Test("quota refuses an append that would exceed it")
    func quota() async throws {
        let db = try create()
        let m = sampleMessage(subject: "q")
        try await db.append(to: "INBOX", message: m, quotaBytes: Int64(m.count * 2))
        try await db.append(to: "INBOX", message: m, quotaBytes: Int64(m.count * 2))
        await #expect(throws: MailStoreError(.overQuota, "mailbox is over its storage quota")) {
            try await db.append(to: "INBOX", message: m, quotaBytes: Int64(m.count * 2))
        }
    }

    @Test("sessions are told of appends, flag changes and expunges")
    func notifications() async throws {
        let db = try create()
        let stream = db.changes(folder: "INBOX")
        let origin = UUID()
        try await db.append(to: "Archive", message: sampleMessage(subject: "elsewhere"))
        try await db.append(to: "INBOX", message: sampleMessage(subject: "here"), origin: origin)
        _ = try await db.storeFlags(in: "INBOX", uids: .all, operation: .add, flags: [.deleted])
        try await db.expunge(in: "INBOX")
        var kinds: [MailboxChange.Kind] = []
        for await change in stream {
            #expect(change.folder == "INBOX")
            kinds.append(change.kind)
            if kinds.count == 3 { break }
        }
        #expect(kinds == [.appended(uids: [1]), .flagsChanged(uids: [1]), .expunged(uids: [1])])
    }

    @Test("full-text search finds case-insensitive substrings through the index")
    func fullText() async throws {
        let db = try create()
        try await db.append(to: "INBOX", message: sampleMessage(subject: "Quarterly Report", body: "The budget is attached."))
        try await db.append(to: "INBOX", message: sampleMessage(subject: "Lunch", body: "Pizza tomorrow?"))
        #expect(try await db.fullTextSearch(in: "INBOX", text: "BUDGET", field: .body) == [1])
        #expect(try await db.fullTextSearch(in: "INBOX", text: "terly rep", field: .subject) == [1])
        #expect(try await db.fullTextSearch(in: "INBOX", text: "pizza", field: .subject) == [])
        #expect(try await db.fullTextSearch(in: "INBOX", text: "pi", field: .body) == nil)  // too short for the index
        // Every trigram of the needle occurs in message 3, but not the needle itself: confirmed away.
        try await db.append(to: "INBOX", message: sampleMessage(subject: "x", body: "budget is athens, also attached"))
        #expect(try await db.fullTextSearch(in: "INBOX", text: "budget is attached", field: .body) == [1])
        #expect(try await db.fullTextSearch(in: "INBOX", text: "alice@EXAMPLE", field: .addresses) == [1, 2, 3])
        #expect(try await db.fullTextSearch(in: "INBOX", text: "report", field: .any) == [1])
    }

    @Test("replies join their parent's thread")
    func threads() async throws {
        let db = try create()
        try await db.append(to: "INBOX", message: sampleMessage(subject: "root", messageID: "root@x"))
        try await db.append(to: "INBOX", message: sampleMessage(subject: "Re: root", messageID: "reply@x", inReplyTo: "root@x"))
        try await db.append(to: "INBOX", message: sampleMessage(subject: "other"))
        let t = try await db.messages(in: "INBOX").map(\.threadID)
        #expect(t[0] != nil && t[0] == t[1] && t[2] != t[0])
    }

    @Test("a message's text never reaches the disk in plaintext")
    func canary() async throws {
        let db = try create()
        let canary = "CANARY-\(UUID().uuidString)"
        try await db.append(to: "INBOX", message: sampleMessage(subject: canary, body: "secret \(canary) body", attachmentBytes: 20_000))
        for (path, bytes) in dir.allFileContents() {
            #expect(!bytes.contains(subsequence: Array(canary.utf8)), "canary found in \(path)")
        }
        try db.close()
        for (path, bytes) in dir.allFileContents() {
            #expect(!bytes.contains(subsequence: Array(canary.utf8)), "canary found in \(path)")
        }
    }

    @Test("an expunged message cannot be read back with the key: no page of the file holds it after a checkpoint")
    func expungedIsUnrecoverable() async throws {
        let db = try create()
        let canary = "CANARY-\(UUID().uuidString)"
        // ~100 KB of text (overflow pages) and an attachment, between other messages sharing no part.
        let text = String(repeating: "secret \(canary) line\r\n", count: 2_000)
        for i in 1...10 { try await db.append(to: "INBOX", message: sampleMessage(subject: "before \(i)", attachmentBytes: 5_000, seed: UInt8(i))) }
        let target = try await db.append(to: "INBOX", message: sampleMessage(subject: canary, body: text, attachmentBytes: 30_000, seed: 99))
        for i in 11...20 { try await db.append(to: "INBOX", message: sampleMessage(subject: "after \(i)", attachmentBytes: 5_000, seed: UInt8(i))) }
        // Derived bytes kept with it (as IMAP keeps an encoded ENVELOPE) go with it too.
        let derivedCanary = Array("DERIVED-\(canary)".utf8)
        try await db.keepDerived("test.envelope", in: "INBOX", values: [target.uid: derivedCanary])
        #expect(try await db.derived(["test.envelope"], in: "INBOX", uids: UIDSet([target.uid...target.uid]))["test.envelope"]?[target.uid] == derivedCanary)
        try await db.checkpoint()
        #expect(try pagesHolding(canary, in: db.path) > 0)
        #expect(try pagesHolding("DERIVED-\(canary)", in: db.path) > 0)
        // Its text body is stored compressed (BlobCodec): a piece of each stored part, as stored, is
        // looked for too (the canary's text is not in it as such).
        let reader = try EncryptedDatabase.openQueue(path: db.path, key: key, readonly: true)
        let stored = try await reader.read { db in
            try Data.fetchAll(db, sql: """
                SELECT p.data FROM parts p JOIN content_parts cp ON cp.part_id = p.id JOIN messages m ON m.content_id = cp.content_id
                WHERE m.uid = ?
                """, arguments: [target.uid])
        }.map { (blob: Data) -> [UInt8] in
            let start = blob.startIndex + blob.count / 3
            return Array(blob[start..<(start + min(48, blob.count / 3))])
        }
        try reader.close()
        #expect(stored.count == 2)  // the text and the attachment (its layout holds boundaries every message here has)
        for piece in stored { #expect(try pagesHolding(bytes: piece, in: db.path) > 0) }

        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet([target.uid...target.uid]), operation: .add, flags: [.deleted])
        #expect(try await db.expunge(in: "INBOX") == [target.uid])
        try await db.maintain()  // the pass the expunge started, awaited
        // The pass empties the WAL (which still held the pages' earlier versions) when no reader needs it.
        let wal = try FileManager.default.attributesOfItem(atPath: db.path + "-wal")[.size] as? Int
        #expect(wal == 0)
        try await db.checkpoint()
        #expect(try pagesHolding(canary, in: db.path) == 0)
        for piece in stored { #expect(try pagesHolding(bytes: piece, in: db.path) == 0) }
        #expect(try await db.messages(in: "INBOX").count == 20)
        #expect(try await db.derived(["test.envelope"], in: "INBOX", uids: .all).isEmpty)
    }

    @Test("derived bytes: kept per content (shared by a copy), replaced by kind, read by UID for the asked kinds only")
    func derivedBytes() async throws {
        let db = try create()
        let a = try await db.append(to: "INBOX", message: sampleMessage(subject: "a"))
        let b = try await db.append(to: "INBOX", message: sampleMessage(subject: "b"))
        try await db.keepDerived("k1", in: "INBOX", values: [a.uid: [1, 2, 3], b.uid: []])
        try await db.keepDerived("k2", in: "INBOX", values: [a.uid: [9]])
        try await db.keepDerived("k1", in: "INBOX", values: [a.uid: [4]])
        let found = try await db.derived(["k1"], in: "INBOX", uids: .all)
        #expect(found == ["k1": [a.uid: [4], b.uid: []]])
        let copy = try await db.copy(from: "INBOX", uids: UIDSet([a.uid...a.uid]), to: "Archive")
        let copied = try #require(copy.mapping.first?.destination)
        #expect(try await db.derived(["k1", "k2"], in: "Archive", uids: .all) == ["k1": [copied: [4]], "k2": [copied: [9]]])
        try await db.keepDerived("k1", in: "INBOX", values: [999: [1]])  // no such message: nothing kept
        #expect(try await db.derived(["k1"], in: "INBOX", uids: UIDSet([999...999])).isEmpty)
    }

    @Test("a states read brings the bytes of the messages the prefetch admits: in UID order, under its size, count and byte budget")
    func statesWithBytes() async throws {
        let db = try create()
        var uids: [UID] = []
        for i in 0..<6 {
            uids.append(try await db.append(to: "INBOX", message: sampleMessage(subject: "m\(i)", body: String(repeating: "x", count: 1_000 * (i + 1)))).uid)
        }
        let sizes = try await db.messages(in: "INBOX").map(\.size)
        // Below the 4th message's size, at most 5, and no more than the first two's bytes + 1.
        let prefetch = BytesPrefetch(below: sizes[3], count: 5, total: sizes[0] + sizes[1] + 1)
        let (records, bytes) = try await db.messages(in: "INBOX", uids: .all, changedSince: nil, facts: false, prefetch: prefetch)
        #expect(records.map(\.uid) == uids)
        #expect(Set(bytes.keys) == [uids[0], uids[1]])
        for uid in bytes.keys { #expect(bytes[uid] == (try await db.messageBytes(in: "INBOX", uid: uid))) }
        let batch = try await db.messageBytes(in: "INBOX", uids: UIDSet([uids[2]...uids[5]]), prefetch: BytesPrefetch(below: .max, count: 2, total: .max))
        #expect(Set(batch.keys) == [uids[2], uids[3]])
        // One message over the budget is still taken when it comes first (the caller progresses).
        #expect(BytesPrefetch(below: .max, count: 10, total: 5).select([(uid: 1, size: 50), (uid: 2, size: 1)]) == [1])
    }

    @Test("a mailbox closed right after an EXPUNGE keeps nothing of the message (close finishes the pass)")
    func closeFinishesThePass() async throws {
        let db = try create()
        let canary = "CANARY-\(UUID().uuidString)"
        let text = String(repeating: "secret \(canary) line\r\n", count: 500)
        for i in 1...5 { try await db.append(to: "INBOX", message: sampleMessage(subject: "other \(i)", seed: UInt8(i))) }
        let target = try await db.append(to: "INBOX", message: sampleMessage(subject: canary, body: text, attachmentBytes: 10_000, seed: 77))
        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet([target.uid...target.uid]), operation: .add, flags: [.deleted])
        #expect(try await db.expunge(in: "INBOX") == [target.uid])
        try db.close()
        #expect(try pagesHolding(canary, in: db.path) == 0)
    }

    @Test("after expunging half of a mailbox and a maintenance pass, the file is at most 1.3 x a fresh import of what is left")
    func fileShrinks() async throws {
        let messages = (0..<240).map { i in
            sampleMessage(subject: "message \(i)", body: String(repeating: "text of \(i) ", count: 400),
                          attachmentBytes: 12_000 + 53 * i, seed: UInt8(i % 256))
        }
        let db = try create()
        _ = try await db.append(to: "INBOX", messages: messages)
        try await db.checkpoint()
        let full = try fileSize(db.path)
        let doomed = stride(from: 1, through: messages.count, by: 2).map { UID($0)...UID($0) }
        _ = try await db.storeFlags(in: "INBOX", uids: UIDSet(doomed), operation: .add, flags: [.deleted])
        #expect(try await db.expunge(in: "INBOX").count == messages.count / 2)
        try await db.maintain()  // the pass the expunge started may be running: they take turns
        try await db.checkpoint()
        let shrunk = try fileSize(db.path)

        let fresh = try MailboxDatabase.create(storageRoot: dir.path + "/fresh", mailboxID: DirectoryID.random(), dataKey: key)
        _ = try await fresh.append(to: "INBOX", messages: messages.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
        try await fresh.checkpoint()
        let reference = try fileSize(fresh.path)
        #expect(Double(shrunk) <= 1.3 * Double(reference), "\(full) -> \(shrunk) bytes; a fresh import: \(reference)")
        #expect(try await db.messages(in: "INBOX").count == messages.count / 2)
        // What is left still reads back whole.
        for record in try await db.messages(in: "INBOX") {
            #expect(try await db.messageBytes(in: "INBOX", uid: record.uid) == messages[Int(record.uid) - 1])
        }
    }

    func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }

    /// Pages of the database file (decrypted with the key, freelist pages included) that hold `text`.
    /// The closed mailbox file changed by `sql` (written to undo a migration), then opened again:
    /// the migrations run on it as at an upgrade.
    func reopened(after sql: String) async throws -> MailboxDatabase {
        let queue = try EncryptedDatabase.openQueue(path: MailboxDatabase.filePath(storageRoot: dir.path, mailboxID: id), key: key)
        try await queue.write { db in try db.execute(sql: sql) }
        try queue.close()
        return try MailboxDatabase.open(storageRoot: dir.path, mailboxID: id, dataKey: key)
    }

    func pagesHolding(_ text: String, in path: String) throws -> Int {
        try pagesHolding(bytes: Array(text.utf8), in: path)
    }

    func pagesHolding(bytes needle: [UInt8], in path: String) throws -> Int {
        let queue = try EncryptedDatabase.openQueue(path: path, key: key, readonly: true)
        return try queue.read { db in
            var count = 0
            let rows = try Row.fetchCursor(db, sql: "SELECT data FROM sqlite_dbpage")
            while let row = try rows.next() {
                let page = [UInt8](row["data"] as Data)
                if page.contains(subsequence: needle) { count += 1 }
            }
            return count
        }
    }

    @Test("a flipped byte in a page is an error, never wrong data")
    func tamperDetection() async throws {
        let db = try create()
        for i in 1...30 { try await db.append(to: "INBOX", message: sampleMessage(subject: "m\(i)", attachmentBytes: 3_000, seed: UInt8(i))) }
        try await db.checkpoint()
        try db.close()
        let path = db.path
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        let pageSize = 4096
        #expect(bytes.count > pageSize * 8)
        // Flip one byte in the middle of every page after the first: any read touching one must fail.
        for page in stride(from: pageSize, to: bytes.count, by: pageSize) { bytes[page + 1000] ^= 0x01 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
        var failed = false
        do {
            let reopened = try MailboxDatabase.open(storageRoot: dir.path, mailboxID: id, dataKey: key)
            for uid in UID(1)...30 { _ = try await reopened.messageBytes(in: "INBOX", uid: uid) }
        } catch {
            failed = true
        }
        #expect(failed)
    }

    @Test("one writer with concurrent readers: readers see consistent snapshots while appends run")
    func concurrency() async throws {
        let db = try create()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 1...60 { try await db.append(to: "INBOX", message: sampleMessage(subject: "c\(i)")) }
            }
            for _ in 0..<3 {
                group.addTask {
                    for _ in 0..<40 {
                        let records = try await db.messages(in: "INBOX")
                        // UIDs are always 1...n with no gap: never a half-written state.
                        #expect(records.map(\.uid) == Array(UID(1)...UID(max(records.count, 1))).prefix(records.count).map { $0 })
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await db.status(of: "INBOX").messages == 60)
    }
}

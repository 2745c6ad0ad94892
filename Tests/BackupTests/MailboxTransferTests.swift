import Foundation
import MailArchive
import MailboxAPI
import MailCore
import MailStore
import SealboxApp
import Testing

@Suite("export and import")
struct MailboxTransferTests {
    /// A mailbox with mail in two folders, varied flags and keywords.
    func populated(_ h: BackupHarness) async throws -> any MailboxSession {
        let address = try EmailAddress(h.address)
        for n in 1...4 { try await h.deliver(n) }
        let session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        let uids = try await session.messages(in: "INBOX", uids: nil, changedSince: nil).map(\.uid)
        _ = try await session.storeFlags(in: "INBOX", uids: UIDSet([uids[0]]), operation: .add, flags: [.seen, .answered], keywords: [], unchangedSince: nil)
        _ = try await session.storeFlags(in: "INBOX", uids: UIDSet([uids[1]]), operation: .add, flags: [.flagged], keywords: ["$Forwarded"], unchangedSince: nil)
        _ = try await session.append(to: "Archive", message: Array("From: x@example.org\r\nSubject: archived\r\n\r\nFrom the archive\r\n>From quoted\r\n".utf8),
                                     flags: [.seen], keywords: [], internalDate: Date(timeIntervalSince1970: 1_700_000_000))
        return session
    }

    struct Item: Equatable { var bytes: [UInt8]; var flags: MessageFlags; var keywords: [String]; var date: Date }

    func contents(_ session: any MailboxSession, _ folder: String) async throws -> [Item] {
        var items: [Item] = []
        for r in try await session.messages(in: folder, uids: nil, changedSince: nil) {
            items.append(Item(bytes: try await session.messageBytes(in: folder, uid: r.uid) ?? [], flags: r.flags, keywords: r.keywords.sorted(),
                              date: Date(timeIntervalSince1970: r.internalDate.timeIntervalSince1970.rounded())))
        }
        return items
    }

    @Test("mbox export then import into a new mailbox gives the same messages, flags and dates; a second import adds nothing")
    func mboxRoundTrip() async throws {
        let h = try await BackupHarness()
        let session = try await populated(h)
        let out = h.root + "/export-mbox"
        let summary = try await MailboxTransfer.export(session: session, format: .mbox, to: out)
        #expect(summary.messages == 5)
        #expect(FileManager.default.fileExists(atPath: out + "/INBOX.mbox"))
        #expect(FileManager.default.fileExists(atPath: out + "/Archive.mbox"))

        // A second mailbox on the same node.
        let other = try await h.node.directory.addAlias(try EmailAddress("copy@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let otherPassword = try await h.node.mailboxes.createMailbox(for: other, label: nil).password
        let target = try await h.node.mailboxes.unlock(address: other.address, password: otherPassword)
        let first = try await MailboxTransfer.importMBox(session: target, path: out + "/INBOX.mbox", folder: "INBOX")
        #expect(first.messages == 4 && first.duplicates == 0)
        _ = try await MailboxTransfer.importMBox(session: target, path: out + "/Archive.mbox", folder: "Archive")
        let again = try await MailboxTransfer.importMBox(session: target, path: out + "/INBOX.mbox", folder: "INBOX")
        #expect(again.messages == 0 && again.duplicates == 4)
        for folder in ["INBOX", "Archive"] {
            #expect(try await contents(target, folder) == (try await contents(session, folder)), "\(folder)")
        }
        await target.close()
        await session.close()
        await h.cleanUp()
    }

    @Test("eml-zip export holds every message, one directory per folder")
    func emlZip() async throws {
        let h = try await BackupHarness()
        let session = try await populated(h)
        let out = h.root + "/export.zip"
        let summary = try await MailboxTransfer.export(session: session, format: .emlZip, to: out)
        #expect(summary.messages == 5 && summary.folders >= 2)
        let entries = try EMLZipReader.read(path: out).map { ($0.folder, $0.message) }
        #expect(entries.filter { $0.0 == "INBOX" }.count == 4)
        #expect(entries.filter { $0.0 == "Archive" }.count == 1)
        await session.close()
        await h.cleanUp()
    }

    @Test("a Maildir with Maildir++ subfolders: folders, flags and dates kept; a second import adds nothing")
    func maildir() async throws {
        let h = try await BackupHarness()
        let root = h.root + "/Maildir"
        let fm = FileManager.default
        func write(_ folder: String, _ name: String, _ body: String, sub: String = "cur") throws {
            let dir = root + (folder.isEmpty ? "" : "/" + folder) + "/" + sub
            for d in ["cur", "new", "tmp"] { try fm.createDirectory(atPath: root + (folder.isEmpty ? "" : "/" + folder) + "/" + d, withIntermediateDirectories: true) }
            try Data(body.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        try write("", "1700000000.M1P1.host:2,FS", "From: a@example.org\nSubject: seen and flagged\nMessage-ID: <md1@example.org>\n\nOne\n")
        try write("", "1700000100.M2P1.host", "From: b@example.org\nSubject: new\nMessage-ID: <md2@example.org>\n\nTwo\n", sub: "new")
        try write(".Archive.2024", "1600000000.M3P1.host:2,RS", "From: c@example.org\nSubject: replied\nMessage-ID: <md3@example.org>\n\nThree\n")
        let session = try await h.node.mailboxes.unlock(address: try EmailAddress(h.address), password: h.password)
        let summary = try await MailboxTransfer.importMaildir(session: session, root: root)
        #expect(summary.messages == 3 && summary.duplicates == 0)
        let inbox = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)
        #expect(inbox.count == 2)
        let seen = try #require(inbox.first { $0.subject == "seen and flagged" })
        #expect(seen.flags == [.seen, .flagged])
        #expect(seen.internalDate == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(inbox.first { $0.subject == "new" }?.flags == [])
        let archived = try await session.messages(in: "Archive/2024", uids: nil, changedSince: nil)
        #expect(archived.count == 1 && archived.first?.flags == [.seen, .answered])
        let again = try await MailboxTransfer.importMaildir(session: session, root: root)
        #expect(again.messages == 0 && again.duplicates == 3)
        await session.close()
        await h.cleanUp()
    }
}

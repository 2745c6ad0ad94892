import Backup
import BackupStore
import Directory
import Foundation
import MailboxAPI
import MailCore
import MailStore
import SealboxApp
import Synchronization
import Testing
import TestSupport

/// A node with one mailbox holding canary mail, and a backup service writing to a directory.
final class BackupHarness: Sendable {
    let root: String
    let node: SealboxNode
    let address = "canary-owner@example.com"
    let password: String
    static let canary = "CANARY-7f3e9d1c-never-in-a-backup"

    init(generations: Int = 7) async throws {
        root = NSTemporaryDirectory() + "sealbox-backup-" + UUID().uuidString
        node = try SealboxNode.open(dataDirectory: root + "/data")
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let alias = try await node.directory.addAlias(try EmailAddress(address), store: true, forwardTo: [try EmailAddress("elsewhere@example.org")],
                                                      webhooks: [], quotaBytes: 1 << 30)
        password = try await node.mailboxes.createMailbox(for: alias, label: "laptop").password
        self.generations = generations
    }
    let generations: Int

    var destinationPath: String { root + "/backups" }
    /// When set, backups go to this S3 server (moto) instead of a directory.
    nonisolated(unsafe) var s3Endpoint: String?  // set once right after init, before the harness is shared

    func destination() throws -> any BackupDestination {
        if let s3Endpoint {
            return try S3Destination(configuration: S3Configuration(bucket: "engine", prefix: "t/", endpoint: s3Endpoint,
                                                                    accessKeyID: "testing", secretAccessKey: "testing-secret", pathStyle: true))
        }
        return try DirectoryDestination(path: destinationPath)
    }

    func service(node: SealboxNode? = nil) throws -> BackupService {
        let node = node ?? self.node
        return BackupService(mailboxes: node.mailboxes, directory: node.directory, destination: try destination(),
                             configuration: .init(temporaryDirectory: node.dataDirectory + "/backup-tmp", generations: generations))
    }

    func message(_ n: Int) -> [UInt8] {
        Array("From: a@example.org\r\nTo: \(address)\r\nSubject: backup test \(n)\r\nMessage-ID: <b\(n)@example.org>\r\n\r\n\(Self.canary) body \(n)\r\n".utf8)
    }

    func deliver(_ n: Int) async throws {
        _ = try await node.mailboxes.deliver(to: try EmailAddress(address), message: message(n), internalDate: Date())
    }

    func cleanUp() async {
        await node.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Every regular file under `path`.
    static func files(under path: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
        return e.compactMap { $0 as? String }.map { path + "/" + $0 }.filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &dir) && !dir.boolValue
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        for i in 0...(haystack.count - n.count) where haystack[i] == n[0] && Array(haystack[i..<(i + n.count)]) == n { return true }
        return false
    }
}

@Suite("backups", .serialized)
struct BackupServiceTests {
    @Test("locked and unlocked snapshots upload; nothing changed uploads nothing; a change uploads a new generation")
    func changeDetection() async throws {
        let h = try await BackupHarness()
        let backups = try h.service()
        let address = try EmailAddress(h.address)
        for n in 1...3 { try await h.deliver(n) }

        // Locked (never unlocked in this process): the file itself, copied.
        guard case .uploaded(let first, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        #expect(try await backups.backUp(address: address) == .unchanged(generation: first))

        // Unlocked: the unlock moved the queued mail into the file, a change...
        let session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        guard case .uploaded(let second, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        #expect(second > first)
        // ...and a second backup with no change is recognised as unchanged.
        #expect(try await backups.backUp(address: address) == .unchanged(generation: second))
        // A flag change is a change.
        let uid = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)[0].uid
        _ = try await session.storeFlags(in: "INBOX", uids: UIDSet([uid]), operation: .add, flags: .flagged, keywords: [], unchangedSince: nil)
        guard case .uploaded(let third, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        #expect(try await backups.generations(address: address).map(\.id) == [first, second, third])
        // A new password is a change too (the keys beside the file).
        _ = try await h.node.mailboxes.addPassword(address: address, currentPassword: h.password, label: "phone")
        guard case .uploaded = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        await session.close()
        await h.cleanUp()
    }

    @Test("a backup with nothing changed reads no mail and uploads nothing, unlocked and locked; any change is seen")
    func unchangedSkip() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        for n in 1...3 { try await h.deliver(n) }
        // Every snapshot starts with the free-space check: counting its calls counts the snapshots.
        let snapshots = Mutex(0)
        var configuration = BackupService.Configuration(temporaryDirectory: h.node.dataDirectory + "/backup-tmp")
        configuration.freeSpace = { _ in snapshots.withLock { $0 += 1 }; return Int64.max }
        let destination = try h.destination()
        let backups = BackupService(mailboxes: h.node.mailboxes, directory: h.node.directory, destination: destination, configuration: configuration)
        func objects() async throws -> [StoredObject] { try await destination.list(prefix: "") }

        let session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        guard case .uploaded(let first, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        #expect(snapshots.withLock { $0 } == 1)
        let stored = try await objects()
        #expect(try await backups.destination.head(key: "mailboxes/\(try #require(try await h.node.directory.alias(address: address)?.mailboxID))/\(first)/mailbox.sqlite")?["source-stamp"] != nil)
        // Unlocked, nothing changed: no snapshot, no upload (the same objects, the same dates).
        #expect(try await backups.backUp(address: address) == .unchanged(generation: first))
        #expect(snapshots.withLock { $0 } == 1)
        #expect(try await objects() == stored)
        // A flag change made right after the backup is seen.
        let uid = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)[0].uid
        _ = try await session.storeFlags(in: "INBOX", uids: UIDSet([uid]), operation: .add, flags: .seen, keywords: [], unchangedSince: nil)
        guard case .uploaded(let second, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        #expect(snapshots.withLock { $0 } == 2)
        #expect(try await backups.backUp(address: address) == .unchanged(generation: second))
        #expect(snapshots.withLock { $0 } == 2)
        // Locked now: the file was not written since, so still nothing to read.
        await session.close()
        await h.node.mailboxes.lockAll()
        #expect(try await backups.backUp(address: address) == .unchanged(generation: second))
        #expect(snapshots.withLock { $0 } == 2)
        // Mail queued for the locked mailbox is a change (the queue is backed up beside the file)...
        try await h.deliver(4)
        guard case .uploaded(let third, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        #expect(snapshots.withLock { $0 } == 3)
        #expect(try await backups.backUp(address: address) == .unchanged(generation: third))
        #expect(snapshots.withLock { $0 } == 3)
        // ...and so is the file written by an unlock (the queued mail moves into INBOX).
        await (try await h.node.mailboxes.unlock(address: address, password: h.password)).close()
        await h.node.mailboxes.lockAll()
        guard case .uploaded = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        #expect(snapshots.withLock { $0 } == 4)
        await h.cleanUp()
    }

    @Test("retention keeps the configured number of generations")
    func retention() async throws {
        let h = try await BackupHarness(generations: 2)
        let backups = try h.service()
        let address = try EmailAddress(h.address)
        for n in 1...4 {
            try await h.deliver(n)
            let session = try await h.node.mailboxes.unlock(address: address, password: h.password)
            _ = try await backups.backUp(address: address)
            await session.close()
        }
        let generations = try await backups.generations(address: address)
        #expect(generations.count == 2)
        let stored = BackupHarness.files(under: h.destinationPath).filter { $0.contains("/mailboxes/") && !$0.hasSuffix(".meta") && !$0.contains(".meta") }
        #expect(stored.count == 6, "two generations of mailbox.sqlite, keys.json and queue.bin: \(stored)")
        await h.cleanUp()
    }

    @Test("restore into an empty data directory: the same password opens it, bytes identical, settings back")
    func restoreElsewhere() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        for n in 1...5 { try await h.deliver(n) }
        let session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        let original = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)
        var originalBytes: [[UInt8]] = []
        for r in original { originalBytes.append(try #require(try await session.messageBytes(in: "INBOX", uid: r.uid))) }
        _ = try await h.service().backUp(address: address)
        await session.close()

        // The backup holds neither the canary, the password nor the address.
        for file in BackupHarness.files(under: h.destinationPath) {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(!BackupHarness.contains(bytes, BackupHarness.canary), "canary in \(file)")
            #expect(!BackupHarness.contains(bytes, h.password), "password in \(file)")
            #expect(!BackupHarness.contains(bytes, h.address), "address in \(file)")
            #expect(!BackupHarness.contains(bytes, "elsewhere@example.org"), "forward address in \(file)")
        }

        let other = try SealboxNode.open(dataDirectory: h.root + "/restored")
        let restorer = try h.service(node: other)
        let summary = try await restorer.restore(address: address, generation: nil, password: h.password)
        #expect(summary.aliasCreated)
        #expect(summary.folders?.first { $0.0 == "INBOX" }?.1 == 5)
        let alias = try #require(try await other.directory.alias(address: address))
        #expect(alias.forwardTo.map(\.description) == ["elsewhere@example.org"])
        #expect(alias.quotaBytes == 1 << 30)
        #expect(try await other.directory.passwords(aliasID: alias.id).map(\.label) == ["laptop"])
        let restored = try await other.mailboxes.unlock(address: address, password: h.password)
        let records = try await restored.messages(in: "INBOX", uids: nil, changedSince: nil)
        #expect(records.map(\.uid) == original.map(\.uid))
        for (r, bytes) in zip(records, originalBytes) { #expect(try await restored.messageBytes(in: "INBOX", uid: r.uid) == bytes) }
        await restored.close()
        await other.shutdown()
        await h.cleanUp()
    }

    @Test("mail waiting in the sealed queue of a locked mailbox is backed up and restored, once")
    func queuedMail() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        try await h.deliver(1)
        await (try await h.node.mailboxes.unlock(address: address, password: h.password)).close()
        await h.node.mailboxes.lockAll()
        // Locked: the WAL was merged on close, so the file alone is the mailbox.
        let mid = try #require(try await h.node.directory.alias(address: address)?.mailboxID)
        let file = MailboxDatabase.filePath(storageRoot: h.node.mailboxes.storageRoot, mailboxID: mid)
        #expect(((try? FileManager.default.attributesOfItem(atPath: file + "-wal")[.size] as? Int) ?? 0) == 0)
        for n in 2...3 { try await h.deliver(n) }   // queued: the mailbox is locked
        _ = try await h.service().backUp(address: address)
        // Into an empty data directory: 1 message in the file + 2 from the queue.
        let other = try SealboxNode.open(dataDirectory: h.root + "/restored")
        let summary = try await h.service(node: other).restore(address: address, generation: nil, password: h.password)
        #expect(summary.folders?.first { $0.0 == "INBOX" }?.1 == 3)
        // New mail to the restored mailbox is numbered above what it already drained, and arrives.
        _ = try await other.mailboxes.deliver(to: address, message: h.message(4), internalDate: Date())
        let session = try await other.mailboxes.unlock(address: address, password: h.password)
        #expect(try await session.messages(in: "INBOX", uids: nil, changedSince: nil).count == 4)
        await session.close()
        await other.shutdown()
        // In place, over the same queue: the queued entries are not doubled.
        await h.node.mailboxes.lockAll()
        _ = try await h.service().restore(address: address, generation: nil, password: nil)
        #expect(try await h.node.queue.count(mailboxID: try #require(try await h.node.directory.alias(address: address)?.mailboxID)) == 2)
        await h.cleanUp()
    }

    @Test("a backup refuses to start with less free disk than twice the mailbox, with a clear message")
    func freeSpaceGuard() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        try await h.deliver(1)
        var configuration = BackupService.Configuration(temporaryDirectory: h.node.dataDirectory + "/backup-tmp")
        configuration.freeSpace = { _ in 10_000 }
        let backups = BackupService(mailboxes: h.node.mailboxes, directory: h.node.directory,
                                    destination: try DirectoryDestination(path: h.destinationPath), configuration: configuration)
        await #expect { try await backups.backUp(address: address) } throws: { error in
            "\(error)".hasPrefix("not enough free disk space to back up \(h.address)") && "\(error)".contains("twice the mailbox")
        }
        #expect(try await backups.destination.list(prefix: "").isEmpty)
        await h.cleanUp()
    }

    @Test("a corrupted backup is detected at restore and nothing is replaced")
    func corrupted() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        try await h.deliver(1)
        _ = try await h.service().backUp(address: address)
        let object = try #require(BackupHarness.files(under: h.destinationPath).first { $0.hasSuffix("mailbox.sqlite") })
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: object)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: object))

        let other = try SealboxNode.open(dataDirectory: h.root + "/restored")
        await #expect { try await h.service(node: other).restore(address: address, generation: nil, password: h.password) } throws: { error in
            "\(error)".contains("damaged") && "\(error)".contains("SHA-256")
        }
        #expect(try await other.directory.alias(address: address) == nil)
        #expect(BackupHarness.files(under: other.dataDirectory + "/mailboxes").isEmpty)
        await other.shutdown()
        await h.cleanUp()
    }

    @Test("restore over the live alias replaces the mailbox file with the generation asked for, and renews every UIDVALIDITY")
    func restoreInPlace() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        try await h.deliver(1)
        // Drained into the mailbox first: mail still waiting in the sealed queue is not in a backup.
        await (try await h.node.mailboxes.unlock(address: address, password: h.password)).close()
        let backups = try h.service()
        guard case .uploaded(let first, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
        try await h.deliver(2)
        var session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        #expect(try await session.messages(in: "INBOX", uids: nil, changedSince: nil).count == 2)
        _ = try await backups.backUp(address: address)
        let before = try await session.folders()
        let inboxBefore = try await session.status(of: "INBOX")
        #expect(inboxBefore.uidNext == 3)
        // Refused while the mailbox is open.
        await #expect(throws: BackupError.self) { try await backups.restore(address: address, generation: first, password: nil) }
        await session.close()
        await h.node.mailboxes.lockAll()
        let summary = try await backups.restore(address: address, generation: first, password: h.password)
        #expect(!summary.aliasCreated)
        session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        #expect(try await session.messages(in: "INBOX", uids: nil, changedSince: nil).count == 1)
        // The restored file numbers from UID 2 again, which clients saw given to message 2: every
        // folder has a new UIDVALIDITY, above the old ones, so they resynchronise (RFC 3501 §2.3.1.1).
        let inbox = try await session.status(of: "INBOX")
        #expect(inbox.uidNext == 2)
        #expect(inbox.uidValidity > inboxBefore.uidValidity)
        let after = try await session.folders()
        #expect(after.map(\.path) == before.map(\.path))
        for (old, new) in zip(before, after) { #expect(new.uidValidity > old.uidValidity, "\(new.path)") }
        #expect(Set(after.map(\.uidValidity)).count == after.count)
        await session.close()
        let file = MailboxDatabase.filePath(storageRoot: h.node.mailboxes.storageRoot, mailboxID: try #require(try await h.node.directory.alias(address: address)?.mailboxID))
        #expect(!FileManager.default.fileExists(atPath: MailboxDatabase.renewalMarkerPath(file)))
        // Without the password the mark waits for the next unlock, and is used once; the same
        // generation again still gets values above the last renewal's.
        await h.node.mailboxes.lockAll()
        _ = try await backups.restore(address: address, generation: first, password: nil)
        #expect(FileManager.default.fileExists(atPath: MailboxDatabase.renewalMarkerPath(file)))
        session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        let renewed = try await session.status(of: "INBOX").uidValidity
        #expect(renewed > inbox.uidValidity)
        await session.close()
        await h.node.mailboxes.lockAll()
        session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        #expect(try await session.status(of: "INBOX").uidValidity == renewed)
        await session.close()
        #expect(!FileManager.default.fileExists(atPath: MailboxDatabase.renewalMarkerPath(file)))
        await h.cleanUp()
    }

    @Test("purge deletes every generation and the index entry")
    func purge() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        try await h.deliver(1)
        let backups = try h.service()
        _ = try await backups.backUp(address: address)
        let mailboxID = try #require(try await h.node.directory.alias(address: address)?.mailboxID)
        let deleted = try await backups.purge(mailboxID: mailboxID, address: address)
        #expect(deleted.count == 4)
        #expect(try await backups.destination.list(prefix: "").isEmpty)
        await h.cleanUp()
    }

    @Test("the mailbox's sqlite export opens with the password under sqlite3mc's standard settings")
    func sqliteExport() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        for n in 1...3 { try await h.deliver(n) }
        let path = h.root + "/export.sqlite"
        try await h.node.mailboxes.exportSQLite(address: address, password: h.password, to: path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(!BackupHarness.contains(bytes, BackupHarness.canary))
        #expect(!BackupHarness.contains(bytes, "SQLite format 3"))
        // An independent sqlite3mc (PyPI apsw-sqlite3mc in the test venv) opens it with the password alone.
        let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? ""
        if FileManager.default.isExecutableFile(atPath: python) {
            let script = """
                import apsw, sys
                c = apsw.Connection(sys.argv[1])
                c.execute("PRAGMA cipher = 'chacha20'")
                c.execute("PRAGMA key = '" + sys.argv[2].replace("'", "''") + "'")
                print(c.execute("SELECT count(*) FROM messages").fetchall()[0][0])
                """
            let r = try ChildProcess.spawn(python, ["-c", script, path, h.password]).waitBlocking(timeout: .seconds(120))
            let text = r.stdout + r.stderr
            #expect(r.ok && r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3", "\(text)")
        }
        await h.cleanUp()
    }

    /// The engine against a real S3 server: change detection, retention, restore elsewhere with identical bytes.
    @Test("against S3 (moto): change detection, retention, restore into an empty data directory with identical bytes",
          .enabled(if: MotoServer.executable != nil, "moto_server (PyPI moto[server]) is not installed"))
    func againstS3() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let h = try await BackupHarness(generations: 2)
        h.s3Endpoint = moto.endpoint
        let s3 = try #require(try h.destination() as? S3Destination)
        try await s3.createBucket()
        let backups = try h.service()
        let address = try EmailAddress(h.address)
        var uploaded: [String] = []
        for n in 1...3 {
            try await h.deliver(n)
            let session = try await h.node.mailboxes.unlock(address: address, password: h.password)
            guard case .uploaded(let g, _) = try await backups.backUp(address: address) else { Issue.record("expected an upload"); return }
            #expect(try await backups.backUp(address: address) == .unchanged(generation: g))
            uploaded.append(g)
            await session.close()
        }
        #expect(try await backups.generations(address: address).map(\.id) == Array(uploaded.suffix(2)))
        let session = try await h.node.mailboxes.unlock(address: address, password: h.password)
        var original: [[UInt8]] = []
        for r in try await session.messages(in: "INBOX", uids: nil, changedSince: nil) {
            original.append(try #require(try await session.messageBytes(in: "INBOX", uid: r.uid)))
        }
        await session.close()
        let other = try SealboxNode.open(dataDirectory: h.root + "/restored")
        _ = try await h.service(node: other).restore(address: address, generation: nil, password: h.password)
        let restored = try await other.mailboxes.unlock(address: address, password: h.password)
        var back: [[UInt8]] = []
        for r in try await restored.messages(in: "INBOX", uids: nil, changedSince: nil) {
            back.append(try #require(try await restored.messageBytes(in: "INBOX", uid: r.uid)))
        }
        #expect(back == original && back.count == 3)
        await restored.close()
        await other.shutdown()
        try await backups.destination.shutdown()
        await h.cleanUp()
    }
}

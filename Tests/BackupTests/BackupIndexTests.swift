import Backup
import BackupStore
import Crypto
import Directory
import Foundation
import MailCore
import MailStore
import SealboxApp
import Testing

/// The index that finds a mailbox's backups from its address: named by a hash of the address keyed
/// by a password, so that listing the bucket does not confirm a guessed address, while a restore
/// with the address and one password alone still finds it.
@Suite("backups: the password-keyed index")
struct BackupIndexTests {
    static func indexNames(_ backups: BackupService) async throws -> [String] {
        try await backups.destination.list(prefix: "index/").map(\.key).sorted()
    }

    @Test("one entry per password, named by its locator (never the address's plain hash); found with the password alone; revoked passwords' entries go")
    func keyedIndex() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        try await h.deliver(1)
        let backups = try h.service()
        _ = try await backups.backUp(address: address)
        let locator = KeyHierarchy.backupLocator(address: address, password: h.password)
        #expect(DirectoryRules.isBackupLocator(locator))
        #expect(try await Self.indexNames(backups) == ["index/\(locator).json"])
        let unkeyed = SHA256Hex.of("sealbox-backup-index\u{0}\(address.canonical)")
        #expect(try await backups.destination.head(key: "index/\(unkeyed).json") == nil)

        // Into an empty data directory: the password finds it; without it or with another, a clear refusal.
        let other = try SealboxNode.open(dataDirectory: h.root + "/restored")
        let restorer = try h.service(node: other)
        await #expect { try await restorer.restore(address: address, generation: nil, password: nil) } throws: { error in
            "\(error)".contains("backups are found with one of the mailbox's passwords (set SEALBOX_PASSWORD)")
        }
        await #expect { try await restorer.restore(address: address, generation: nil, password: "wrong-password") } throws: { error in
            "\(error)".contains("that this password finds")
        }
        let summary = try await restorer.restore(address: address, generation: nil, password: h.password)
        #expect(summary.aliasCreated && summary.folders?.first { $0.0 == "INBOX" }?.1 == 1)
        // The restored entries keep their locators: the restored node's next backup names the same entry.
        let restoredAlias = try #require(try await other.directory.alias(address: address))
        #expect(try await other.directory.passwords(aliasID: restoredAlias.id).map(\.backupLocator) == [locator])
        await other.shutdown()

        // A second password: a second entry; revoking the first removes its entry at the next backup.
        let (second, secondRecord) = try await h.node.mailboxes.addPassword(address: address, currentPassword: h.password, label: "two")
        _ = try await backups.backUp(address: address)
        let secondLocator = KeyHierarchy.backupLocator(address: address, password: second)
        #expect(secondRecord.backupLocator == secondLocator)
        #expect(try await Self.indexNames(backups) == ["index/\(locator).json", "index/\(secondLocator).json"].sorted())
        let firstID = try #require(try await h.node.directory.passwords(aliasID: restoredAlias.id).first { $0.backupLocator == locator }?.id)
        try await h.node.mailboxes.revokePassword(address: address, passwordID: firstID)
        _ = try await backups.backUp(address: address)
        #expect(try await Self.indexNames(backups) == ["index/\(secondLocator).json"])
        #expect(try await backups.generations(address: address, password: second).count >= 1)

        // Purge removes every entry.
        let mailboxID = try #require(try await h.node.directory.alias(address: address)?.mailboxID)
        _ = try await backups.purge(mailboxID: mailboxID, address: address)
        #expect(try await backups.destination.list(prefix: "").isEmpty)
        await h.cleanUp()
    }

    @Test("an entry made before locators existed: the unkeyed index is kept (restore still finds it) until a login gives the password a locator, then deleted")
    func olderEntries() async throws {
        let h = try await BackupHarness()
        let address = try EmailAddress(h.address)
        try await h.deliver(1)
        let alias = try #require(try await h.node.directory.alias(address: address))
        var record = try #require(try await h.node.directory.passwords(aliasID: alias.id).first)
        record.backupLocator = nil
        try await h.node.directory.updatePassword(record)
        let backups = try h.service()
        _ = try await backups.backUp(address: address)
        let unkeyed = "index/" + SHA256Hex.of("sealbox-backup-index\u{0}\(address.canonical)") + ".json"
        #expect(try await BackupIndexTests.indexNames(backups) == [unkeyed])
        #expect(try await backups.mailboxID(of: address) == alias.mailboxID)  // from the directory
        // A login computes the locator (in the background: bounded wait).
        await (try await h.node.mailboxes.unlock(address: address, password: h.password)).close()
        let deadline = ContinuousClock.now + .seconds(300)
        while try await h.node.directory.passwords(aliasID: alias.id).first?.backupLocator == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let locator = KeyHierarchy.backupLocator(address: address, password: h.password)
        #expect(try await h.node.directory.passwords(aliasID: alias.id).first?.backupLocator == locator)
        _ = try await backups.backUp(address: address)
        #expect(try await BackupIndexTests.indexNames(backups) == ["index/\(locator).json"])
        await h.cleanUp()
    }
}

/// SHA-256 as lower-case hex (the name earlier versions gave index entries).
enum SHA256Hex {
    static func of(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

import Foundation
import GRDB
import MailCore
import SQLiteCipher
import Testing
@testable import Directory
import PostgresDirectory
import TestSupport

@Suite("Directory: domains")
struct DomainOperationTests {
    @Test("add, list sorted, remove", arguments: Backend.allCases)
    func addListRemove(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let before = Date(timeIntervalSinceNow: -0.001)
        let b = try await t.directory.addDomain(domain("b.example"))
        let after = Date(timeIntervalSinceNow: 0.001)
        let a = try await t.directory.addDomain(domain("Bücher.Example"))
        #expect(a.domain.ascii == "xn--bcher-kva.example")
        #expect(b.created >= before && b.created <= after)
        #expect(try await t.directory.domains() == [b, a])  // "b.example" < "xn--…"
        try await t.directory.removeDomain(domain("xn--bcher-kva.example"))
        #expect(try await t.directory.domains() == [b])
    }

    @Test("a domain is added once, in any case or IDNA form", arguments: Backend.allCases, ["example.com", "EXAMPLE.com.", "Example.Com"])
    func duplicate(_ backend: Backend, again: String) async throws {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        await #expect(throws: DirectoryError(.domainExists, "domain example.com already exists")) {
            try await t.directory.addDomain(domain(again))
        }
    }

    @Test("IDN duplicate across forms", arguments: Backend.allCases)
    func idnDuplicate(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("münchen.de"))
        await expectError(.domainExists) { try await t.directory.addDomain(domain("xn--mnchen-3ya.de")) }
    }

    @Test("removing an unknown domain", arguments: Backend.allCases)
    func removeUnknown(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        await #expect(throws: DirectoryError(.noSuchDomain, "no such domain: nope.example")) {
            try await t.directory.removeDomain(domain("nope.example"))
        }
    }

    @Test("a domain with aliases is not removed", arguments: Backend.allCases)
    func removeWithAliases(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        let alias = try await t.directory.addAlias(address("hello@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        await #expect(throws: DirectoryError(.domainHasAliases, "domain example.com still has 1 alias; remove them first")) {
            try await t.directory.removeDomain(domain("example.com"))
        }
        try await t.directory.removeAlias(id: alias.id)
        try await t.directory.removeDomain(domain("example.com"))
        #expect(try await t.directory.domains().isEmpty)
    }
}

@Suite("Directory: aliases")
struct AliasOperationTests {
    func directory(_ backend: Backend) async throws -> TestDirectory {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        _ = try await t.directory.addDomain(domain("bücher.example"))
        return t
    }

    @Test("add and read back by id and by address", arguments: Backend.allCases)
    func addAndRead(_ backend: Backend) async throws {
        let t = try await directory(backend)
        let alias = try await t.directory.addAlias(
            address("Hello@Example.com"), store: true, forwardTo: [address("me@elsewhere.org")],
            webhooks: ["https://hooks.example.net/in?token=abc"], quotaBytes: 500 << 20)
        #expect(DirectoryID.isValid(alias.id))
        #expect(alias.address.localPart == "Hello")
        #expect(alias.store && alias.quotaBytes == 500 << 20 && alias.mailboxID == nil && alias.publicKey == nil)
        #expect(try await t.directory.alias(id: alias.id) == alias)
        #expect(try await t.directory.alias(address: address("hello@EXAMPLE.COM")) == alias)
        #expect(try await t.directory.alias(address: address("hello@EXAMPLE.COM"))?.address.localPart == "Hello")
        #expect(try await t.directory.alias(address: address("other@example.com")) == nil)
        #expect(try await t.directory.alias(id: DirectoryID.random()) == nil)
        #expect(try await t.directory.alias(id: "not an id") == nil)
    }

    @Test("ids are random, not derived from the address", arguments: Backend.allCases)
    func randomIDs(_ backend: Backend) async throws {
        let t = try await directory(backend)
        let first = try await t.directory.addAlias(address("a@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        try await t.directory.removeAlias(id: first.id)
        let again = try await t.directory.addAlias(address("a@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        #expect(first.id != again.id)
        #expect(DirectoryID.isValid(again.id))
    }

    @Test("UTF-8 local parts and IDN domains", arguments: Backend.allCases)
    func international(_ backend: Backend) async throws {
        let t = try await directory(backend)
        let alias = try await t.directory.addAlias(address("Jürgen@bücher.example"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        #expect(try await t.directory.alias(address: address("jürgen@xn--bcher-kva.example")) == alias)
        #expect(try await t.directory.alias(address: address("JU\u{0308}RGEN@XN--BCHER-KVA.EXAMPLE"))?.id == alias.id)
        #expect(try await t.directory.alias(id: alias.id)?.address.description == "Jürgen@bücher.example")
    }

    @Test("targets are de-duplicated, order kept", arguments: Backend.allCases)
    func dedupe(_ backend: Backend) async throws {
        let t = try await directory(backend)
        let alias = try await t.directory.addAlias(
            address("team@example.com"), store: false,
            forwardTo: [address("b@x.org"), address("a@x.org"), address("B@X.org")],
            webhooks: ["https://h.example/1", "https://h.example/2", "https://h.example/1"], quotaBytes: nil)
        #expect(alias.forwardTo.map(\.canonical) == ["b@x.org", "a@x.org"])
        #expect(alias.webhooks == ["https://h.example/1", "https://h.example/2"])
        #expect(try await t.directory.alias(id: alias.id) == alias)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let address: String
        let store: Bool
        let forwardTo: [String]
        let webhooks: [String]
        let quota: Int64?
        let code: DirectoryError.Code
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        .init(name: "unknown domain", address: "a@nowhere.example", store: true, forwardTo: [], webhooks: [], quota: nil, code: .noSuchDomain),
        .init(name: "existing address, other case", address: "TAKEN@example.com", store: true, forwardTo: [], webhooks: [], quota: nil, code: .aliasExists),
        .init(name: "existing address, quoted form", address: "\"taken\"@example.com", store: true, forwardTo: [], webhooks: [], quota: nil, code: .aliasExists),
        .init(name: "neither store nor target", address: "a@example.com", store: false, forwardTo: [], webhooks: [], quota: nil, code: .aliasNeedsTarget),
        .init(name: "forward to itself", address: "a@example.com", store: true, forwardTo: ["A@example.com"], webhooks: [], quota: nil, code: .forwardLoop),
        .init(name: "ftp webhook", address: "a@example.com", store: false, forwardTo: [], webhooks: ["ftp://x.example/"], quota: nil, code: .invalidWebhook),
        .init(name: "not a URL", address: "a@example.com", store: false, forwardTo: [], webhooks: ["hooks.example"], quota: nil, code: .invalidWebhook),
        .init(name: "no host", address: "a@example.com", store: false, forwardTo: [], webhooks: ["https:///path"], quota: nil, code: .invalidWebhook),
        .init(name: "space in URL", address: "a@example.com", store: false, forwardTo: [], webhooks: ["https://x.example/a b"], quota: nil, code: .invalidWebhook),
        .init(name: "javascript URL", address: "a@example.com", store: false, forwardTo: [], webhooks: ["javascript:alert(1)"], quota: nil, code: .invalidWebhook),
        .init(name: "negative quota", address: "a@example.com", store: true, forwardTo: [], webhooks: [], quota: -1, code: .invalidQuota),
        .init(name: "too many forwards", address: "a@example.com", store: false,
              forwardTo: (0...DirectoryRules.maxForwardTargets).map { "f\($0)@x.org" }, webhooks: [], quota: nil, code: .tooManyTargets),
    ]

    @Test("refuses", arguments: Backend.allCases, refusals)
    func refuses(_ backend: Backend, _ r: Refusal) async throws {
        let t = try await directory(backend)
        _ = try await t.directory.addAlias(address("taken@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        await expectError(r.code) {
            try await t.directory.addAlias(address(r.address), store: r.store, forwardTo: r.forwardTo.map(address),
                                           webhooks: r.webhooks, quotaBytes: r.quota)
        }
        #expect(try await t.directory.aliases(domain: nil).count == 1)
    }

    @Test("a webhook error does not repeat the URL (it may hold a token)", arguments: Backend.allCases)
    func webhookErrorHidesURL(_ backend: Backend) async throws {
        let t = try await directory(backend)
        await #expect {
            try await t.directory.addAlias(address("a@example.com"), store: false, forwardTo: [],
                                           webhooks: ["https://ok.example/", "gopher://secret-token-123@x/"], quotaBytes: nil)
        } throws: { error in
            let text = "\(error)"
            return text == "webhook 2 of alias a@example.com must be an http or https URL" && !text.contains("secret-token-123")
        }
    }

    @Test("forward-only and webhook-only aliases are fine, quota 0 too", arguments: Backend.allCases)
    func nonStoring(_ backend: Backend) async throws {
        let t = try await directory(backend)
        let forward = try await t.directory.addAlias(address("f@example.com"), store: false, forwardTo: [address("x@y.org")], webhooks: [], quotaBytes: nil)
        let hook = try await t.directory.addAlias(address("h@example.com"), store: false, forwardTo: [], webhooks: ["HTTP://h.example:8080/x"], quotaBytes: 0)
        #expect(!forward.store && !hook.store && hook.quotaBytes == 0)
    }

    @Test("resolveRecipient", arguments: Backend.allCases, [
        ("hello@example.com", "hello@example.com"),
        ("HELLO@Example.Com", "hello@example.com"),
        ("hello+news@example.com", "hello@example.com"),
        ("Hello+News+More@example.com", "hello@example.com"),
        ("sales+x@example.com", "sales+x@example.com"),  // an exact alias wins over the base
        ("sales+y@example.com", nil),                      // "sales" itself is not an alias
        ("+hello@example.com", nil),
        ("nobody@example.com", nil),
        ("hello@other.example", nil),
        ("jürgen+tag@bücher.example", "jürgen@xn--bcher-kva.example"),
    ] as [(String, String?)])
    func resolve(_ backend: Backend, _ c: (String, String?)) async throws {
        let (recipient, expected) = c
        let t = try await directory(backend)
        for a in ["hello@example.com", "sales+x@example.com", "Jürgen@bücher.example"] {
            _ = try await t.directory.addAlias(address(a), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        }
        #expect(try await t.directory.resolveRecipient(address(recipient))?.address.canonical == expected)
    }

    @Test("list by domain and all, sorted", arguments: Backend.allCases)
    func list(_ backend: Backend) async throws {
        let t = try await directory(backend)
        for a in ["zed@example.com", "Amy@example.com", "x@bücher.example"] {
            _ = try await t.directory.addAlias(address(a), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        }
        #expect(try await t.directory.aliases(domain: domain("EXAMPLE.COM")).map(\.address.canonical) == ["amy@example.com", "zed@example.com"])
        #expect(try await t.directory.aliases(domain: nil).map(\.address.canonical)
                == ["amy@example.com", "zed@example.com", "x@xn--bcher-kva.example"])
        await expectError(.noSuchDomain) { try await t.directory.aliases(domain: domain("nope.example")) }
    }

    @Test("remove an alias: gone with its passwords; unknown id refused", arguments: Backend.allCases)
    func remove(_ backend: Backend) async throws {
        let t = try await directory(backend)
        let alias = try await t.directory.addAlias(address("a@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let other = try await t.directory.addAlias(address("b@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        try await t.directory.addPassword(samplePassword(aliasID: alias.id))
        let kept = samplePassword(aliasID: other.id)
        try await t.directory.addPassword(kept)
        try await t.directory.removeAlias(id: alias.id)
        #expect(try await t.directory.alias(id: alias.id) == nil)
        #expect(try await t.directory.resolveRecipient(address("a+x@example.com")) == nil)
        await expectError(.noSuchAlias) { try await t.directory.passwords(aliasID: alias.id) }
        #expect(try await t.directory.passwords(aliasID: other.id) == [kept])
        let orphans = try await t.passwordCount(aliasID: alias.id)
        #expect(orphans == 0)
        await #expect(throws: DirectoryError(.noSuchAlias, "no such alias: \(alias.id)")) { try await t.directory.removeAlias(id: alias.id) }
    }
}

@Suite("Directory: mailboxes")
struct MailboxOperationTests {
    let key = [UInt8](repeating: 0xAB, count: 1216)

    @Test("setMailbox records the mailbox id and public key", arguments: Backend.allCases)
    func set(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        let alias = try await t.directory.addAlias(address("a@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let mailbox = DirectoryID.random()
        try await t.directory.setMailbox(aliasID: alias.id, mailboxID: mailbox, publicKey: key)
        let read = try #require(try await t.directory.alias(id: alias.id))
        #expect(read.mailboxID == mailbox && read.publicKey == key)
        // Same mailbox again: the public key is replaced.
        let newKey = [UInt8](repeating: 0xCD, count: 1216)
        try await t.directory.setMailbox(aliasID: alias.id, mailboxID: mailbox, publicKey: newKey)
        #expect(try await t.directory.alias(id: alias.id)?.publicKey == newKey)
    }

    enum Case: String, CaseIterable, Sendable { case unknownAlias, notStoring, badID, upperCaseID, emptyKey, hugeKey, otherMailbox, mailboxOfAnother }

    @Test("setMailbox refuses", arguments: Backend.allCases, Case.allCases)
    func refuses(_ backend: Backend, _ c: Case) async throws {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        let alias = try await t.directory.addAlias(address("a@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let forward = try await t.directory.addAlias(address("f@example.com"), store: false, forwardTo: [address("x@y.org")], webhooks: [], quotaBytes: nil)
        let other = try await t.directory.addAlias(address("b@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let taken = DirectoryID.random()
        try await t.directory.setMailbox(aliasID: other.id, mailboxID: taken, publicKey: key)
        let (aliasID, mailbox, publicKey, code): (String, String, [UInt8], DirectoryError.Code) = switch c {
        case .unknownAlias: (DirectoryID.random(), DirectoryID.random(), key, .noSuchAlias)
        case .notStoring: (forward.id, DirectoryID.random(), key, .aliasDoesNotStore)
        case .badID: (alias.id, "../etc/passwd", key, .invalidID)
        case .upperCaseID: (alias.id, DirectoryID.random().uppercased(), key, .invalidID)
        case .emptyKey: (alias.id, DirectoryID.random(), [], .invalidPublicKey)
        case .hugeKey: (alias.id, DirectoryID.random(), [UInt8](repeating: 1, count: 4097), .invalidPublicKey)
        case .otherMailbox: (other.id, DirectoryID.random(), key, .mailboxAlreadySet)
        case .mailboxOfAnother: (alias.id, taken, key, .mailboxInUse)
        }
        await expectError(code) {
            try await t.directory.setMailbox(aliasID: aliasID, mailboxID: mailbox, publicKey: publicKey)
        }
        #expect(try await t.directory.alias(id: alias.id)?.mailboxID == nil)
        #expect(try await t.directory.alias(id: other.id)?.mailboxID == taken)
    }
}

@Suite("Directory: passwords")
struct PasswordOperationTests {
    func directoryWithAlias(_ backend: Backend) async throws -> (TestDirectory, AliasRecord) {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        let alias = try await t.directory.addAlias(address("a@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        return (t, alias)
    }

    @Test("add, list oldest first, update, record use, remove", arguments: Backend.allCases)
    func lifecycle(_ backend: Backend) async throws {
        let (t, alias) = try await directoryWithAlias(backend)
        #expect(try await t.directory.passwords(aliasID: alias.id).isEmpty)
        let first = PasswordRecord(aliasID: alias.id, label: "phone", created: Date(timeIntervalSince1970: 1_700_000_000.1234),
                                   kdf: "scrypt:N=32768,r=8,p=1", salt: [1, 2, 3], wrappedKey: [4, 5, 6])
        var second = samplePassword(aliasID: alias.id, label: nil)
        #expect(DirectoryID.isValidPasswordID(first.id) && first.id.count == 8)
        try await t.directory.addPassword(second)
        try await t.directory.addPassword(first)
        #expect(try await t.directory.passwords(aliasID: alias.id) == [first, second])

        var changed = second
        changed.salt = [9, 9]
        changed.wrappedKey = [8, 8, 8]
        changed.kdf = "scrypt:N=65536,r=8,p=1"
        changed.label = "renamed"
        changed.created = Date(timeIntervalSince1970: 0)  // ignored: created is kept
        try await t.directory.updatePassword(changed)
        second.salt = [9, 9]; second.wrappedKey = [8, 8, 8]; second.kdf = "scrypt:N=65536,r=8,p=1"; second.label = "renamed"
        #expect(try await t.directory.passwords(aliasID: alias.id) == [first, second])

        let when = Date(timeIntervalSince1970: 1_800_000_000.987654)
        try await t.directory.recordPasswordUse(aliasID: alias.id, passwordID: second.id, at: when)
        let used = try await t.directory.passwords(aliasID: alias.id).first { $0.id == second.id }
        #expect(used?.lastUsed == DirectoryDate.normalized(when))
        #expect(used?.lastUsed?.timeIntervalSince1970 == 1_800_000_000.988)

        try await t.directory.removePassword(aliasID: alias.id, passwordID: first.id)
        #expect(try await t.directory.passwords(aliasID: alias.id).map(\.id) == [second.id])
    }

    enum Case: String, CaseIterable, Sendable {
        case addUnknownAlias, addDuplicate, addBadID, addEmptySalt, addEmptyWrappedKey, addEmptyKDF, addControlLabel
        case listUnknownAlias, updateUnknown, removeUnknown, removeOtherAliasPassword, useUnknown
    }

    @Test("refuses", arguments: Backend.allCases, Case.allCases)
    func refuses(_ backend: Backend, _ c: Case) async throws {
        let (t, alias) = try await directoryWithAlias(backend)
        let other = try await t.directory.addAlias(address("b@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let existing = samplePassword(aliasID: alias.id, id: "0a0b0c0d")
        try await t.directory.addPassword(existing)
        let d = t.directory
        var bad = samplePassword(aliasID: alias.id)
        let (code, operation): (DirectoryError.Code, @Sendable () async throws -> Void)
        switch c {
        case .addUnknownAlias:
            (code, operation) = (.noSuchAlias, { try await d.addPassword(samplePassword(aliasID: DirectoryID.random())) })
        case .addDuplicate:
            (code, operation) = (.passwordExists, { try await d.addPassword(samplePassword(aliasID: alias.id, id: "0a0b0c0d")) })
        case .addBadID:
            bad.id = "XYZ"
            (code, operation) = (.invalidID, { [bad] in try await d.addPassword(bad) })
        case .addEmptySalt:
            bad.salt = []
            (code, operation) = (.invalidPassword, { [bad] in try await d.addPassword(bad) })
        case .addEmptyWrappedKey:
            bad.wrappedKey = []
            (code, operation) = (.invalidPassword, { [bad] in try await d.addPassword(bad) })
        case .addEmptyKDF:
            bad.kdf = ""
            (code, operation) = (.invalidPassword, { [bad] in try await d.addPassword(bad) })
        case .addControlLabel:
            bad.label = "a\nb"
            (code, operation) = (.invalidPassword, { [bad] in try await d.addPassword(bad) })
        case .listUnknownAlias:
            (code, operation) = (.noSuchAlias, { _ = try await d.passwords(aliasID: DirectoryID.random()) })
        case .updateUnknown:
            (code, operation) = (.noSuchPassword, { try await d.updatePassword(samplePassword(aliasID: alias.id, id: "ffff0000")) })
        case .removeUnknown:
            (code, operation) = (.noSuchPassword, { try await d.removePassword(aliasID: alias.id, passwordID: "ffff0000") })
        case .removeOtherAliasPassword:
            (code, operation) = (.noSuchPassword, { try await d.removePassword(aliasID: other.id, passwordID: "0a0b0c0d") })
        case .useUnknown:
            (code, operation) = (.noSuchPassword, { try await d.recordPasswordUse(aliasID: alias.id, passwordID: "ffff0000", at: Date()) })
        }
        await expectError(code) { try await operation() }
        #expect(try await t.directory.passwords(aliasID: alias.id) == [existing])
    }

    @Test("errors and descriptions never show salt or wrapped key", arguments: Backend.allCases)
    func noSecretsInText(_ backend: Backend) async throws {
        let (t, alias) = try await directoryWithAlias(backend)
        var record = samplePassword(aliasID: alias.id)
        record.salt = Array("SALTSALT".utf8)
        record.wrappedKey = Array("WRAPPEDKEY".utf8)
        #expect(!"\(record)".contains("SALT") && !"\(record)".contains("WRAPPED") && !"\(record)".contains("83, 65"))
        record.kdf = ""
        await #expect {
            try await t.directory.addPassword(record)
        } throws: { error in
            let text = "\(error)"
            return !text.contains("SALT") && !text.contains("WRAPPED") && !text.contains("\n")
        }
    }

    @Test("the same password id may exist under two aliases", arguments: Backend.allCases)
    func perAliasIDs(_ backend: Backend) async throws {
        let (t, alias) = try await directoryWithAlias(backend)
        let other = try await t.directory.addAlias(address("b@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        try await t.directory.addPassword(samplePassword(aliasID: alias.id, id: "12345678"))
        try await t.directory.addPassword(samplePassword(aliasID: other.id, id: "12345678"))
        try await t.directory.removePassword(aliasID: alias.id, passwordID: "12345678")
        #expect(try await t.directory.passwords(aliasID: other.id).map(\.id) == ["12345678"])
    }
}

@Suite("Directory: storage")
struct StorageTests {
    @Test("everything persists across close and reopen", arguments: Backend.allCases)
    func persistence(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let d = try await t.directory.addDomain(domain("bücher.example"))
        let alias = try await t.directory.addAlias(
            address("Jürgen@bücher.example"), store: true, forwardTo: [address("x@y.org")],
            webhooks: ["https://h.example/x"], quotaBytes: 1 << 30)
        let mailbox = DirectoryID.random()
        let key = (0..<1216).map { UInt8($0 & 0xFF) }
        try await t.directory.setMailbox(aliasID: alias.id, mailboxID: mailbox, publicKey: key)
        var password = samplePassword(aliasID: alias.id)
        try await t.directory.addPassword(password)
        let used = Date()
        try await t.directory.recordPasswordUse(aliasID: alias.id, passwordID: password.id, at: used)
        password.lastUsed = used
        let reopened = try await t.reopened()
        var expected = alias
        expected.mailboxID = mailbox
        expected.publicKey = key
        #expect(try await reopened.domains() == [d])
        #expect(try await reopened.aliases(domain: nil) == [expected])
        #expect(try await reopened.alias(address: address("jürgen@xn--bcher-kva.example")) == expected)
        #expect(try await reopened.passwords(aliasID: alias.id) == [password])
    }

    @Test("a wrong key refuses to open")
    func wrongKey() async throws {
        let t = try TestDirectory()
        _ = try await t.directory.addDomain(domain("example.com"))
        try t.sqlite.close()
        #expect {
            _ = try t.reopen(key: .random(count: 32))
        } throws: { error in
            (error as? EncryptedDatabase.Failure)?.code == .wrongKeyOrCorrupt
        }
        #expect(throws: EncryptedDatabase.Failure.self) { _ = try t.reopen(key: .random(count: 16)) }
        // The right key still opens it.
        #expect(try await t.reopen().domains().map(\.domain.ascii) == ["example.com"])
    }

    @Test("the file and its WAL hold no plaintext address")
    func noPlaintext() async throws {
        let t = try TestDirectory()
        let canary = "zqcanary7391"
        _ = try await t.directory.addDomain(domain("plaintext-canary.example"))
        for i in 0..<50 {
            let alias = try await t.directory.addAlias(address("\(canary)\(i)@plaintext-canary.example"), store: true,
                                                       forwardTo: [address("\(canary)fwd@elsewhere.example")], webhooks: [], quotaBytes: nil)
            try await t.directory.addPassword(samplePassword(aliasID: alias.id, label: "\(canary) label"))
        }
        // The pool is still open: the writes sit in the WAL, not yet checkpointed.
        let wal = try Data(contentsOf: URL(fileURLWithPath: t.path + "-wal"))
        let main = try Data(contentsOf: URL(fileURLWithPath: t.path))
        #expect(wal.count > 4096, "the WAL must hold the writes for this test to mean anything")
        for (name, bytes) in [("file", main), ("wal", wal)] {
            #expect(bytes.range(of: Data(canary.utf8)) == nil, "\(name) contains the canary")
            #expect(bytes.range(of: Data("plaintext-canary".utf8)) == nil, "\(name) contains the domain")
            #expect(bytes.range(of: Data("SQLite format 3".utf8)) == nil, "\(name) has a plaintext SQLite header")
        }
        // After a checkpoint the main file holds the data: still no plaintext.
        try t.sqlite.close()
        let checkpointed = try Data(contentsOf: URL(fileURLWithPath: t.path))
        let files = try FileManager.default.contentsOfDirectory(atPath: t.folder.path).map { name in
            "\(name)=\((try? FileManager.default.attributesOfItem(atPath: t.folder.appendingPathComponent(name).path)[.size]) ?? 0)"
        }
        #expect(checkpointed.count > 8192, "\(files)")
        #expect(checkpointed.range(of: Data(canary.utf8)) == nil)
        // And the file is private.
        let mode = try FileManager.default.attributesOfItem(atPath: t.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("a directory written by a newer version is refused")
    func schemaTooNew() async throws {
        let t = try TestDirectory()
        try t.sqlite.close()
        let queue = try EncryptedDatabase.openQueue(path: t.path, key: t.key)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-future')")
        }
        try queue.close()
        #expect(throws: DirectoryError(.schemaTooNew, "the directory was written by a newer version of Sealbox; refusing to open it")) {
            _ = try t.reopen()
        }
    }

    @Test("the v1 schema indexes every lookup column")
    func indexes() async throws {
        let t = try TestDirectory()
        try t.sqlite.close()
        let queue = try EncryptedDatabase.openQueue(path: t.path, key: t.key, readonly: true)
        let plans = try await queue.read { db in
            try [
                "SELECT * FROM domain WHERE name = 'x'",
                "SELECT * FROM alias WHERE id = 'x'",
                "SELECT * FROM alias WHERE canonical = 'x'",
                "SELECT * FROM alias WHERE domain = 'x'",
                "SELECT * FROM alias WHERE mailbox_id = 'x'",
                "SELECT * FROM password WHERE alias_id = 'x'",
                "SELECT * FROM password WHERE alias_id = 'x' AND id = 'y'",
            ].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        for plan in plans {
            #expect(plan.contains("USING") && !plan.hasPrefix("SCAN"), "\(plan)")
        }
    }

    @Test("concurrent writers and readers", arguments: Backend.allCases)
    func concurrency(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        let d = t.directory
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let alias = try await d.addAlias(address("user\(i)@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
                    #expect(try await d.resolveRecipient(address("user\(i)+x@example.com"))?.id == alias.id)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await d.aliases(domain: nil).count == 40)
    }
}

extension TestDirectory {
    /// Rows left in the password table for an alias id, read with a second connection (proves the cascade).
    func passwordCount(aliasID: String) async throws -> Int {
        try await rowCount("password", aliasID: aliasID)
    }
}

@Suite("Directory: DKIM keys")
struct DKIMKeyTests {
    func pair(_ d: Domain, _ base: String, at date: Date) -> [DKIMKeyRecord] {
        [DKIMKeyRecord(domain: d, selector: base + "e", algorithm: "ed25519", privateKey: Array(repeating: 1, count: 32), created: date),
         DKIMKeyRecord(domain: d, selector: base + "r", algorithm: "rsa", privateKey: Array(repeating: 2, count: 64), created: date)]
    }

    @Test("a rotation retires the active pair, keeps recent retired keys, removes old ones; removing the domain removes its keys", arguments: Backend.allCases)
    func rotate(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let d = domain("example.org")
        _ = try await t.directory.addDomain(d)
        let day0 = Date(timeIntervalSince1970: 1_800_000_000)
        try await t.directory.rotateDKIMKeys(domain: d, adding: pair(d, "a", at: day0), retiring: day0, removingRetiredBefore: day0)
        #expect(try await t.directory.dkimKeys(domain: d) == pair(d, "a", at: day0))

        let day1 = day0.addingTimeInterval(86_400)
        try await t.directory.rotateDKIMKeys(domain: d, adding: pair(d, "b", at: day1), retiring: day1, removingRetiredBefore: day0)
        let keys = try await t.directory.dkimKeys(domain: d)
        #expect(keys.filter(\.isActive).map(\.selector) == ["be", "br"])
        #expect(keys.filter { !$0.isActive }.map(\.selector) == ["ae", "ar"])
        #expect(keys.filter { !$0.isActive }.allSatisfy { $0.retired == day1 })

        // Ten days later: the "a" keys (retired on day 1) are past the 7 days and go.
        let day10 = day0.addingTimeInterval(10 * 86_400)
        try await t.directory.rotateDKIMKeys(domain: d, adding: pair(d, "c", at: day10), retiring: day10,
                                             removingRetiredBefore: day10.addingTimeInterval(-DKIMKeyRecord.publishedAfterRetirement))
        #expect(try await t.directory.dkimKeys(domain: d).map(\.selector).sorted() == ["be", "br", "ce", "cr"])

        // Still there after reopening (the key bytes included).
        #expect(try await t.reopened().dkimKeys(domain: d).first { $0.selector == "ce" }?.privateKey == Array(repeating: 1, count: 32))
        try await t.directory.removeDomain(d)
        #expect(try await t.directory.dkimKeys(domain: d).isEmpty)
    }

    @Test("refused: a selector in use, a bad selector or algorithm, an unknown domain; nothing changes", arguments: Backend.allCases)
    func refused(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let d = domain("example.org")
        _ = try await t.directory.addDomain(d)
        let now = Date()
        try await t.directory.rotateDKIMKeys(domain: d, adding: pair(d, "a", at: now), retiring: now, removingRetiredBefore: now)
        await expectError(.invalidDKIMKey) { try await t.directory.rotateDKIMKeys(domain: d, adding: pair(d, "a", at: now), retiring: now, removingRetiredBefore: now) }
        #expect(try await t.directory.dkimKeys(domain: d).allSatisfy(\.isActive))  // the failed rotation retired nothing
        var bad = pair(d, "b", at: now)
        bad[0].selector = "Bad_Selector"
        await expectError(.invalidDKIMKey) { try await t.directory.rotateDKIMKeys(domain: d, adding: bad, retiring: now, removingRetiredBefore: now) }
        bad = pair(d, "b", at: now)
        bad[1].algorithm = "dsa"
        await expectError(.invalidDKIMKey) { try await t.directory.rotateDKIMKeys(domain: d, adding: bad, retiring: now, removingRetiredBefore: now) }
        let other = domain("other.example")
        await expectError(.noSuchDomain) { try await t.directory.rotateDKIMKeys(domain: other, adding: pair(other, "a", at: now), retiring: now, removingRetiredBefore: now) }
        // The description of a record names no key bytes.
        #expect(!"\(pair(d, "a", at: now)[0])".contains("1, 1"))
    }
}

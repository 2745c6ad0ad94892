import Directory
import Foundation
import GRDB
import MailboxAPI
import MailCore
@testable import MailStore
import SQLiteCipher
import Testing

@Suite("Mailbox service (in-process)")
struct MailboxServiceTests {
    let dir = TemporaryDirectory()
    let service: LocalMailboxService
    let address = try! EmailAddress("hello@example.com")

    init() throws {
        let key = SecretBytes.random(count: 32)
        let directory = try SQLiteDirectory(path: dir.path + "/directory.sqlite", key: key)
        let queue = try SealedQueue(path: dir.path + "/queue.sqlite", key: key)
        service = LocalMailboxService(storageRoot: dir.path + "/mailboxes", directory: directory, queue: queue, gracePeriod: .milliseconds(50))
    }

    func setUp() async throws -> String {
        _ = try await service.directory.addDomain(try Domain("example.com"))
        let alias = try await service.directory.addAlias(address, store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        return try await service.createMailbox(for: alias, label: "laptop").password
    }

    @Test("unknown address, wrong password and no-store alias fail alike")
    func authentication() async throws {
        let password = try await setUp()
        _ = try await service.directory.addAlias(try EmailAddress("fwd@example.com"), store: false,
                                                 forwardTo: [try EmailAddress("x@elsewhere.org")], webhooks: [], quotaBytes: nil)
        let failure = MailStoreError(.authenticationFailed, "authentication failed")
        await #expect(throws: failure) { _ = try await service.unlock(address: address, password: password + "x") }
        await #expect(throws: failure) { _ = try await service.unlock(address: try EmailAddress("nobody@example.com"), password: password) }
        await #expect(throws: failure) { _ = try await service.unlock(address: try EmailAddress("fwd@example.com"), password: password) }
        let session = try await service.unlock(address: try EmailAddress("HELLO@Example.COM"), password: password)
        #expect(try await session.folders().count == 6)
        await session.close()
    }

    @Test("the quota is read when a command first needs it: the domain's default set after the login applies, an APPEND over it is refused")
    func quotaReadWhenNeeded() async throws {
        let password = try await setUp()
        let session = try await service.unlock(address: address, password: password)
        // Set after the login (the alias has no quota of its own): the session's first use sees it.
        try await service.directory.setDefaultQuota(try Domain("example.com"), bytes: 1_000)
        #expect(try await session.quota().limit == 1_000)
        let big = [UInt8]("Subject: big\r\n\r\n".utf8) + [UInt8](repeating: 0x61, count: 2_000) + [13, 10]
        await #expect(throws: MailStoreError.self) { _ = try await session.append(to: "INBOX", message: big, flags: [], keywords: [], internalDate: nil) }
        // Kept for the session: a later change applies to the next login.
        try await service.directory.setDefaultQuota(try Domain("example.com"), bytes: nil)
        #expect(try await session.quota().limit == 1_000)
        await session.close()
        let next = try await service.unlock(address: address, password: password)
        #expect(try await next.quota().limit == nil)
        await next.close()
    }

    @Test("a mailbox whose file SQLite cannot close under its sessions is not handed to the move: evicting throws and runs nothing, and logins are let in again")
    func evictionWhenCloseFails() async throws {
        let password = try await setUp()
        let session = try await service.unlock(address: address, password: password)
        let database = try #require(session as? LocalMailboxSession).database
        // A statement left unfinalized on the writer: sqlite3_close answers SQLITE_BUSY and GRDB
        // leaves the connection open (the sessions could still write the file).
        final class Leak: @unchecked Sendable { var statement: Statement? }
        let leak = Leak()
        try await database.pool.writeWithoutTransaction { db in leak.statement = try db.makeStatement(sql: "SELECT 1") }
        var ran = false
        await #expect(throws: MailStoreError.self) {
            try await service.evicting(mailboxID: database.mailboxID, within: .milliseconds(200)) { ran = true }
        }
        #expect(!ran, "nothing may copy a file that can still be written")
        // The mailbox is not left locked for good: a login opens it again.
        let again = try await service.unlock(address: address, password: password)
        await again.close()
        await session.close()
        leak.statement = nil
        // Once nothing holds it, the eviction closes it and runs.
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await service.evicting(mailboxID: database.mailboxID, within: .seconds(5)) { "moved" } == "moved")
    }

    @Test("a login records its password's use, at most once a minute")
    func passwordUse() async throws {
        let password = try await setUp()
        let aliasID = try #require(await service.directory.alias(address: address)).id
        func lastUsed() async throws -> Date? { try await service.directory.passwords(aliasID: aliasID).first?.lastUsed }
        #expect(try await lastUsed() == nil)
        let first = try await service.unlock(address: address, password: password)  // the key unwrapped
        let used = try #require(try await lastUsed())
        #expect(abs(used.timeIntervalSinceNow) < 60)
        let second = try await service.unlock(address: address, password: password)  // the open mailbox joined
        #expect(try await lastUsed() == used, "no second write within the minute")
        // An older use is written again.
        let old = Date(timeIntervalSinceNow: -120)
        try await service.directory.recordPasswordUse(aliasID: aliasID, passwordID: try #require(await service.directory.passwords(aliasID: aliasID).first).id, at: old)
        let third = try await service.unlock(address: address, password: password)
        #expect(try #require(try await lastUsed()) > old.addingTimeInterval(60))
        for s in [first, second, third] { await s.close() }
    }

    @Test("several passwords; revoke one, the others keep working; the last needs force")
    func multiplePasswords() async throws {
        let first = try await setUp()
        let second = try await service.addPassword(address: address, currentPassword: first, label: "phone")
        #expect(second.password != first)
        await #expect(throws: MailStoreError.self) { _ = try await service.addPassword(address: address, currentPassword: "wrong", label: nil) }
        await (try service.unlock(address: address, password: second.password)).close()
        let records = try await service.directory.passwords(aliasID: try #require(await service.directory.alias(address: address)).id)
        #expect(Set(records.compactMap(\.label)) == ["laptop", "phone"])
        let firstID = try #require(records.first { $0.label == "laptop" }).id
        try await service.revokePassword(address: address, passwordID: firstID)
        await #expect(throws: MailStoreError.self) { _ = try await service.unlock(address: address, password: first) }
        await (try service.unlock(address: address, password: second.password)).close()
        await #expect(throws: MailStoreError.self) {
            try await service.revokePassword(address: address, passwordID: second.record.id)
        }
    }

    @Test("changing a password re-wraps one entry: the old one stops working, the mail stays")
    func change() async throws {
        let old = try await setUp()
        let s = try await service.unlock(address: address, password: old)
        _ = try await s.append(to: "INBOX", message: sampleMessage(subject: "keep me"), flags: [], keywords: [], internalDate: nil)
        await s.close()
        let alias = try #require(await service.directory.alias(address: address))
        let id = try #require(await service.directory.passwords(aliasID: alias.id).first).id
        let new = try await service.changePassword(address: address, passwordID: id, currentPassword: old)
        await #expect(throws: MailStoreError.self) { _ = try await service.unlock(address: address, password: old) }
        let again = try await service.unlock(address: address, password: new)
        #expect(try await again.messages(in: "INBOX", uids: nil, changedSince: nil).first?.subject == "keep me")
        await again.close()
    }

    @Test("mail delivered to a locked mailbox waits in the queue and reaches INBOX at unlock")
    func deliverLocked() async throws {
        let password = try await setUp()
        let m = sampleMessage(subject: "while locked")
        #expect(try await service.deliver(to: try EmailAddress("hello+news@example.com"), message: m, internalDate: Date()) == .queued(seq: 1, delivered: false))
        let session = try await service.unlock(address: address, password: password)
        #expect(try await session.messageBytes(in: "INBOX", uid: 1) == m)
        await session.close()
    }

    /// Issue 15 item 4: a login after a long absence is answered within its budget; the rest of the
    /// queue moves in the background, in order, once each, and the session hears of it.
    @Test("a login past its drain budget is answered; the rest of the queue arrives in the background, in order")
    func loginDrainBudget() async throws {
        let password = try await setUp()
        let count = 300
        for n in 1...count {
            _ = try await service.deliver(to: address, message: sampleMessage(subject: "queued \(n)"), internalDate: Date())
        }
        service.loginDrainBudget = .zero  // one batch, then the answer
        let session = try await service.unlock(address: address, password: password)
        let changes = session.changes(folder: "INBOX")
        let atLogin = try await session.status(of: "INBOX").messages
        #expect(atLogin >= 1 && atLogin < count, "\(atLogin) moved before the login was answered")
        if atLogin < count {  // then the drain was still running after the subscription: it tells the session
            var iterator = changes.makeAsyncIterator()
            let change = await iterator.next()
            if case .appended(let uids)? = change?.kind { #expect(uids.allSatisfy { $0 > UID(atLogin) }) } else { Issue.record("\(String(describing: change))") }
        }
        var moved = atLogin
        for _ in 0..<1500 where moved < count {  // up to 30 s
            try await Task.sleep(for: .milliseconds(20))
            moved = try await session.status(of: "INBOX").messages
        }
        #expect(moved == count)
        let records = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)
        #expect(records.map(\.uid) == (1...count).map { UID($0) })
        for uid: UID in [1, 150, 300] {
            let bytes = try #require(try await session.messageBytes(in: "INBOX", uid: uid))
            #expect(String(decoding: bytes, as: UTF8.self).contains("Subject: queued \(uid)\r\n"))
        }
        #expect(try await service.queue.count(mailboxID: try #require(try await service.directory.alias(address: address)?.mailboxID)) == 0)
        await session.close()
    }

    @Test("mail delivered to an unlocked mailbox is in INBOX at once and its sessions are told")
    func deliverLive() async throws {
        let password = try await setUp()
        let session = try await service.unlock(address: address, password: password)
        let changes = session.changes(folder: "INBOX")
        let outcome = try await service.deliver(to: address, message: sampleMessage(subject: "live"), internalDate: Date())
        #expect(outcome == .queued(seq: 1, delivered: true))
        var iterator = changes.makeAsyncIterator()
        let change = await iterator.next()
        #expect(change?.kind == .appended(uids: [1]) && change?.origin == nil)
        await session.close()
    }

    @Test("revoking a password tells its sessions")
    func revokeNotifies() async throws {
        let first = try await setUp()
        let second = try await service.addPassword(address: address, currentPassword: first, label: "phone")
        let session = try await service.unlock(address: address, password: second.password)
        let changes = session.changes(folder: "INBOX")
        try await service.revokePassword(address: address, passwordID: second.record.id)
        var iterator = changes.makeAsyncIterator()
        #expect(await iterator.next()?.kind == .passwordRevoked(passwordID: second.record.id))
        await session.close()
    }

    @Test("the mailbox locks after its last session closes and the grace period ends")
    func locking() async throws {
        let password = try await setUp()
        let session = try await service.unlock(address: address, password: password)
        #expect(await service.isUnlocked(mailboxID: session.mailboxID))
        await session.close()
        for _ in 0..<100 where await service.isUnlocked(mailboxID: session.mailboxID) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await !service.isUnlocked(mailboxID: session.mailboxID))
    }
}

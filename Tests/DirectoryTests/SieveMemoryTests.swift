import Foundation
import GRDB
import MailCore
import SQLiteCipher
import Testing
@testable import Directory
import PostgresDirectory
import TestSupport

@Suite("Directory: Sieve memories and run errors")
struct SieveMemoryTests {
    private func alias(_ t: TestDirectory, _ text: String = "u@example.org") async throws -> String {
        if try await t.directory.domains().isEmpty { _ = try await t.directory.addDomain(domain("example.org")) }
        return try await t.directory.addAlias(address(text), store: true, forwardTo: [], webhooks: [], quotaBytes: nil).id
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let hasher = SieveMemoryHasher(secret: Array(repeating: 7, count: 32))

    @Test("keyed hashes: another secret, alias or kind gives another digest; the key is not in it")
    func hashing() {
        let d = Self.hasher.digest(aliasID: "a", kind: .vacation, key: "alice@example.org")
        #expect(d.count == 32)
        #expect(d == Self.hasher.digest(aliasID: "a", kind: .vacation, key: "alice@example.org"))
        #expect(d != Self.hasher.digest(aliasID: "b", kind: .vacation, key: "alice@example.org"))
        #expect(d != Self.hasher.digest(aliasID: "a", kind: .duplicate, key: "alice@example.org"))
        #expect(d != SieveMemoryHasher(secret: Array(repeating: 8, count: 32)).digest(aliasID: "a", kind: .vacation, key: "alice@example.org"))
    }

    @Test("claim once per period; expired entries answer again and are removed as new ones are written", arguments: Backend.allCases)
    func claims(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let id = try await alias(t)
        let d1 = Self.hasher.digest(aliasID: id, kind: .vacation, key: "alice")
        let entry = SieveMemoryEntry(digest: d1, expires: Self.now.addingTimeInterval(3600))
        #expect(try await t.directory.claimSieveMemory(aliasID: id, kind: .vacation, entry: entry, now: Self.now))
        #expect(try await !t.directory.claimSieveMemory(aliasID: id, kind: .vacation, entry: entry, now: Self.now.addingTimeInterval(60)))
        // Not the other kind's memory.
        #expect(try await t.directory.sieveMemories(aliasID: id, kind: .duplicate, now: Self.now).isEmpty)
        #expect(try await t.directory.sieveMemories(aliasID: id, kind: .vacation, now: Self.now) == [d1])
        // After the period: answered again.
        let later = Self.now.addingTimeInterval(3601)
        #expect(try await t.directory.sieveMemories(aliasID: id, kind: .vacation, now: later).isEmpty)
        #expect(try await t.directory.claimSieveMemory(aliasID: id, kind: .vacation,
                                                      entry: SieveMemoryEntry(digest: d1, expires: later.addingTimeInterval(10)), now: later))
        // A write drops every expired row.
        let d2 = Self.hasher.digest(aliasID: id, kind: .duplicate, key: "<m@x>")
        try await t.directory.rememberSieve(aliasID: id, kind: .duplicate, entries: [SieveMemoryEntry(digest: d2, expires: later.addingTimeInterval(5))], now: later)
        try await t.directory.rememberSieve(aliasID: id, kind: .duplicate,
                                            entries: [SieveMemoryEntry(digest: Self.hasher.digest(aliasID: id, kind: .duplicate, key: "<n@x>"),
                                                                       expires: later.addingTimeInterval(100))],
                                            now: later.addingTimeInterval(50))
        let rows = try await t.rowCount("sieve_memory")
        #expect(rows == 1)
        // Forget takes a claim back.
        try await t.directory.forgetSieveMemory(aliasID: id, kind: .duplicate, digest: d2)
        await expectError(.noSuchAlias) {
            try await t.directory.rememberSieve(aliasID: "0000", kind: .duplicate, entries: [SieveMemoryEntry(digest: d2, expires: later)], now: Self.now)
        }
    }

    @Test("rows per alias are bounded: the entries closest to expiry go first", arguments: Backend.allCases)
    func bounded(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let id = try await alias(t)
        let max = SQLiteDirectory.maxSieveMemoriesPerAlias
        let entries = (0..<(max + 10)).map { i in
            SieveMemoryEntry(digest: Self.hasher.digest(aliasID: id, kind: .duplicate, key: "k\(i)"), expires: Self.now.addingTimeInterval(Double(1000 + i)))
        }
        try await t.directory.rememberSieve(aliasID: id, kind: .duplicate, entries: entries, now: Self.now)
        let kept = try await t.directory.sieveMemories(aliasID: id, kind: .duplicate, now: Self.now)
        #expect(kept.count == max)
        #expect(!kept.contains(entries[0].digest) && kept.contains(entries[max + 9].digest))
    }

    @Test("what the directory file holds: digests, never the address")
    func nothingInPlain() async throws {
        let t = try TestDirectory()
        let id = try await alias(t)
        let sender = "very.secret.sender@example.net"
        try await t.directory.rememberSieve(aliasID: id, kind: .vacation,
                                            entries: [SieveMemoryEntry(digest: Self.hasher.digest(aliasID: id, kind: .vacation, key: sender),
                                                                       expires: Self.now.addingTimeInterval(60))], now: Self.now)
        let stored = try await t.sqlite.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM sieve_memory") }
        #expect(stored.count == 1)
        #expect(!"\(stored)".contains("secret.sender"))
    }

    @Test("run errors: newest first, the last 20 kept, removed with the alias", arguments: Backend.allCases)
    func runErrors(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let id = try await alias(t)
        for i in 0..<25 {
            try await t.directory.recordSieveRunError(aliasID: id, SieveRunErrorRecord(at: Self.now.addingTimeInterval(Double(i)), script: "main",
                                                                                   message: "line \(i): error: boom"))
        }
        let errors = try await t.directory.sieveRunErrors(aliasID: id)
        #expect(errors.count == SQLiteDirectory.maxSieveRunErrors)
        #expect(errors.first == SieveRunErrorRecord(at: Self.now.addingTimeInterval(24), script: "main", message: "line 24: error: boom"))
        #expect(errors.last?.message == "line 5: error: boom")
        try await t.directory.removeAlias(id: id)
        await expectError(.noSuchAlias) { try await t.directory.sieveRunErrors(aliasID: id) }
        let left = try await t.rowCount("sieve_run_error")
        #expect(left == 0)
    }
}

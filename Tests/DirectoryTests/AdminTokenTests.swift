import Foundation
import GRDB
import MailCore
import SQLiteCipher
import Testing
@testable import Directory
import PostgresDirectory
import TestSupport

@Suite("Directory: admin tokens and alias targets")
struct AdminTokenTests {
    @Test("a token is stored as its SHA-256 only, found by its text, and revoked", arguments: Backend.allCases)
    func lifeCycle(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let (token, record) = AdminToken.generate(label: "monitoring")
        #expect(token.hasPrefix("sbx_"))
        #expect(token.count == 4 + 43)
        try await t.directory.addAdminToken(record)
        // The secret is nowhere in the file's rows.
        #expect(try await t.rowCount("admin_token") == 1)
        if backend == .sqlite {
            let raw = try await t.sqlite.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM admin_token") }
            #expect(!raw.description.contains(token))
            #expect(([UInt8])(raw[0]["hash"] as Data) == Array(AdminToken.hash(token)))
        } else {
            let raw = try await t.server!.psql("SELECT * FROM admin_token", database: t.database!)
            #expect(!raw.contains(token))
        }
        let found = try #require(try await t.directory.adminToken(matching: token))
        #expect(found.id == record.id)
        #expect(found.label == "monitoring")
        #expect(try await t.directory.adminTokens().first?.lastUsed != nil)
        #expect(try await t.directory.adminToken(matching: token + "x") == nil)
        #expect(try await t.directory.adminToken(matching: "") == nil)
        try await t.directory.removeAdminToken(id: record.id)
        #expect(try await t.directory.adminToken(matching: token) == nil)
        await expectError(.noSuchAdminToken) { try await t.directory.removeAdminToken(id: record.id) }
        // Survives a reopen (the migration ran once).
        let (again, second) = AdminToken.generate(label: nil)
        try await t.directory.addAdminToken(second)
        let reopened = try await t.reopened()
        #expect(try await reopened.adminToken(matching: again)?.id == second.id)
    }

    @Test("malformed records and too many tokens are refused", arguments: Backend.allCases)
    func limits(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        await expectError(.invalidAdminToken) { try await t.directory.addAdminToken(AdminTokenRecord(label: nil, hash: [1, 2, 3])) }
        await expectError(.invalidAdminToken) {
            try await t.directory.addAdminToken(AdminTokenRecord(label: String(repeating: "x", count: 101), hash: Array(repeating: 0, count: 32)))
        }
        await expectError(.invalidAdminToken) {
            try await t.directory.addAdminToken(AdminTokenRecord(label: "a\nb", hash: Array(repeating: 0, count: 32)))
        }
        for _ in 0..<AdminToken.maxTokens { try await t.directory.addAdminToken(AdminToken.generate(label: nil).record) }
        await expectError(.tooManyAdminTokens) { try await t.directory.addAdminToken(AdminToken.generate(label: nil).record) }
    }

    @Test("constant-time comparison agrees with ==")
    func comparison() {
        let a = AdminToken.hash("a"), b = AdminToken.hash("b")
        #expect(AdminToken.constantTimeEqual(a, a))
        #expect(!AdminToken.constantTimeEqual(a, b))
        #expect(!AdminToken.constantTimeEqual(a, Array(a.prefix(31))))
    }

    @Test("an alias's forwards and webhooks are replaced under the alias rules", arguments: Backend.allCases)
    func targets(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.org"))
        let alias = try await t.directory.addAlias(address("u@example.org"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let updated = try await t.directory.setTargets(aliasID: alias.id, forwardTo: [address("x@example.net"), address("x@example.net")],
                                                       webhooks: ["https://hooks.example.net/a"])
        #expect(updated.forwardTo == [address("x@example.net")])
        #expect(try await t.directory.alias(id: alias.id)?.webhooks == ["https://hooks.example.net/a"])
        await expectError(.forwardLoop) { try await t.directory.setTargets(aliasID: alias.id, forwardTo: [address("u@example.org")], webhooks: []) }
        await expectError(.invalidWebhook) { try await t.directory.setTargets(aliasID: alias.id, forwardTo: [], webhooks: ["ftp://x"]) }
        await expectError(.noSuchAlias) { try await t.directory.setTargets(aliasID: "0123", forwardTo: [], webhooks: []) }
        let forwardOnly = try await t.directory.addAlias(address("f@example.org"), store: false, forwardTo: [address("x@example.net")],
                                                         webhooks: [], quotaBytes: nil)
        await expectError(.aliasNeedsTarget) { try await t.directory.setTargets(aliasID: forwardOnly.id, forwardTo: [], webhooks: []) }
    }
}

import Foundation
import MailCore
import Testing
@testable import Directory
import PostgresDirectory
import TestSupport

@Suite("Directory: Sieve scripts")
struct SieveScriptStorageTests {
    private func alias(_ t: TestDirectory) async throws -> String {
        _ = try await t.directory.addDomain(domain("example.org"))
        return try await t.directory.addAlias(address("u@example.org"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil).id
    }

    @Test("put, list sorted, replace keeps active, activate one at a time, deactivate", arguments: Backend.allCases)
    func lifecycle(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let id = try await alias(t)
        let at = Date(timeIntervalSince1970: 1_700_000_000)
        try await t.directory.putSieveScript(aliasID: id, name: "work", content: "keep;", at: at)
        try await t.directory.putSieveScript(aliasID: id, name: "Ünïcode", content: "discard;", at: at)
        try await t.directory.putSieveScript(aliasID: id, name: "a", content: "stop;", at: at)
        #expect(try await t.directory.sieveScripts(aliasID: id).map(\.name) == ["a", "work", "Ünïcode"])
        #expect(try await t.directory.activeSieveScript(aliasID: id) == nil)
        try await t.directory.activateSieveScript(aliasID: id, name: "work")
        try await t.directory.putSieveScript(aliasID: id, name: "work", content: "fileinto \"x\";", at: at.addingTimeInterval(5))
        let active = try #require(try await t.directory.activeSieveScript(aliasID: id))
        #expect(active == SieveScriptRecord(aliasID: id, name: "work", content: "fileinto \"x\";", active: true, updated: at.addingTimeInterval(5)))
        try await t.directory.activateSieveScript(aliasID: id, name: "a")
        #expect(try await t.directory.sieveScripts(aliasID: id).filter(\.active).map(\.name) == ["a"])
        try await t.directory.activateSieveScript(aliasID: id, name: nil)
        #expect(try await t.directory.activeSieveScript(aliasID: id) == nil)
        // Survives a reopen.
        let reopened = try await t.reopened()
        #expect(try await reopened.sieveScript(aliasID: id, name: "Ünïcode")?.content == "discard;")
    }

    @Test("rename, delete, and the errors ManageSieve maps to response codes", arguments: Backend.allCases)
    func errors(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let id = try await alias(t)
        let now = Date()
        try await t.directory.putSieveScript(aliasID: id, name: "a", content: "keep;", at: now)
        try await t.directory.putSieveScript(aliasID: id, name: "b", content: "keep;", at: now)
        try await t.directory.activateSieveScript(aliasID: id, name: "a")
        await expectError(.sieveScriptExists) { try await t.directory.renameSieveScript(aliasID: id, from: "a", to: "b") }
        await expectError(.noSuchSieveScript) { try await t.directory.renameSieveScript(aliasID: id, from: "zz", to: "c") }
        await expectError(.sieveScriptActive) { try await t.directory.deleteSieveScript(aliasID: id, name: "a") }
        await expectError(.noSuchSieveScript) { try await t.directory.deleteSieveScript(aliasID: id, name: "zz") }
        await expectError(.noSuchSieveScript) { try await t.directory.activateSieveScript(aliasID: id, name: "zz") }
        await expectError(.invalidSieveScript) { try await t.directory.putSieveScript(aliasID: id, name: "bad\nname", content: "", at: now) }
        await expectError(.invalidSieveScript) { try await t.directory.putSieveScript(aliasID: id, name: "", content: "", at: now) }
        await expectError(.noSuchAlias) { try await t.directory.putSieveScript(aliasID: String(repeating: "0", count: 32), name: "x", content: "", at: now) }
        try await t.directory.renameSieveScript(aliasID: id, from: "a", to: "c")
        #expect(try await t.directory.activeSieveScript(aliasID: id)?.name == "c")
        try await t.directory.deleteSieveScript(aliasID: id, name: "b")
        #expect(try await t.directory.sieveScripts(aliasID: id).map(\.name) == ["c"])
    }

    @Test("quota: script count and total size; removing the alias removes its scripts", arguments: Backend.allCases)
    func quota(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let id = try await alias(t)
        for i in 0..<SieveScriptRecord.maxScripts {
            try await t.directory.putSieveScript(aliasID: id, name: "s\(i)", content: "keep;", at: Date())
        }
        await expectError(.sieveQuota) { try await t.directory.putSieveScript(aliasID: id, name: "one-more", content: "keep;", at: Date()) }
        try await t.directory.putSieveScript(aliasID: id, name: "s0", content: "discard;", at: Date())  // replacing is fine
        let big = String(repeating: "#", count: SieveScriptRecord.maxScriptBytes)
        for i in 1...3 { try await t.directory.putSieveScript(aliasID: id, name: "s\(i)", content: big, at: Date()) }
        await expectError(.sieveQuota) { try await t.directory.putSieveScript(aliasID: id, name: "s4", content: big, at: Date()) }
        await expectError(.invalidSieveScript) { try await t.directory.putSieveScript(aliasID: id, name: "s5", content: big + "#", at: Date()) }
        try await t.directory.removeAlias(id: id)
        #expect(try await t.directory.sieveScript(aliasID: id, name: "s0") == nil)
    }
}

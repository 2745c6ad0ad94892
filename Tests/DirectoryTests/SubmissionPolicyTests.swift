import Foundation
import Testing
@testable import Directory
import PostgresDirectory
import TestSupport

@Suite("Directory: submission (send-as, counters)")
struct SubmissionPolicyTests {
    func directory(_ backend: Backend) async throws -> (TestDirectory, AliasRecord) {
        let t = try await TestDirectory(backend)
        _ = try await t.directory.addDomain(domain("example.com"))
        _ = try await t.directory.addDomain(domain("bücher.example"))
        let alias = try await t.directory.addAlias(address("me@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        return (t, alias)
    }

    @Test("send-as: stored canonical, wildcards by ASCII domain, only hosted domains, replaced as a whole", arguments: Backend.allCases)
    func sendAs(_ backend: Backend) async throws {
        let (t, alias) = try await directory(backend)
        try await t.directory.setSendAs(aliasID: alias.id, addresses: ["Info@Example.com", "*@bücher.example", "info@example.com"])
        #expect(try await t.directory.sendAs(aliasID: alias.id) == ["*@xn--bcher-kva.example", "info@example.com"])
        await expectError(.invalidSendAs) { try await t.directory.setSendAs(aliasID: alias.id, addresses: ["x@gmail.test"]) }
        await expectError(.invalidSendAs) { try await t.directory.setSendAs(aliasID: alias.id, addresses: ["*@"]) }
        await expectError(.invalidSendAs) { try await t.directory.setSendAs(aliasID: alias.id, addresses: ["not an address"]) }
        await expectError(.noSuchAlias) { try await t.directory.setSendAs(aliasID: DirectoryID.random(), addresses: []) }
        #expect(try await t.directory.sendAs(aliasID: alias.id).count == 2, "a refused list changes nothing")
        try await t.directory.setSendAs(aliasID: alias.id, addresses: [])
        #expect(try await t.directory.sendAs(aliasID: alias.id).isEmpty)
        // Kept across a reopen, dropped with the alias.
        try await t.directory.setSendAs(aliasID: alias.id, addresses: ["info@example.com"])
        #expect(try await t.reopened().sendAs(aliasID: alias.id) == ["info@example.com"])
        try await t.directory.removeAlias(id: alias.id)
        await expectError(.noSuchAlias) { try await t.directory.sendAs(aliasID: alias.id) }
    }

    @Test("mayUse: its own address, plus-addresses, listed addresses and domains", arguments: [
        ("me@example.com", true), ("ME@EXAMPLE.COM", true), ("me+news@example.com", true), ("info@example.com", true),
        ("info+x@example.com", true), ("anyone@bücher.example", true), ("anyone@xn--bcher-kva.example", true),
        ("other@example.com", false), ("me@example.org", false), ("me@sub.bücher.example", false),
    ])
    func mayUse(text: String, allowed: Bool) {
        #expect(SubmissionPolicy.mayUse(address(text), own: address("me@example.com"),
                                        sendAs: ["info@example.com", "*@xn--bcher-kva.example"]) == allowed)
    }

    @Test("counters: messages in the last hour, recipients in the last day; over a limit nothing is counted; kept across a reopen", arguments: Backend.allCases)
    func counters(_ backend: Backend) async throws {
        let (t, alias) = try await directory(backend)
        let limits = SubmissionLimits(maxMessagesPerHour: 3, maxRecipientsPerDay: 10)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try await t.directory.recordSubmission(aliasID: alias.id, recipients: 4, at: start.addingTimeInterval(-7200), limits: limits) != nil)
        #expect(try await t.directory.recordSubmission(aliasID: alias.id, recipients: 2, at: start, limits: limits) != nil)
        #expect(try await t.directory.submissionUsage(aliasID: alias.id, now: start) == SubmissionUsage(messagesLastHour: 1, recipientsLastDay: 6))
        #expect(try await t.directory.recordSubmission(aliasID: alias.id, recipients: 5, at: start, limits: limits) == nil, "11 recipients > 10")
        let id = try #require(try await t.directory.recordSubmission(aliasID: alias.id, recipients: 1, at: start, limits: limits))
        #expect(try await t.directory.recordSubmission(aliasID: alias.id, recipients: 1, at: start, limits: limits) != nil)
        #expect(try await t.directory.recordSubmission(aliasID: alias.id, recipients: 1, at: start, limits: limits) == nil, "a 4th message in the hour")
        try await t.directory.cancelSubmission(id: id)
        let reopened = try await t.reopened()
        #expect(try await reopened.submissionUsage(aliasID: alias.id, now: start) == SubmissionUsage(messagesLastHour: 2, recipientsLastDay: 7))
        // A day later only what was sent since counts (older rows are dropped as the alias sends).
        let later = start.addingTimeInterval(86_400 + 1)
        #expect(try await reopened.recordSubmission(aliasID: alias.id, recipients: 10, at: later, limits: limits) != nil)
        #expect(try await reopened.submissionUsage(aliasID: alias.id, now: later) == SubmissionUsage(messagesLastHour: 1, recipientsLastDay: 10))
        let unlimited = SubmissionLimits(maxMessagesPerHour: nil, maxRecipientsPerDay: nil)
        #expect(try await reopened.recordSubmission(aliasID: alias.id, recipients: 1000, at: later, limits: unlimited) != nil)
    }

    @Test("two frontends counting one alias at once never exceed the limit; two claims of one vacation memory: one wins", arguments: Backend.allCases)
    func concurrentCounting(_ backend: Backend) async throws {
        let (t, alias) = try await directory(backend)
        // A second view of the same directory (PostgreSQL: another pool, as another frontend would have).
        let other = try await t.reopened()
        let limits = SubmissionLimits(maxMessagesPerHour: 5, maxRecipientsPerDay: nil)
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        let views: [any MailDirectory] = [t.directory, other]
        let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                let view = views[i % 2]
                group.addTask { try await view.recordSubmission(aliasID: alias.id, recipients: 1, at: now, limits: limits) != nil }
            }
            var count = 0
            for try await ok in group where ok { count += 1 }
            return count
        }
        #expect(accepted == 5)
        #expect(try await t.directory.submissionUsage(aliasID: alias.id, now: now) == SubmissionUsage(messagesLastHour: 5, recipientsLastDay: 5))
        let entry = SieveMemoryEntry(digest: Array(repeating: 1, count: 32), expires: now.addingTimeInterval(3600))
        let claims = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                let view = views[i % 2]
                group.addTask { try await view.claimSieveMemory(aliasID: alias.id, kind: .vacation, entry: entry, now: now) }
            }
            var won = 0
            for try await ok in group where ok { won += 1 }
            return won
        }
        #expect(claims == 1)
    }
}

import Foundation
import MailCore
import Testing
@testable import Directory
import PostgresDirectory
import TestSupport

@Suite("A domain's default quota")
struct DomainQuotaTests {
    @Test("set, read back, cleared; an alias's own quota wins, then its domain's, then the node's; refusals", arguments: Backend.allCases)
    func defaultQuota(_ backend: Backend) async throws {
        let t = try await TestDirectory(backend)
        let d = t.directory
        _ = try await d.addDomain(domain("example.com"))
        _ = try await d.addDomain(domain("example.org"))
        #expect(try await d.domain(domain("example.com"))?.defaultQuotaBytes == nil)
        try await d.setDefaultQuota(domain("example.com"), bytes: 5 << 30)
        #expect(try await d.domain(domain("EXAMPLE.com"))?.defaultQuotaBytes == 5 << 30)
        #expect(try await d.domains().map(\.defaultQuotaBytes) == [5 << 30, nil])
        #expect(try await d.domain(domain("nowhere.example")) == nil)
        await expectError(.noSuchDomain) { try await d.setDefaultQuota(domain("nowhere.example"), bytes: 1) }
        await expectError(.invalidQuota) { try await d.setDefaultQuota(domain("example.com"), bytes: -1) }

        let own = try await d.addAlias(address("own@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: 1000)
        let plain = try await d.addAlias(address("plain@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let other = try await d.addAlias(address("other@example.org"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        #expect(try await d.quota(of: own, nodeDefault: 7) == 1000)
        #expect(try await d.quota(of: plain, nodeDefault: 7) == 5 << 30)
        #expect(try await d.quota(of: other, nodeDefault: 7) == 7)
        #expect(try await d.quota(of: other, nodeDefault: nil) == nil)
        // Survives a reopen (the migration's column).
        let reopened = try await t.reopened()
        #expect(try await reopened.domain(domain("example.com"))?.defaultQuotaBytes == 5 << 30)
        try await reopened.setDefaultQuota(domain("example.com"), bytes: nil)
        #expect(try await reopened.quota(of: plain, nodeDefault: 7) == 7)
    }
}

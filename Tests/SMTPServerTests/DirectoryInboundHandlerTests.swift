import Foundation
import MailboxAPI
import MailCore
import MailStore
import SealboxApp
import SMTPCore
import SMTPServer
import Testing

@Suite("The MX's routing and commit against a real node")
struct DirectoryInboundHandlerTests {
    @Test("RCPT checks: unknown user, foreign domain, no mailbox yet, quota, plus-addressing, postmaster; commit seals and stores")
    func routing() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-mx-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try SealboxNode.open(dataDirectory: dir)
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let user = try await node.directory.addAlias(try EmailAddress("user@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let password = try await node.mailboxes.createMailbox(for: user, label: "t").password
        _ = try await node.directory.addAlias(try EmailAddress("new@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let tiny = try await node.directory.addAlias(try EmailAddress("tiny@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: 1000)
        _ = try await node.mailboxes.createMailbox(for: tiny, label: "t")
        _ = try await node.directory.addAlias(try EmailAddress("fwd@example.com"), store: false,
                                              forwardTo: [try EmailAddress("out@elsewhere.example")], webhooks: ["https://hooks.example/x"], quotaBytes: nil)
        let handler = DirectoryInboundHandler(directory: node.directory, mailboxes: node.mailboxes, postmaster: try EmailAddress("user@example.com"),
                                              rewriteSender: { "SRS0=xx=yy=\($0)" })
        func code(_ local: String, _ domain: String, size: Int? = nil) async -> String {
            switch await handler.route(SMTPMailbox(localPart: local, domain: domain), size: size) {
            case .success: return "ok"
            case .failure(let r): return "\(r.code) \(r.enhanced ?? "")"
            }
        }
        #expect(await code("nobody", "example.com") == "550 5.1.1")
        #expect(await code("user", "elsewhere.example") == "550 5.7.1")
        #expect(await code("new", "example.com") == "450 4.2.1")
        #expect(await code("tiny", "example.com") == "552 5.2.2")
        #expect(await code("user+news", "example.com") == "ok")
        #expect(await code("postmaster", "") == "ok")
        #expect(await code("postmaster", "example.com") == "ok")
        #expect(await code("fwd", "example.com") == "ok")
        // quota.default: an alias without a quota of its own gets it; below the free-space floor, 452 for everyone.
        let defaulted = DirectoryInboundHandler(directory: node.directory, mailboxes: node.mailboxes, postmaster: nil,
                                                rewriteSender: { $0 }, defaultQuotaBytes: 10)
        switch await defaulted.route(SMTPMailbox(localPart: "user", domain: "example.com"), size: 100) {
        case .failure(let r): #expect(r.code == 552 && r.enhanced == "5.2.2")
        case .success: Issue.record("quota.default not applied")
        }
        // A domain's default quota comes before quota.default (and after the alias's own).
        try await node.directory.setDefaultQuota(try Domain("example.com"), bytes: 1 << 20)
        switch await handler.route(SMTPMailbox(localPart: "user", domain: "example.com"), size: 2 << 20) {
        case .failure(let r): #expect(r.code == 552 && r.enhanced == "5.2.2")
        case .success: Issue.record("the domain's default quota not applied")
        }
        switch await defaulted.route(SMTPMailbox(localPart: "user", domain: "example.com"), size: 20) {
        case .failure(let r): Issue.record("the domain's default (1 MiB) should win over quota.default (10 bytes): \(r)")
        case .success: break
        }
        try await node.directory.setDefaultQuota(try Domain("example.com"), bytes: nil)
        node.mailboxes.spaceGuard = DiskSpaceGuard(path: dir, floor: 1 << 40, measure: { _ in .init(free: 1 << 20, total: 1 << 30) })
        #expect(await code("user", "example.com") == "452 4.3.1")
        #expect(await code("fwd", "example.com") == "452 4.3.1")
        node.mailboxes.spaceGuard = nil

        guard case .success(let r1) = await handler.route(SMTPMailbox(localPart: "user+news", domain: "example.com"), size: nil),
              case .success(let r2) = await handler.route(SMTPMailbox(localPart: "fwd", domain: "example.com"), size: nil) else {
            Issue.record("routes"); return
        }
        #expect(r1.aliasAddress == "user@example.com" && r1.mailboxID != nil)
        #expect(r2.mailboxID == nil && r2.forwardTo == ["out@elsewhere.example"])
        let message = Array("Received: from x ([127.0.0.1])\r\n\tby mx (Sealbox) with ESMTP id Q; d\r\nSubject: s\r\n\r\nbody\r\n".utf8)
        try await handler.commit(InboundTransaction(mailFrom: "a@example.org", recipients: [r1, r2], message: message,
                                                    receivedAt: Date(), remoteIP: "127.0.0.1", helo: "x", queueID: "Q"))
        // One sealed copy (user), one forward job (SRS sender), one webhook job.
        let jobs = try await node.queue.outboundJobs()
        #expect(jobs.map(\.kind) == [.smtp, .webhook])
        #expect(jobs[0].sender == "SRS0=xx=yy=a@example.org" && jobs[0].originalSender == "a@example.org" && jobs[0].message == message)
        #expect(jobs[1].target == "https://hooks.example/x" && jobs[1].recipients == ["fwd@example.com"])
        let session = try await node.mailboxes.unlock(address: try EmailAddress("user@example.com"), password: password)
        let records = try await session.messages(in: "INBOX", uids: nil, changedSince: nil)
        #expect(records.count == 1)
        let bytes = try #require(try await session.messageBytes(in: "INBOX", uid: records[0].uid))
        #expect(bytes == Array("Return-Path: <a@example.org>\r\n".utf8) + message)
        await session.close()
        await node.shutdown()
    }
}

import Directory
import Foundation
import MailboxAPI
import MailCore
import MailStore
import SealboxApp
import SMTPCore
import SMTPServer
import Testing

@Suite("Submission's sender checks, routing, limits and commit against a real node")
struct DirectorySubmissionHandlerTests {
    @Test("send-as, local and remote routes, limits counted at commit, one outbound job for the remote recipients, From: checked, revocation")
    func submission() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-sub-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try SealboxNode.open(dataDirectory: dir)
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let created = try await node.directory.addAlias(try EmailAddress("user@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        _ = try await node.mailboxes.createMailbox(for: created, label: "t")
        let info = try await node.directory.addAlias(try EmailAddress("info@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        _ = try await node.mailboxes.createMailbox(for: info, label: "t")
        try await node.directory.setSendAs(aliasID: created.id, addresses: ["info@example.com"])
        let user = try #require(try await node.directory.alias(id: created.id))
        let passwordID = try #require(try await node.directory.passwords(aliasID: user.id).first?.id)
        let submitter = SMTPSubmitter(user: "user@example.com", mailboxID: try #require(user.mailboxID), passwordID: passwordID)
        let inbound = DirectoryInboundHandler(directory: node.directory, mailboxes: node.mailboxes, postmaster: nil, rewriteSender: { $0 })
        let handler = DirectorySubmissionHandler(directory: node.directory, inbound: inbound,
                                                 limits: SubmissionLimits(maxMessagesPerHour: 1, maxRecipientsPerDay: 2))
        func sender(_ text: String?) async -> String {
            let mailbox = text.map { t in SMTPMailbox(localPart: String(t.split(separator: "@")[0]), domain: String(t.split(separator: "@")[1])) }
            return await handler.authorizeSender(mailbox, submitter: submitter).map { "\($0.code) \($0.enhanced ?? "")" } ?? "ok"
        }
        #expect(await sender("user@example.com") == "ok")
        #expect(await sender("USER+tag@Example.com") == "ok")
        #expect(await sender("info@example.com") == "ok")
        #expect(await sender("other@example.com") == "553 5.7.1")
        #expect(await sender("user@elsewhere.example") == "553 5.7.1")
        #expect(await sender(nil) == "553 5.7.1")

        guard case .success(let local) = await handler.route(SMTPMailbox(localPart: "info", domain: "example.com"), submitter: submitter, accepted: 0, size: nil),
              case .success(let remote) = await handler.route(SMTPMailbox(localPart: "far", domain: "bücher.example"), submitter: submitter, accepted: 1, size: nil)
        else { Issue.record("routes"); return }
        #expect(!local.isRemote && local.mailboxID != nil && local.aliasAddress == "info@example.com", "routed as the MX routes it")
        #expect(remote.isRemote && remote.rcpt == "far@xn--bcher-kva.example")
        if case .failure(let r) = await handler.route(SMTPMailbox(localPart: "nobody", domain: "example.com"), submitter: submitter, accepted: 0, size: nil) {
            #expect(r.code == 550)
        } else { Issue.record("an unknown local address is refused") }
        if case .failure(let r) = await handler.route(SMTPMailbox(localPart: "x", domain: "remote.example"), submitter: submitter, accepted: 2, size: nil) {
            #expect(r.code == 450 && r.enhanced == "4.7.1", "a third recipient today")
        } else { Issue.record("the daily recipient limit") }

        func transaction(_ authors: [String], to recipients: [InboundRecipient]) -> InboundTransaction {
            var t = InboundTransaction(mailFrom: "user@example.com", recipients: recipients,
                                       message: Array("From: user@example.com\r\n\r\nbody\r\n".utf8), receivedAt: Date(),
                                       remoteIP: "192.0.2.1", helo: "c", queueID: "QID")
            t.authors = authors
            return t
        }
        #expect(try await handler.commit(transaction(["stranger@example.com"], to: [remote]), submitter: submitter)?.code == 553)
        #expect(try await handler.commit(transaction([], to: [remote]), submitter: submitter)?.code == 550)
        #expect(try await node.queue.outboundJobs().isEmpty, "nothing committed for a refused message")
        #expect(try await handler.commit(transaction(["user@example.com", "info@example.com"], to: [remote]), submitter: submitter) == nil)
        let jobs = try await node.queue.outboundJobs()
        #expect(jobs.count == 1 && jobs[0].recipients == ["far@xn--bcher-kva.example"] && jobs[0].sender == "user@example.com"
                && jobs[0].context["submittedBy"] == "user@example.com" && jobs[0].context["queueID"] == "QID", "\(jobs)")
        // The hour's one message is used: the next MAIL and the next commit are refused, counted in the directory.
        #expect(await sender("user@example.com") == "450 4.7.1")
        #expect(try await handler.commit(transaction(["user@example.com"], to: [remote]), submitter: submitter)?.code == 450)
        #expect(try await node.directory.submissionUsage(aliasID: user.id, now: Date()) == SubmissionUsage(messagesLastHour: 1, recipientsLastDay: 1))

        try await node.mailboxes.revokePassword(address: try EmailAddress("user@example.com"), passwordID: passwordID, allowLast: true)
        #expect(await sender("user@example.com") == "530 5.7.0")
    }
}

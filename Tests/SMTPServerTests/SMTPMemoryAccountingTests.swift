import Foundation
import MailNet
import SealboxApp
import SMTPCore
@testable import SMTPServer
import Synchronization
import Testing

/// A handler whose commit holds `copies` copies of the message, one mailbox per recipient's local
/// part; it records the budget in use while it commits, and can fail or wait for a release.
final class CopyingHandler: SMTPInboundHandler {
    let copies: Int
    let budget: SMTPMemoryBudget
    let failCommits: Bool
    let committed = Mutex<[(size: Int, budgetInUse: Int)]>([])
    init(copies: Int, budget: SMTPMemoryBudget, failCommits: Bool = false) {
        self.copies = copies; self.budget = budget; self.failCommits = failCommits
    }
    func route(_ recipient: SMTPMailbox, size: Int?) async -> Result<InboundRecipient, SMTPReply> {
        .success(InboundRecipient(rcpt: recipient.description, aliasID: recipient.localPart, aliasAddress: recipient.description,
                                  mailboxID: recipient.localPart, publicKey: [1], forwardTo: [], webhooks: []))
    }
    func copiesHeld(for recipients: [InboundRecipient]) -> Int {
        copies + Set(recipients.compactMap(\.mailboxID)).count - 1
    }
    func commit(_ transaction: InboundTransaction) async throws {
        committed.withLock { $0.append((transaction.message.count, budget.inUse)) }
        if failCommits { throw CancellationError() }
    }
}

@Suite("SMTP memory accounting: every copy of a message counts against the server's budget")
struct SMTPMemoryAccountingTests {
    static let content = String(repeating: "x", count: 298) + "\r\n"  // 300 bytes, dot-unstuffed as sent

    /// HELO, one recipient and DATA with `content`; everything the server answered, then the end.
    static func sendMessage(_ client: SMTPTestClient) async throws -> String {
        await client.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await client.waitFor(replies: 5)
        await client.send(content + ".\r\n")
        let out = try await client.waitFor(replies: 6)
        await client.finish()
        return out
    }

    @Test("each byte kept is charged once per copy the commit will hold, and all of it is given back after the 250")
    func chargedPerCopy() async throws {
        let budget = SMTPMemoryBudget(limit: 1 << 20)
        let handler = CopyingHandler(copies: 4, budget: budget)
        let client = SMTPTestClient(handler: handler, memory: budget)
        let out = try await Self.sendMessage(client)
        #expect(out.contains("250 2.0.0 Ok: queued as"))
        let commits = handler.committed.withLock { $0 }
        #expect(commits.count == 1)
        #expect(commits.first?.budgetInUse == 4 * 300, "the content's 300 bytes, four times, held through the commit")
        #expect(commits.first.map { $0.size > 300 } == true, "the Received header is in front")
        #expect(budget.inUse == 0)
    }

    @Test("a message whose copies do not fit the budget is answered 452 4.3.1 though its bytes alone would fit")
    func copiesOverBudget() async throws {
        let budget = SMTPMemoryBudget(limit: 1000)  // 300 bytes fit once, not four times
        let handler = CopyingHandler(copies: 4, budget: budget)
        let client = SMTPTestClient(handler: handler, memory: budget)
        let out = try await Self.sendMessage(client)
        #expect(out.hasSuffix("452 4.3.1 Insufficient system storage, try again later\r\n"))
        #expect(handler.committed.withLock { $0.isEmpty } && budget.inUse == 0)
    }

    @Test("BDAT: the growth of bare line endings made CRLF is charged too")
    func bdatGrowthCharged() async throws {
        let budget = SMTPMemoryBudget(limit: 1 << 20)
        let handler = CopyingHandler(copies: 2, budget: budget)
        let client = SMTPTestClient(handler: handler, memory: budget)
        await client.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nBDAT 10 LAST\r\na\nb\nc\nd\ne\n")
        let out = try await client.waitFor(replies: 5)
        await client.finish()
        #expect(out.contains("250 2.0.0 Ok: queued as"))
        #expect(handler.committed.withLock { $0.first?.budgetInUse } == 2 * 15, "10 bytes, 5 bare LFs made CRLF, twice")
        #expect(budget.inUse == 0)
    }

    @Test("a failed commit (451) and a client gone in the middle of DATA give the whole charge back")
    func givenBackOnFailure() async throws {
        let budget = SMTPMemoryBudget(limit: 1 << 20)
        let failing = CopyingHandler(copies: 4, budget: budget, failCommits: true)
        let client = SMTPTestClient(handler: failing, memory: budget)
        let out = try await Self.sendMessage(client)
        #expect(out.hasSuffix("451 4.3.0 Local error in processing, try again later\r\n"))
        #expect(failing.committed.withLock { $0.first?.budgetInUse } == 4 * 300 && budget.inUse == 0)

        let handler = CopyingHandler(copies: 4, budget: budget)
        let gone = SMTPTestClient(handler: handler, memory: budget)
        await gone.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await gone.waitFor(replies: 5)
        await gone.send(Self.content)
        let deadline = ContinuousClock.now + .seconds(300)  // generous: the full suite can starve sessions
        while budget.inUse < 4 * 300, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(budget.inUse == 4 * 300, "the content so far, charged four times")
        await gone.finish()  // the connection closes with the message unfinished
        #expect(budget.inUse == 0 && handler.committed.withLock { $0.isEmpty })
    }

    @Test("RCPT: a recipient that would make a message of the declared SIZE need more than the whole budget is refused 452 4.5.3")
    func tooManyRecipientsForSize() async throws {
        let budget = SMTPMemoryBudget(limit: 1600)  // SIZE 300 × (3 + mailboxes): 1200, 1500, then 1800
        let handler = CopyingHandler(copies: 4, budget: budget)
        let client = SMTPTestClient(handler: handler, memory: budget)
        await client.send("EHLO c\r\nMAIL FROM:<> SIZE=300\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
                          + "RCPT TO:<c@example.com>\r\nRCPT TO:<b@example.com>\r\n")
        let out = try await client.waitFor(replies: 7)
        await client.finish()
        let replies = out.components(separatedBy: "\r\n").filter { $0.count > 4 && $0.dropFirst(3).first == " " }
        #expect(replies.suffix(4).map { String($0.prefix(9)) } == ["250 2.1.5", "250 2.1.5", "452 4.5.3", "250 2.1.5"], "\(replies)")
    }

    @Test("the node's handler counts the session's buffer, the seal's copies and the queue's, per storing mailbox")
    func directoryHandlerCopies() {
        #expect(DirectoryInboundHandler.copiesHeld(storingMailboxes: 0) == 3)
        #expect(DirectoryInboundHandler.copiesHeld(storingMailboxes: 1) == 4)
        #expect(DirectoryInboundHandler.copiesHeld(storingMailboxes: 5) == 8)
    }
}

import Foundation
import MailboxTesting
import MailNet
import NIOCore
import SMTPCore
@testable import SMTPServer
import Synchronization
import Testing

/// A submission handler that allows `me@example.com` and `info@example.com`, refuses the rest,
/// routes `*@example.com` locally and the others remotely, and records what it commits.
final class RecordingSubmissionHandler: SMTPSubmissionHandler {
    let committed = Mutex<[(InboundTransaction, SMTPSubmitter)]>([])
    let allowed: Set<String> = ["me@example.com", "info@example.com"]

    func authorizeSender(_ from: SMTPMailbox?, submitter: SMTPSubmitter) async -> SMTPReply? {
        guard let from, allowed.contains(from.description) else { return SMTPReply(553, "5.7.1", "Sender address rejected") }
        return nil
    }
    func route(_ recipient: SMTPMailbox, submitter: SMTPSubmitter, accepted: Int, size: Int?) async -> Result<InboundRecipient, SMTPReply> {
        var r = InboundRecipient(rcpt: recipient.description, aliasID: "", aliasAddress: recipient.description, mailboxID: nil, publicKey: nil,
                                 forwardTo: [], webhooks: [])
        r.isRemote = recipient.domain != "example.com"
        return .success(r)
    }
    func commit(_ transaction: InboundTransaction, submitter: SMTPSubmitter) async throws -> SMTPReply? {
        if let bad = transaction.authors.first(where: { !allowed.contains($0) }) { return SMTPReply(553, "5.7.1", "From: \(bad) rejected") }
        committed.withLock { $0.append((transaction, submitter)) }
        return nil
    }
    func copiesHeld(for recipients: [InboundRecipient]) -> Int { 1 }
}

/// A submission session in memory, over the in-memory mailbox service (no scrypt, no sqlite3mc).
final class SubmissionTestClient: Sendable {
    let transport: SMTPMemoryTransport
    let inbox = SessionInbox<[UInt8]>()
    let task: Task<Void, Never>

    init(handler: RecordingSubmissionHandler, mailboxes: InMemoryMailboxService, implicitTLS: Bool, allowInsecureAuth: Bool = false) {
        var configuration = SMTPSessionConfiguration()
        configuration.hostname = "mail.test"
        let transport = SMTPMemoryTransport(tlsAvailable: !implicitTLS)
        self.transport = transport
        let inbox = self.inbox
        let authenticator = SessionAuthenticator(mailboxes: mailboxes, gate: nil, limiter: nil, sleep: { _ in })
        let submission = SMTPSubmissionContext(authenticator: authenticator, handler: handler, allowInsecureAuth: allowInsecureAuth)
        task = Task {
            let session = SMTPSession(configuration: configuration, transport: transport, handler: SubmissionOnlyInboundHandler(),
                                      remoteIP: "192.0.2.7", isTLS: implicitTLS, inbox: inbox, rateLimiter: nil, submission: submission,
                                      logger: .init(label: "test"))
            await session.run()
        }
    }

    func send(_ text: String) async {
        transport.framesSent.withLock { $0 += 1 }
        await inbox.push(frame: Array(text.utf8))
    }

    /// Sends `text` and waits (bounded) for `replies` more final replies; returns those lines.
    func exchange(_ text: String, replies: Int = 1) async throws -> [String] {
        let before = transport.output.components(separatedBy: "\r\n").dropLast().count
        await send(text)
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let lines = Array(transport.output.components(separatedBy: "\r\n").dropLast().dropFirst(before))
            if lines.filter({ $0.count >= 4 && $0.dropFirst(3).first == " " }).count >= replies { return lines }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("timed out; got:\n\(transport.output)")
        return []
    }

    func finish() async { inbox.pushClosed(); await task.value }
}

func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

@Suite("SMTP submission sessions (in memory)")
struct SMTPSubmissionSessionTests {
    func setUp() throws -> (InMemoryMailboxService, RecordingSubmissionHandler) {
        let mailboxes = InMemoryMailboxService()
        _ = try mailboxes.addMailbox(address: "me@example.com", password: "secret")
        return (mailboxes, RecordingSubmissionHandler())
    }

    @Test("plaintext port: no AUTH offered before STARTTLS, AUTH refused 538, MAIL 530; after STARTTLS AUTH PLAIN LOGIN")
    func starttls() async throws {
        let (mailboxes, handler) = try setUp()
        let client = SubmissionTestClient(handler: handler, mailboxes: mailboxes, implicitTLS: false)
        let ehlo = try await client.exchange("EHLO c.test\r\n", replies: 2)
        #expect(ehlo.contains("250-STARTTLS") && !ehlo.contains { $0.contains("AUTH") }, "\(ehlo)")
        #expect(try await client.exchange("AUTH PLAIN \(b64("\0me@example.com\0secret"))\r\n") == ["538 5.7.11 Encryption required: issue STARTTLS first"])
        #expect(try await client.exchange("MAIL FROM:<me@example.com>\r\n") == ["530 5.7.0 Authentication required"])
        #expect(try await client.exchange("STARTTLS\r\n") == ["220 2.0.0 Ready to start TLS"])
        let again = try await client.exchange("EHLO c.test\r\n")
        #expect(again.last == "250 AUTH PLAIN LOGIN" && !again.contains("250-STARTTLS"), "\(again)")
        #expect(try await client.exchange("MAIL FROM:<me@example.com>\r\n") == ["530 5.7.0 Authentication required"])
        #expect(try await client.exchange("AUTH LOGIN\r\n") == ["334 VXNlcm5hbWU6"])
        #expect(try await client.exchange("\(b64("me@example.com"))\r\n") == ["334 UGFzc3dvcmQ6"])
        #expect(try await client.exchange("\(b64("wrong"))\r\n") == ["535 5.7.8 Authentication credentials invalid"])
        #expect(try await client.exchange("AUTH LOGIN \(b64("me@example.com"))\r\n") == ["334 UGFzc3dvcmQ6"])
        #expect(try await client.exchange("\(b64("secret"))\r\n") == ["235 2.7.0 Authentication successful"])
        #expect(try await client.exchange("AUTH PLAIN\r\n") == ["503 5.5.1 Already authenticated"])
        #expect(try await client.exchange("MAIL FROM:<me@example.com> AUTH=<>\r\n") == ["250 2.1.0 Ok"])
        await client.finish()
    }

    @Test("implicit TLS: AUTH PLAIN over a 334 challenge, cancelled exchanges, unknown mechanisms, bad base64")
    func implicitTLS() async throws {
        let (mailboxes, handler) = try setUp()
        let client = SubmissionTestClient(handler: handler, mailboxes: mailboxes, implicitTLS: true)
        let ehlo = try await client.exchange("EHLO c.test\r\n", replies: 2)
        #expect(ehlo.last == "250 AUTH PLAIN LOGIN" && !ehlo.contains("250-STARTTLS"), "\(ehlo)")
        #expect(try await client.exchange("AUTH CRAM-MD5\r\n") == ["504 5.5.4 Unrecognized authentication type (PLAIN and LOGIN are offered)"])
        #expect(try await client.exchange("AUTH PLAIN ***\r\n") == ["501 5.5.2 Invalid base64 in the SASL response"])
        #expect(try await client.exchange("AUTH PLAIN\r\n") == ["334 "])
        #expect(try await client.exchange("*\r\n") == ["501 5.0.0 Authentication cancelled"])
        #expect(try await client.exchange("AUTH PLAIN \(b64("other@example.com\0me@example.com\0secret"))\r\n")
                == ["535 5.7.8 Authorization identity must match the authentication identity"])
        #expect(try await client.exchange("AUTH PLAIN\r\n") == ["334 "])
        #expect(try await client.exchange("\(b64("\0me@example.com\0secret"))\r\n") == ["235 2.7.0 Authentication successful"])
        await client.finish()
    }

    @Test("after AUTH: the handler decides senders, recipients and From:; Date and Message-ID added only when missing; the Received header names no client address")
    func transaction() async throws {
        let (mailboxes, handler) = try setUp()
        let client = SubmissionTestClient(handler: handler, mailboxes: mailboxes, implicitTLS: true)
        _ = try await client.exchange("EHLO c.test\r\n", replies: 2)
        _ = try await client.exchange("AUTH PLAIN \(b64("\0me@example.com\0secret"))\r\n")
        #expect(try await client.exchange("MAIL FROM:<boss@example.com>\r\n") == ["553 5.7.1 Sender address rejected"])
        let replies = try await client.exchange("MAIL FROM:<me@example.com>\r\nRCPT TO:<you@example.com>\r\nRCPT TO:<far@remote.test>\r\nDATA\r\n", replies: 4)
        #expect(replies == ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"])
        let done = try await client.exchange("From: Me <me@example.com>\r\nSubject: hi\r\n\r\nbody\r\n.\r\n")
        #expect(done.first?.hasPrefix("250 2.0.0 Ok: queued as ") == true, "\(done)")
        let (t, submitter) = try #require(handler.committed.withLock { $0.first })
        #expect(submitter.user == "me@example.com" && t.authors == ["me@example.com"] && t.recipients.map(\.isRemote) == [false, true])
        let text = String(decoding: t.message, as: UTF8.self)
        #expect(text.hasPrefix("Received: from authenticated-user (submission)\r\n\tby mail.test (Sealbox) with ESMTPSA id \(t.queueID); "), "\(text)")
        #expect(!text.contains("192.0.2.7") && !text.contains("c.test"))
        #expect(text.contains("\r\nDate: ") && text.contains("\r\nMessage-ID: <") && text.contains(".\(t.queueID)@mail.test>\r\n"), "\(text)")
        #expect(text.hasSuffix("From: Me <me@example.com>\r\nSubject: hi\r\n\r\nbody\r\n"))

        // Its own Date and Message-ID are kept (no second one); From: and Sender: are checked.
        _ = try await client.exchange("MAIL FROM:<info@example.com>\r\nRCPT TO:<far@remote.test>\r\nDATA\r\n", replies: 3)
        _ = try await client.exchange("From: info@example.com\r\nDate: Sun, 06 Dec 2026 09:00:00 +0000\r\nMessage-ID: <x@c.test>\r\n\r\nbody\r\n.\r\n")
        let second = try #require(handler.committed.withLock { $0.count == 2 ? $0[1].0 : nil })
        let secondText = String(decoding: second.message, as: UTF8.self)
        #expect(secondText.components(separatedBy: "Message-ID:").count == 2 && secondText.components(separatedBy: "\r\nDate:").count == 2, "\(secondText)")
        _ = try await client.exchange("MAIL FROM:<me@example.com>\r\nRCPT TO:<far@remote.test>\r\nDATA\r\n", replies: 3)
        #expect(try await client.exchange("From: me@example.com\r\nSender: boss@example.com\r\n\r\nbody\r\n.\r\n") == ["553 5.7.1 From: boss@example.com rejected"])
        #expect(handler.committed.withLock { $0.count } == 2)
        await client.finish()
    }

    @Test("SubmissionHeaders: From and Sender addresses (groups, display names, several), Date and Message-ID presence, LF-only header ends")
    func headers() {
        let h = SubmissionHeaders(Array("From: \"A, B\" <a@x.test>, c@y.test\r\nSender: Group: s@z.test;\r\nSubject: s\r\n\r\nFrom: body@no.test\r\n".utf8))
        #expect(h.authors == ["a@x.test", "c@y.test", "s@z.test"] && h.facts.hasFrom && !h.facts.hasDate && !h.facts.hasMessageID)
        let lf = SubmissionHeaders(Array("Date: x\nMessage-ID: <a@b>\n\nFrom: body@no.test\n".utf8))
        #expect(lf.authors.isEmpty && !lf.facts.hasFrom && lf.facts.hasDate && lf.facts.hasMessageID)
    }
}

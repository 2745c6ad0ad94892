import Foundation
import MailCore
import MailNet
import MailStore
import NIOCore
import SealboxApp
import SMTPCore
@testable import SMTPServer
import Synchronization
import Testing

/// The in-memory connection: what the session wrote, whether it closed, and a STARTTLS that
/// succeeds unless input was pipelined (no real TLS: the session's logic is what is tested).
final class SMTPMemoryTransport: SessionTransport {
    private let state = Mutex<(output: [UInt8], closed: Bool, tls: Bool)>(([], false, false))
    let framesSent = Mutex(0)
    let tlsAvailable: Bool
    init(tlsAvailable: Bool) { self.tlsAvailable = tlsAvailable }
    func write(_ buffer: ByteBuffer) async throws { state.withLock { $0.output.append(contentsOf: buffer.readableBytesView) } }
    var canStartTLS: Bool { tlsAvailable }
    func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool {
        guard framesSent.withLock({ $0 }) == framesConsumed else { return false }
        state.withLock { $0.output.append(contentsOf: reply.readableBytesView); $0.tls = true }
        return true
    }
    func close() async { state.withLock { $0.closed = true } }
    var output: String { String(decoding: state.withLock { $0.output }, as: UTF8.self) }
    var closed: Bool { state.withLock { $0.closed } }
}

/// Records what the session commits; refuses recipients at `refused` domains; can fail commits.
final class RecordingHandler: SMTPInboundHandler {
    let committed = Mutex<[InboundTransaction]>([])
    let failCommits: Bool
    init(failCommits: Bool = false) { self.failCommits = failCommits }
    func route(_ recipient: SMTPMailbox, size: Int?) async -> Result<InboundRecipient, SMTPReply> {
        if recipient.domain == "elsewhere.example" { return .failure(SMTPReply(550, "5.7.1", "Relaying denied")) }
        return .success(InboundRecipient(rcpt: recipient.description, aliasID: "a", aliasAddress: recipient.description, mailboxID: "m",
                                         publicKey: [1], forwardTo: [], webhooks: []))
    }
    func commit(_ transaction: InboundTransaction) async throws {
        if failCommits { throw CancellationError() }
        committed.withLock { $0.append(transaction) }
    }
}

/// One SMTP client talking to a session in memory.
final class SMTPTestClient: Sendable {
    let transport: SMTPMemoryTransport
    let inbox = SessionInbox<[UInt8]>()
    let task: Task<Void, Never>

    init(handler: any SMTPInboundHandler, tls: Bool = false, rateLimiter: SMTPRateLimiter? = nil, probeLimiter: SMTPRateLimiter? = nil,
         memory: SMTPMemoryBudget? = nil,
         configure: (inout SMTPSessionConfiguration) -> Void = { _ in }) {
        var configuration = SMTPSessionConfiguration()
        configuration.hostname = "mx.test"
        configure(&configuration)
        let transport = SMTPMemoryTransport(tlsAvailable: tls)
        self.transport = transport
        let inbox = self.inbox
        let settings = configuration
        task = Task {
            let session = SMTPSession(configuration: settings, transport: transport, handler: handler, remoteIP: "127.0.0.1", isTLS: false,
                                      inbox: inbox, rateLimiter: rateLimiter, probeLimiter: probeLimiter, memory: memory,
                                      logger: .init(label: "test"))
            await session.run()
        }
    }

    func send(_ text: String) async {
        transport.framesSent.withLock { $0 += 1 }
        await inbox.push(frame: Array(text.utf8))
    }

    /// Waits (bounded) until the output has `replies` final reply lines; returns the output. The
    /// bound is generous: in the full suite, tests that block threads can starve these sessions.
    func waitFor(replies: Int) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let out = transport.output
            let finals = out.split(separator: "\r\n").filter { $0.count >= 4 && $0.dropFirst(3).first == " " }.count
            if finals >= replies { return out }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("timed out waiting for \(replies) replies; got:\n\(transport.output)")
        return transport.output
    }

    func finish() async { inbox.pushClosed(); await task.value }
}

@Suite("SMTP session transcripts (in memory)")
struct SMTPSessionTests {
    @Test("greeting, EHLO, a whole transaction: exact replies; the committed message has the Received header in front")
    func transaction() async throws {
        let handler = RecordingHandler()
        let client = SMTPTestClient(handler: handler, tls: true)
        await client.send("EHLO client.example\r\n")
        _ = try await client.waitFor(replies: 2)
        await client.send("MAIL FROM:<a@example.org> SIZE=100\r\nRCPT TO:<u@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n")
        _ = try await client.waitFor(replies: 6)
        await client.send("Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
        let out = try await client.waitFor(replies: 8)
        await client.finish()
        let lines = out.components(separatedBy: "\r\n")
        #expect(Array(lines.prefix(14)) == [
            "220 mx.test ESMTP Sealbox ready",
            "250-mx.test greets client.example", "250-PIPELINING", "250-SIZE 52428800", "250-8BITMIME", "250-SMTPUTF8",
            "250-STARTTLS", "250-ENHANCEDSTATUSCODES", "250 CHUNKING",
            "250 2.1.0 Ok", "250 2.1.5 Ok", "550 5.7.1 Relaying denied", "354 End data with <CR><LF>.<CR><LF>",
        ] + [lines[13]])
        #expect(lines[13].hasPrefix("250 2.0.0 Ok: queued as "))
        #expect(lines[14] == "221 2.0.0 mx.test closing connection")
        #expect(client.transport.closed)
        let t = try #require(handler.committed.withLock { $0.first })
        #expect(t.mailFrom == "a@example.org" && t.recipients.map(\.rcpt) == ["u@example.com"] && t.helo == "client.example")
        let text = String(decoding: t.message, as: UTF8.self)
        #expect(text.hasPrefix("Received: from client.example ([127.0.0.1])\r\n\tby mx.test (Sealbox) with ESMTP id \(t.queueID)\r\n\tfor <u@example.com>; "))
        #expect(text.hasSuffix(" +0000\r\nSubject: hi\r\n\r\n.dot\r\n"))
    }

    @Test("the Received header's date: RFC 5322 in UTC, as Foundation's formatter writes it")
    func receivedDate() {
        #expect(SMTPSession.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(SMTPSession.rfc5322Date(Date(timeIntervalSince1970: 1_796_547_903.9)) == "Sun, 06 Dec 2026 09:05:03 +0000")
        #expect(SMTPSession.rfc5322Date(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        let reference = Date.VerbatimFormatStyle(
            format: "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) +0000",
            locale: Locale(identifier: "en_US_POSIX"), timeZone: TimeZone(identifier: "UTC")!, calendar: Calendar(identifier: .gregorian))
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {  // 1970 to 2200, with fractions of a second
            let date = Date(timeIntervalSince1970: Double(rng.next(upperBound: UInt64(7_258_118_400))) + Double(rng.next(upperBound: UInt64(1000))) / 1000)
            #expect(SMTPSession.rfc5322Date(date) == date.formatted(reference), "\(date.timeIntervalSince1970)")
        }
    }

    @Test("a failed commit answers 451 and stores nothing; the session goes on")
    func commitFailure() async throws {
        let client = SMTPTestClient(handler: RecordingHandler(failCommits: true))
        await client.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await client.waitFor(replies: 5)
        await client.send("x\r\n.\r\nNOOP\r\n")
        let out = try await client.waitFor(replies: 7)
        await client.finish()
        #expect(out.contains("451 4.3.0 Local error in processing, try again later\r\n250 2.0.0 Ok\r\n"))
    }

    @Test("STARTTLS: a pipelined command is refused and the connection closed; after TLS, EHLO is needed again")
    func startTLS() async throws {
        let pipelined = SMTPTestClient(handler: RecordingHandler(), tls: true)
        await pipelined.send("EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@b.example>\r\n")
        let out = try await pipelined.waitFor(replies: 3)
        await pipelined.task.value
        #expect(out.hasSuffix("554 5.5.1 Command pipelined after STARTTLS, closing connection\r\n"))
        #expect(!out.contains("220 2.0.0") && pipelined.transport.closed)

        let client = SMTPTestClient(handler: RecordingHandler(), tls: true)
        await client.send("EHLO c\r\n")
        _ = try await client.waitFor(replies: 2)
        await client.send("STARTTLS\r\n")
        _ = try await client.waitFor(replies: 3)
        await client.send("MAIL FROM:<a@b.example>\r\nEHLO c\r\n")
        let after = try await client.waitFor(replies: 5)
        await client.finish()
        #expect(after.contains("220 2.0.0 Ready to start TLS\r\n503 5.5.1 Send EHLO or HELO first\r\n250-mx.test greets c\r\n"))
        #expect(!after.split(separator: "\r\n").suffix(8).contains("250-STARTTLS"), "not offered again inside TLS")
    }

    @Test("shutdown answers 421 4.3.2; an idle client gets 421 4.4.2; a client that only wastes commands is cut off")
    func closing() async throws {
        let shutdown = SMTPTestClient(handler: RecordingHandler())
        _ = try await shutdown.waitFor(replies: 1)
        shutdown.inbox.pushShutdown()
        await shutdown.task.value
        #expect(shutdown.transport.output.hasSuffix("421 4.3.2 mx.test Server shutting down, try again later\r\n"))

        let idle = SMTPTestClient(handler: RecordingHandler()) { $0.idleTimeout = .zero }
        _ = try await idle.waitFor(replies: 1)
        idle.inbox.pushTick()
        await idle.task.value
        #expect(idle.transport.output.hasSuffix("421 4.4.2 mx.test Timeout waiting for input, closing connection\r\n"))

        let noisy = SMTPTestClient(handler: RecordingHandler()) { $0.limits.maxIdleCommands = 3 }
        await noisy.send("NOOP\r\nNOOP\r\nRSET\r\nVRFY x\r\nNOOP\r\n")
        await noisy.task.value
        #expect(noisy.transport.output.hasSuffix("421 4.7.0 mx.test Too many commands without mail, closing connection\r\n"))
        #expect(noisy.transport.closed)
    }

    @Test("per-IP message rate: MAIL over the limit gets 450 4.7.1")
    func rateLimit() async throws {
        let limiter = SMTPRateLimiter(perMinute: 2)
        let client = SMTPTestClient(handler: RecordingHandler(), rateLimiter: limiter)
        await client.send("HELO c\r\nMAIL FROM:<>\r\nRSET\r\nMAIL FROM:<>\r\nRSET\r\nMAIL FROM:<>\r\n")
        let out = try await client.waitFor(replies: 7)
        await client.finish()
        #expect(out.hasSuffix("450 4.7.1 Too many messages from your address, try again later\r\n"))
        let t0 = ContinuousClock.now
        #expect(!limiter.allow("127.0.0.1", now: t0))
        #expect(limiter.allow("127.0.0.1", now: t0 + .seconds(61)), "the window slides")
        #expect(limiter.allow("192.0.2.1", now: t0), "per address")
    }

    @Test("the server's memory budget: a message that does not fit is read to its end and answered 452 4.3.1; the budget is given back")
    func memoryBudget() async throws {
        let budget = SMTPMemoryBudget(limit: 100)
        let handler = RecordingHandler()
        let client = SMTPTestClient(handler: handler, memory: budget)
        await client.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await client.waitFor(replies: 5)
        await client.send(String(repeating: "x", count: 300) + "\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await client.waitFor(replies: 9)
        #expect(budget.inUse == 0)
        await client.send("small\r\n.\r\n")
        let out = try await client.waitFor(replies: 10)
        await client.finish()
        #expect(out.contains("354 End data with <CR><LF>.<CR><LF>\r\n452 4.3.1 Insufficient system storage, try again later\r\n250 2.1.0"))
        #expect(out.hasSuffix("\r\n") && out.components(separatedBy: "\r\n").dropLast().last!.hasPrefix("250 2.0.0 Ok: queued as"))
        #expect(handler.committed.withLock { $0.count } == 1 && budget.inUse == 0)
    }

    @Test("BDAT: chunks without MAIL are read and refused; LAST commits (oversize chunks: SMTPHardeningTests)")
    func bdat() async throws {
        let handler = RecordingHandler()
        let client = SMTPTestClient(handler: handler) { $0.limits.maxMessageSize = 10 }
        await client.send("EHLO c\r\nBDAT 3\r\nabcMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.com>\r\n")
        await client.send("BDAT 4\r\na\nbcBDAT 0 LAST\r\n")
        let out = try await client.waitFor(replies: 7)
        await client.finish()
        let replies = out.components(separatedBy: "\r\n").filter { $0.count > 4 && $0.dropFirst(3).first == " " }
        #expect(replies.map { String($0.prefix(9)) } == ["220 mx.te", "250 CHUNK", "503 5.5.1", "250 2.1.0", "250 2.1.5",
                                                           "250 2.0.0", "250 2.0.0"], "\(replies)")
        let message = try #require(handler.committed.withLock { $0.first }).message
        #expect(String(decoding: message, as: UTF8.self).hasSuffix("\r\na\r\nbc"), "BDAT content with bare LF made CRLF")
    }
}

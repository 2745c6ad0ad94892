import MailNet
import SMTPCore
@testable import SMTPServer
import Synchronization
import Testing

/// Slow clients, recipient probing and absurd chunk sizes (issue 15 items 5, 6, 12). Time moves on
/// a manual clock; the tarpit's waits are recorded instead of slept.
@Suite("SMTP session hardening (in memory)")
struct SMTPHardeningTests {
    static func finalReplies(_ out: String) -> [String] {
        out.components(separatedBy: "\r\n").filter { $0.count >= 4 && $0.dropFirst(3).first == " " }
    }

    @Test("a command line trickled a byte at a time is cut off once it takes longer than commandTimeout (never idle)")
    func trickledCommandLine() async throws {
        let (clock, advance) = SessionClock.manual()
        let client = SMTPTestClient(handler: RecordingHandler()) {
            $0.clock = clock; $0.idleTimeout = .seconds(300); $0.commandTimeout = .seconds(60)
        }
        // Whole lines 25 s apart, for 10 minutes: never cut off.
        for i in 1...24 {
            advance(.seconds(25))
            await client.send("NOOP\r\n")
            _ = try await client.waitFor(replies: 1 + i)
        }
        // The next line's first bytes come with a reply, so its start is known to the test.
        await client.send("NOOP\r\nMA")
        _ = try await client.waitFor(replies: 26)
        for byte in ["I", "L", " ", "F"] {
            advance(.seconds(25))
            await client.send(byte)
        }
        await client.task.value
        let replies = Self.finalReplies(client.transport.output)
        #expect(replies.count == 27, "\(replies)")
        #expect(replies.last == "421 4.4.2 mx.test Timeout: the command line came too slowly, closing connection")
        #expect(client.transport.closed)
    }

    @Test("a command line over the length limit, trickled, is cut off too (its bytes are skipped, not buffered)")
    func trickledLongLine() async throws {
        let (clock, advance) = SessionClock.manual()
        let client = SMTPTestClient(handler: RecordingHandler()) {
            $0.clock = clock; $0.commandTimeout = .seconds(60); $0.limits.maxCommandLineLength = 10
        }
        await client.send("NOOP\r\n" + String(repeating: "x", count: 20))
        _ = try await client.waitFor(replies: 3)  // greeting, 250, 500 line too long
        advance(.seconds(61))
        await client.send("x")
        await client.task.value
        #expect(client.transport.output.hasSuffix("421 4.4.2 mx.test Timeout: the command line came too slowly, closing connection\r\n"))
    }

    @Test("DATA trickled is cut off after dataTimeout; a transfer at minDataRate may take longer; a silent one is ended at a tick")
    func trickledData() async throws {
        let (clock, advance) = SessionClock.manual()
        let handler = RecordingHandler()
        let configure: (inout SMTPSessionConfiguration) -> Void = {
            $0.clock = clock; $0.idleTimeout = .seconds(300); $0.dataTimeout = .seconds(120); $0.minDataRate = 10
        }
        let slow = SMTPTestClient(handler: handler, configure: configure)
        await slow.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await slow.waitFor(replies: 5)
        for _ in 0..<3 {
            advance(.seconds(50))
            await slow.send("Subject: x\r\n")
        }
        await slow.task.value
        #expect(slow.transport.output.hasSuffix("421 4.4.2 mx.test Timeout: the message data came too slowly, closing connection\r\n"))

        // 2,000 bytes at 10 bytes a second may take 200 s: past dataTimeout (120 s), not cut off.
        let steady = SMTPTestClient(handler: handler, configure: configure)
        await steady.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await steady.waitFor(replies: 5)
        advance(.seconds(10))
        await steady.send(String(repeating: String(repeating: "y", count: 498) + "\r\n", count: 4))
        advance(.seconds(180))
        await steady.send(".\r\n")
        let out = try await steady.waitFor(replies: 6)
        await steady.finish()
        #expect(Self.finalReplies(out).last?.hasPrefix("250 2.0.0 Ok: queued as") == true, "\(out)")

        // Nothing after the 354: the tick ends it at dataTimeout, before the idle timeout.
        let silent = SMTPTestClient(handler: handler, configure: configure)
        await silent.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n")
        _ = try await silent.waitFor(replies: 5)
        advance(.seconds(121))
        silent.inbox.pushTick()
        await silent.task.value
        #expect(silent.transport.output.hasSuffix("421 4.4.2 mx.test Timeout: the message data came too slowly, closing connection\r\n"))
    }

    @Test("a BDAT chunk trickled is cut off after dataTimeout")
    func trickledChunk() async throws {
        let (clock, advance) = SessionClock.manual()
        let client = SMTPTestClient(handler: RecordingHandler()) { $0.clock = clock; $0.dataTimeout = .seconds(120) }
        await client.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\n")
        _ = try await client.waitFor(replies: 4)
        await client.send("NOOP\r\nBDAT 1000 LAST\r\n")
        _ = try await client.waitFor(replies: 5)  // the NOOP's reply goes out once the BDAT is read too
        for _ in 0..<3 {
            advance(.seconds(50))
            await client.send("z")
        }
        await client.task.value
        #expect(client.transport.output.hasSuffix("421 4.4.2 mx.test Timeout: the message data came too slowly, closing connection\r\n"))
    }

    @Test("BDAT over the size limit (one chunk, or the sum) is refused at once with 552 5.3.4 and the connection closed",
          arguments: ["MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nBDAT 99999999999 LAST\r\n",
                      "BDAT 99999999999\r\n",
                      "MAIL FROM:<>\r\nRCPT TO:<u@example.com>\r\nBDAT 600\r\n" + String(repeating: "a", count: 600) + "BDAT 600 LAST\r\n"])
    func absurdChunk(_ commands: String) async throws {
        let client = SMTPTestClient(handler: RecordingHandler()) { $0.limits.maxMessageSize = 1000; $0.limits.maxChunkSize = 1000 }
        await client.send("EHLO c\r\n" + commands + "aaaa")
        await client.task.value  // ends without the announced bytes
        let replies = Self.finalReplies(client.transport.output)
        #expect(replies.last == "552 5.3.4 Message too big for this server (limit 1000 octets); the chunk cannot be skipped, closing connection",
                "\(replies)")
        #expect(client.transport.closed)
    }

    @Test("recipient probing: refusals past tarpitAfter are answered late, growing to a cap; past closeAfter 421 4.7.0")
    func probing() async throws {
        let delays = Mutex<[Duration]>([])
        let client = SMTPTestClient(handler: RecordingHandler()) {
            $0.probes.tarpitAfter = 2; $0.probes.closeAfter = 5
            $0.probes.tarpitStep = .seconds(1); $0.probes.tarpitMax = .seconds(2)
            $0.sleep = { d in delays.withLock { $0.append(d) } }
        }
        await client.send("HELO c\r\nMAIL FROM:<>\r\n" + (1...6).map { "RCPT TO:<n\($0)@elsewhere.example>\r\n" }.joined())
        await client.task.value
        let replies = Self.finalReplies(client.transport.output)
        #expect(replies.dropFirst(3).map { String($0.prefix(9)) } == ["550 5.7.1", "550 5.7.1", "550 5.7.1", "550 5.7.1", "550 5.7.1",
                                                                       "421 4.7.0"], "\(replies)")
        #expect(replies.last == "421 4.7.0 mx.test Too many unknown recipients, closing connection")
        #expect(delays.withLock { $0 } == [.seconds(1), .seconds(2), .seconds(2)])
        #expect(client.transport.closed)
    }

    @Test("accepted recipients are never delayed, even in a session already slowed down")
    func knownRecipientsNotDelayed() async throws {
        let delays = Mutex<[Duration]>([])
        let client = SMTPTestClient(handler: RecordingHandler()) {
            $0.probes.tarpitAfter = 1; $0.probes.closeAfter = 5
            $0.sleep = { d in delays.withLock { $0.append(d) } }
        }
        await client.send("HELO c\r\nMAIL FROM:<>\r\n" + (1...50).map { "RCPT TO:<u\($0)@example.com>\r\n" }.joined()
                          + "RCPT TO:<x@elsewhere.example>\r\nRCPT TO:<y@elsewhere.example>\r\n"
                          + (51...99).map { "RCPT TO:<u\($0)@example.com>\r\n" }.joined())
        let out = try await client.waitFor(replies: 3 + 101)
        await client.finish()
        let codes = Self.finalReplies(out).dropFirst(3).map { $0.prefix(3) }
        #expect(codes == Array(repeating: "250", count: 50) + ["550", "550"] + Array(repeating: "250", count: 49))
        #expect(delays.withLock { $0 } == [.seconds(1)], "only the second refusal waited")
    }

    @Test("per client address across sessions: past perIPLimit refusals, the next one ends its session")
    func probingAcrossSessions() async throws {
        let limiter = SMTPRateLimiter(limit: 3, window: .seconds(3600))
        let configure: (inout SMTPSessionConfiguration) -> Void = { $0.sleep = { _ in } }
        let first = SMTPTestClient(handler: RecordingHandler(), probeLimiter: limiter, configure: configure)
        await first.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@elsewhere.example>\r\nRCPT TO:<b@elsewhere.example>\r\nQUIT\r\n")
        await first.task.value
        #expect(Self.finalReplies(first.transport.output).map { String($0.prefix(3)) } == ["220", "250", "250", "550", "550", "221"])

        let second = SMTPTestClient(handler: RecordingHandler(), probeLimiter: limiter, configure: configure)
        await second.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<c@elsewhere.example>\r\nRCPT TO:<u@example.com>\r\nRCPT TO:<d@elsewhere.example>\r\n")
        await second.task.value
        #expect(Self.finalReplies(second.transport.output).map { String($0.prefix(9)) }
                == ["220 mx.te", "250 mx.te", "250 2.1.0", "550 5.7.1", "250 2.1.5", "421 4.7.0"])
    }
}

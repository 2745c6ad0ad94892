import Foundation
import MailboxAPI
import MailCore
import MailNet
import MailStore
@testable import POP3Server
import Testing

let message1 = "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n"
let message2 = "From: b@example.org\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\nline 3\r\n"
let message3 = "From: c@example.org\r\nSubject: three\r\n\r\nThird\r\n"

/// A harness with the three messages delivered.
func harnessWithMail(realStore: Bool = false) async throws -> POP3Harness {
    let h = try await POP3Harness(realStore: realStore)
    for m in [message1, message2, message3] { try await h.deliver(m) }
    return h
}

@Suite("POP3 transcripts")
struct POP3TranscriptTests {
    @Test("greeting and CAPA before login, plaintext allowed")
    func capaInsecureAllowed() async throws {
        let h = try await POP3Harness()
        let c = h.connect()
        #expect(try await c.read() == "+OK Sealbox POP3 ready\r\n")
        #expect(try await c.command("CAPA", multiline: true) == """
            +OK Capability list follows\r
            TOP\r
            UIDL\r
            RESP-CODES\r
            AUTH-RESP-CODE\r
            PIPELINING\r
            EXPIRE NEVER\r
            IMPLEMENTATION Sealbox-0.1\r
            USER\r
            SASL PLAIN\r
            .\r

            """)
        #expect(try await c.command("AUTH", multiline: true) == "+OK Supported mechanisms follow\r\nPLAIN\r\n.\r\n")
        #expect(try await c.command("QUIT") == "+OK Sealbox POP3 signing off\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("without TLS: STLS offered, passwords refused until STLS")
    func stls() async throws {
        let h = try await harnessWithMail()
        let c = h.connect(allowInsecureAuth: false, canStartTLS: true)
        _ = try await c.read()
        let capa = try await c.command("CAPA", multiline: true)
        #expect(capa.contains("STLS\r\n") && !capa.contains("USER\r\n") && !capa.contains("SASL"), "\(capa)")
        let refusal = "-ERR [AUTH] Plaintext authentication is disallowed without TLS; use STLS or port 995\r\n"
        #expect(try await c.command("USER \(h.address)") == refusal)
        #expect(try await c.command("PASS \(h.password)") == refusal)
        #expect(try await c.command("AUTH PLAIN AHVzZXIAcGFzcw==") == refusal)
        #expect(try await c.command("AUTH", multiline: true) == "+OK Supported mechanisms follow\r\n.\r\n")
        #expect(try await c.command("STLS") == "+OK Begin TLS negotiation now\r\n")
        #expect(c.transport.tlsStarted)
        let after = try await c.command("CAPA", multiline: true)
        #expect(!after.contains("STLS") && after.contains("USER\r\n") && after.contains("SASL PLAIN\r\n"), "\(after)")
        #expect(try await c.command("STLS") == "-ERR TLS is already active\r\n")
        try await c.login(h, greeting: false)
        #expect(try await c.command("STAT") == "+OK 3 \(message1.utf8.count + message2.utf8.count + message3.utf8.count)\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("STLS with a command pipelined after it is refused and the connection closed")
    func stlsInjection() async throws {
        let h = try await POP3Harness()
        let c = h.connect(allowInsecureAuth: false, canStartTLS: true)
        _ = try await c.read()
        await c.sendRaw(Array("STLS\r\nUSER \(h.address)\r\n".utf8))
        #expect(try await c.read() == "-ERR STLS must be the last command before the TLS handshake\r\n")
        try await c.waitClosed()
        #expect(!c.transport.tlsStarted)
        // The injected USER was never answered.
        #expect(!c.text.contains("Send PASS"))
        await c.close()
        await h.cleanUp()
    }

    @Test("STLS is refused where TLS is not configured")
    func stlsUnavailable() async throws {
        let h = try await POP3Harness()
        let c = h.connect()
        _ = try await c.read()
        #expect(try await c.command("STLS") == "-ERR TLS is not available\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP and QUIT")
    func transaction() async throws {
        let h = try await harnessWithMail()
        let mailbox = try await h.open()
        let folder = try #require(try await mailbox.folder("INBOX"))
        let uids = try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).map(\.uid).sorted()
        let sizes = [message1, message2, message3].map(\.utf8.count)
        let c = h.connect()
        _ = try await c.read()
        #expect(try await c.command("USER \(h.address)") == "+OK Send PASS\r\n")
        #expect(try await c.command("PASS \(h.password)") == "+OK Logged in; maildrop has 3 messages (\(sizes.reduce(0, +)) octets)\r\n")
        #expect(try await c.command("STAT") == "+OK 3 \(sizes.reduce(0, +))\r\n")
        #expect(try await c.command("LIST", multiline: true) ==
                "+OK 3 messages (\(sizes.reduce(0, +)) octets)\r\n1 \(sizes[0])\r\n2 \(sizes[1])\r\n3 \(sizes[2])\r\n.\r\n")
        #expect(try await c.command("LIST 2") == "+OK 2 \(sizes[1])\r\n")
        #expect(try await c.command("LIST 4") == "-ERR No such message\r\n")
        // UIDL is UIDVALIDITY.UID: the same identity IMAP gives the message.
        let uidl = uids.enumerated().map { "\($0.offset + 1) \(folder.uidValidity).\($0.element)\r\n" }.joined()
        #expect(try await c.command("UIDL", multiline: true) == "+OK Unique-ID listing follows\r\n\(uidl).\r\n")
        #expect(try await c.command("UIDL 3") == "+OK 3 \(folder.uidValidity).\(uids[2])\r\n")
        // RETR: exact bytes, dot-stuffed.
        #expect(try await c.command("RETR 1", multiline: true) ==
                "+OK \(sizes[0]) octets\r\n" + message1.replacingOccurrences(of: "\n.dot", with: "\n..dot") + ".\r\n")
        #expect(try await c.command("TOP 2 1", multiline: true) ==
                "+OK Top of message follows\r\nFrom: b@example.org\r\nSubject: two\r\n\r\nline 1\r\n.\r\n")
        #expect(try await c.command("TOP 2 0", multiline: true) ==
                "+OK Top of message follows\r\nFrom: b@example.org\r\nSubject: two\r\n\r\n.\r\n")
        #expect(try await c.command("DELE 2") == "+OK Message 2 deleted\r\n")
        #expect(try await c.command("DELE 2") == "-ERR Message 2 is deleted\r\n")
        #expect(try await c.command("RETR 2") == "-ERR Message 2 is deleted\r\n")
        #expect(try await c.command("STAT") == "+OK 2 \(sizes[0] + sizes[2])\r\n")
        #expect(try await c.command("LIST", multiline: true) ==
                "+OK 2 messages (\(sizes[0] + sizes[2]) octets)\r\n1 \(sizes[0])\r\n3 \(sizes[2])\r\n.\r\n")
        #expect(try await c.command("RSET") == "+OK Maildrop has 3 messages (\(sizes.reduce(0, +)) octets)\r\n")
        #expect(try await c.command("DELE 3") == "+OK Message 3 deleted\r\n")
        #expect(try await c.command("NOOP") == "+OK\r\n")
        // Until QUIT nothing has changed in the mailbox.
        #expect(try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).count == 3)
        #expect(try await c.command("QUIT") == "+OK Sealbox POP3 signing off (2 messages left)\r\n")
        try await c.waitClosed()
        await c.close()
        // UPDATE: message 3 expunged, message 1 (retrieved) \Seen, message 2 (only TOP) unseen.
        let after = try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).sorted { $0.uid < $1.uid }
        #expect(after.map(\.uid) == [uids[0], uids[1]])
        #expect(after[0].flags.contains(.seen))
        #expect(!after[1].flags.contains(.seen))
        #expect(!after.contains { $0.flags.contains(.deleted) })
        await mailbox.close()
        await h.cleanUp()
    }

    @Test("a connection that ends without QUIT deletes nothing")
    func noUpdateWithoutQuit() async throws {
        let h = try await harnessWithMail()
        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("DELE 1") == "+OK Message 1 deleted\r\n")
        await c.close()
        let mailbox = try await h.open()
        #expect(try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).count == 3)
        await mailbox.close()
        await h.cleanUp()
    }

    @Test("malformed and out-of-state commands get -ERR and the session goes on")
    func errors() async throws {
        let h = try await harnessWithMail()
        let c = h.connect()
        _ = try await c.read()
        #expect(try await c.command("FOO") == "-ERR Unknown command\r\n")
        #expect(try await c.command("") == "-ERR Empty command\r\n")
        #expect(try await c.command("STAT") == "-ERR Log in first\r\n")
        #expect(try await c.command("NOOP") == "-ERR Log in first\r\n")
        #expect(try await c.command("PASS x") == "-ERR Send USER first\r\n")
        #expect(try await c.command("APOP a b") == "-ERR APOP is not supported; use USER/PASS or AUTH PLAIN over TLS\r\n")
        #expect(try await c.command("USER a b") == "-ERR USER takes one argument\r\n")
        #expect(try await c.command(String(repeating: "x", count: 5000)) == "-ERR Line too long\r\n")
        await c.sendRaw([0x55, 0x53, 0x45, 0x52, 0x20, 0xFF, 0xFE, 0x0D, 0x0A])
        #expect(try await c.read() == "-ERR Command is not valid UTF-8\r\n")
        try await c.login(h, greeting: false)
        #expect(try await c.command("USER x") == "-ERR Already authenticated\r\n")
        #expect(try await c.command("AUTH PLAIN") == "-ERR Already authenticated\r\n")
        #expect(try await c.command("STLS") == "-ERR Already authenticated\r\n")
        #expect(try await c.command("RETR") == "-ERR Message number required\r\n")
        #expect(try await c.command("RETR 0") == "-ERR Invalid message number\r\n")
        #expect(try await c.command("RETR 99") == "-ERR No such message\r\n")
        #expect(try await c.command("TOP 1") == "-ERR TOP takes a message number and a line count\r\n")
        #expect(try await c.command("TOP 1 x") == "-ERR Invalid line count\r\n")
        #expect(try await c.command("STAT 1") == "-ERR STAT takes no arguments\r\n")
        #expect(try await c.command("LIST 1 2") == "-ERR Too many arguments\r\n")
        #expect(try await c.command("STAT") == "+OK 3 \([message1, message2, message3].map(\.utf8.count).reduce(0, +))\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("failed logins: the same answer for a wrong password and an unknown address")
    func failedLogin() async throws {
        let h = try await POP3Harness()
        let c = h.connect()
        _ = try await c.read()
        _ = try await c.command("USER \(h.address)")
        #expect(try await c.command("PASS wrong") == "-ERR [AUTH] Authentication failed\r\n")
        _ = try await c.command("USER nobody@example.com")
        #expect(try await c.command("PASS \(h.password)") == "-ERR [AUTH] Authentication failed\r\n")
        _ = try await c.command("USER not an address")
        _ = try await c.command("USER not-an-address")
        #expect(try await c.command("PASS x") == "-ERR [AUTH] Authentication failed\r\n")
        // USER is forgotten after a failed PASS.
        #expect(try await c.command("PASS \(h.password)") == "-ERR Send USER first\r\n")
        try await c.login(h, greeting: false)
        await c.close()
        await h.cleanUp()
    }

    @Test("AUTH PLAIN: initial response, continuation, cancel and malformed responses")
    func authPlain() async throws {
        let h = try await POP3Harness()
        func plain(_ authz: String, _ user: String, _ password: String) -> String {
            Data((authz + "\0" + user + "\0" + password).utf8).base64EncodedString()
        }
        let c = h.connect()
        _ = try await c.read()
        #expect(try await c.command("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism\r\n")
        #expect(try await c.command("AUTH PLAIN") == "+ \r\n")
        #expect(try await c.command("*") == "-ERR Authentication cancelled\r\n")
        #expect(try await c.command("AUTH PLAIN !!!") == "-ERR Invalid base64 in the SASL response\r\n")
        #expect(try await c.command("AUTH PLAIN \(Data("onlyone".utf8).base64EncodedString())") == "-ERR Malformed PLAIN response\r\n")
        #expect(try await c.command("AUTH PLAIN \(plain("other@example.com", h.address, h.password))") ==
                "-ERR [AUTH] Authorization identity must match the authentication identity\r\n")
        #expect(try await c.command("AUTH PLAIN \(plain("", h.address, "wrong"))") == "-ERR [AUTH] Authentication failed\r\n")
        #expect(try await c.command("AUTH PLAIN") == "+ \r\n")
        #expect(try await c.command(plain("", h.address, h.password)).hasPrefix("+OK Logged in; maildrop has 0 messages"))
        await c.close()

        let d = h.connect()
        _ = try await d.read()
        #expect(try await d.command("AUTH PLAIN \(plain(h.address, h.address, h.password))").hasPrefix("+OK Logged in"))
        await d.close()
        await h.cleanUp()
    }

    @Test("PIPELINING: commands sent together are all answered, in order")
    func pipelining() async throws {
        let h = try await harnessWithMail()
        let c = h.connect()
        _ = try await c.read()
        await c.sendRaw(Array("USER \(h.address)\r\nPASS \(h.password)\r\nSTAT\r\nLIST 1\r\nUIDL 2\r\nDELE 3\r\nNOOP\r\n".utf8))
        #expect(try await c.read() == "+OK Send PASS\r\n")
        #expect(try await c.read().hasPrefix("+OK Logged in"))
        #expect(try await c.read().hasPrefix("+OK 3 "))
        #expect(try await c.read().hasPrefix("+OK 1 "))
        #expect(try await c.read().hasPrefix("+OK 2 "))
        #expect(try await c.read() == "+OK Message 3 deleted\r\n")
        #expect(try await c.read() == "+OK\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("a message expunged by another session after login: RETR says so")
    func concurrentExpunge() async throws {
        let h = try await harnessWithMail()
        let c = h.connect()
        try await c.login(h)
        let mailbox = try await h.open()
        let uid = try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).map(\.uid).sorted()[1]
        _ = try await mailbox.storeFlags(in: "INBOX", uids: UIDSet([uid]), operation: .add, flags: .deleted, keywords: [], unchangedSince: nil)
        _ = try await mailbox.expunge(in: "INBOX", uids: nil)
        #expect(try await c.command("RETR 2") == "-ERR Message 2 was removed by another session\r\n")
        #expect(try await c.command("DELE 2") == "+OK Message 2 deleted\r\n")
        #expect(try await c.command("DELE 1") == "+OK Message 1 deleted\r\n")
        #expect(try await c.command("QUIT") == "+OK Sealbox POP3 signing off (1 message left)\r\n")
        #expect(try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).count == 1)
        await mailbox.close()
        await c.close()
        await h.cleanUp()
    }

    @Test("the throttle refuses a locked-out client")
    func throttled() async throws {
        struct RefuseAll: AuthGate {
            func begin(ip: String, account: String) async -> Duration? { .seconds(600) }
            func failed(ip: String, account: String) async -> AuthFailureVerdict { AuthFailureVerdict(answerAfter: .zero) }
            func succeeded(ip: String, account: String) async {}
            func cancelled(ip: String, account: String) async {}
        }
        let h = try await POP3Harness()
        let c = h.connect(authGate: RefuseAll())
        _ = try await c.read()
        _ = try await c.command("USER \(h.address)")
        #expect(try await c.command("PASS \(h.password)") == "-ERR [SYS/TEMP] Too many failed logins; try again in 600 seconds\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("the per-mailbox session limit answers IN-USE")
    func sessionLimit() async throws {
        let h = try await POP3Harness()
        let limiter = SessionLimiter(maxPerMailbox: 1)
        let first = h.connect(sessionLimiter: limiter)
        try await first.login(h)
        let second = h.connect(sessionLimiter: limiter)
        _ = try await second.read()
        _ = try await second.command("USER \(h.address)")
        #expect(try await second.command("PASS \(h.password)") == "-ERR [IN-USE] Too many sessions for this mailbox\r\n")
        #expect(try await first.command("QUIT").hasPrefix("+OK"))
        await first.close()
        try await second.login(h, greeting: false)
        await second.close()
        await h.cleanUp()
    }

    @Test("autologout: before login and in TRANSACTION (then nothing is deleted)")
    func autologout() async throws {
        let h = try await harnessWithMail()
        let (clock, advance) = SessionClock.manual()
        let c = h.connect { $0.clock = clock; $0.preAuthTimeout = .seconds(60) }
        _ = try await c.read()
        advance(.seconds(61))
        c.inbox.pushTick()
        #expect(try await c.read() == "-ERR Autologout; idle for too long\r\n")
        try await c.waitClosed()
        await c.close()

        let d = h.connect { $0.clock = clock; $0.idleTimeout = .seconds(600) }
        try await d.login(h)
        #expect(try await d.command("DELE 1") == "+OK Message 1 deleted\r\n")
        advance(.seconds(601))
        d.inbox.pushTick()
        #expect(try await d.read() == "-ERR Autologout; idle for too long\r\n")
        try await d.waitClosed()
        await d.close()
        let mailbox = try await h.open()
        #expect(try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).count == 3)
        await mailbox.close()
        await h.cleanUp()
    }

    @Test("graceful shutdown: -ERR [SYS/TEMP] and close")
    func shutdown() async throws {
        let h = try await POP3Harness()
        let c = h.connect()
        _ = try await c.read()
        c.inbox.pushShutdown()
        #expect(try await c.read() == "-ERR [SYS/TEMP] Server shutting down\r\n")
        try await c.waitClosed()
        await c.close()
        await h.cleanUp()
    }

    @Test("revoking the session's password ends the session at its next command")
    func revoked() async throws {
        let h = try await harnessWithMail(realStore: true)
        let second = try await h.node!.mailboxes.addPassword(address: try EmailAddress(h.address), currentPassword: h.password, label: "phone")
        let c = h.connect()
        _ = try await c.read()
        _ = try await c.command("USER \(h.address)")
        #expect(try await c.command("PASS \(second.password)").hasPrefix("+OK Logged in"))
        #expect(try await c.command("DELE 1") == "+OK Message 1 deleted\r\n")
        try await h.node!.mailboxes.revokePassword(address: try EmailAddress(h.address), passwordID: second.record.id)
        // The change reaches the session asynchronously; poll with NOOP (bounded).
        var reply = ""
        for _ in 0..<200 {
            reply = try await c.command("NOOP")
            if reply != "+OK\r\n" { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(reply == "-ERR [AUTH] The password of this session was revoked\r\n")
        try await c.waitClosed()
        await c.close()
        let mailbox = try await h.open()
        #expect(try await mailbox.messages(in: "INBOX", uids: nil, changedSince: nil).count == 3)
        await mailbox.close()
        await h.cleanUp()
    }
}

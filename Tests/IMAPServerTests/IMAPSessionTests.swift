import Foundation
import IMAPCore
@testable import IMAPServer
import MailboxAPI
import MailCore
import MailNet
import MailStore
import Testing

let sampleMail = """
    From: Alice <alice@example.org>\r
    To: Bob <user@example.com>\r
    Subject: Quarterly figures\r
    Date: Sun, 22 Nov 2026 08:00:00 +0000\r
    Message-ID: <q1@example.org>\r
    MIME-Version: 1.0\r
    Content-Type: text/plain; charset=utf-8\r
    \r
    The numbers are in. Zebra crossing ahead.\r

    """

func appendCommand(_ tag: String, _ mailbox: String = "INBOX", flags: String = "", message: String = sampleMail) -> (String, String) {
    ("\(tag) APPEND \(mailbox) \(flags.isEmpty ? "" : "(\(flags)) "){\(message.utf8.count)}", message)
}

@Suite("IMAP session transcripts")
struct IMAPSessionTests {
    @Test("greeting and capabilities before and after login")
    func capabilities() async throws {
        let h = try await SessionHarness()
        let c = h.connect(allowInsecureAuth: false)
        let greeting = try await c.read(until: "* OK")
        #expect(greeting.hasPrefix("* OK [CAPABILITY IMAP4rev1"))
        #expect(greeting.contains("LOGINDISABLED"))
        let reply = try await c.command("a1", "LOGIN \(h.address) \(h.password)")
        #expect(reply.contains("a1 NO [PRIVACYREQUIRED]"), "\(reply)")
        let auth = try await c.command("a2", "AUTHENTICATE PLAIN AHVzZXJAZXhhbXBsZS5jb20AeA==")
        #expect(auth.contains("a2 NO [PRIVACYREQUIRED]"), "\(auth)")
        await c.close()

        let d = h.connect()
        try await d.login(h)
        let caps = try await d.command("a3", "CAPABILITY")
        for cap in ["IDLE", "UIDPLUS", "MOVE", "SPECIAL-USE", "NAMESPACE", "ID", "ENABLE", "UNSELECT", "LITERAL+", "SASL-IR", "APPENDLIMIT=", "QUOTA"] {
            #expect(caps.contains(cap), "missing \(cap)")
        }
        await d.close()
        await h.cleanUp()
    }

    @Test("failed logins: same answer for a wrong password and an unknown address")
    func failedLogin() async throws {
        let h = try await SessionHarness()
        let c = h.connect()
        _ = try await c.read(until: "* OK")
        let wrong = try await c.command("a1", "LOGIN \(h.address) wrong-password")
        let unknown = try await c.command("a2", "LOGIN nobody@example.com wrong-password")
        #expect(wrong == "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
        #expect(unknown == "a2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
        let plain = Data("\0\(h.address)\0\(h.password)".utf8).base64EncodedString()
        let ok = try await c.command("a3", "AUTHENTICATE PLAIN \(plain)")
        #expect(ok.hasPrefix("a3 OK [CAPABILITY"), "\(ok)")
        await c.close()
        // AUTHENTICATE without initial response: continuation then the response line.
        let d = h.connect()
        _ = try await d.read(until: "* OK")
        try await d.send("b1 AUTHENTICATE PLAIN")
        _ = try await d.read(until: "+")
        try await d.send(plain)
        #expect(try await d.read(until: "b1 ").hasPrefix("b1 OK"))
        await d.close()
        await h.cleanUp()
    }

    @Test("SELECT, APPEND with a synchronizing literal, FETCH, \\Seen by BODY[] only")
    func appendAndFetch() async throws {
        let h = try await SessionHarness()
        let c = h.connect()
        try await c.login(h)
        let select = try await c.command("s1", "SELECT INBOX")
        #expect(select.contains("* 0 EXISTS"))
        #expect(select.contains("* OK [UIDVALIDITY "))
        #expect(select.contains("s1 OK [READ-WRITE]"))
        let (line, message) = appendCommand("a1", flags: "\\Flagged $Work")
        try await c.send(line)
        _ = try await c.read(until: "+ ")
        try await c.sendRaw(Array(message.utf8) + [13, 10])
        let appended = try await c.read(until: "a1 ")
        #expect(appended.contains("* 1 EXISTS"), "\(appended)")
        #expect(appended.contains("a1 OK [APPENDUID "), "\(appended)")

        let flags = try await c.command("f1", "FETCH 1 (FLAGS UID RFC822.SIZE)")
        #expect(flags.contains("FLAGS (\\Flagged \\Recent $Work)") || flags.contains("\\Flagged"), "\(flags)")
        #expect(flags.contains("RFC822.SIZE \(message.utf8.count)"), "\(flags)")
        let peek = try await c.command("f2", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        #expect(peek.contains("BODY[HEADER.FIELDS (SUBJECT)] {30}\r\nSubject: Quarterly figures\r\n\r\n"), "\(peek)")
        #expect(!peek.contains("\\Seen"))
        let body = try await c.command("f3", "FETCH 1 BODY[TEXT]")
        #expect(body.contains("Zebra crossing"), "\(body)")
        #expect(body.contains("\\Seen"), "BODY[] sets \\Seen and reports FLAGS: \(body)")
        let envelope = try await c.command("f4", "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE)")
        #expect(envelope.contains("ENVELOPE (\"Sun, 22 Nov 2026 08:00:00 +0000\" \"Quarterly figures\""), "\(envelope)")
        #expect(envelope.contains("BODYSTRUCTURE (\"text\" \"plain\""), "\(envelope)")
        #expect(envelope.contains("f4 OK"))
        // The second time the encoded ENVELOPE and BODYSTRUCTURE come from what the store kept: the same bytes.
        let again = try await c.command("f4", "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE INTERNALDATE)")
        #expect(again == envelope)
        let body1 = try await c.command("f4b", "UID FETCH 1:* (BODY)")
        #expect(body1.contains("BODY (\"text\" \"plain\""), "\(body1)")
        #expect(try await c.command("f4b", "UID FETCH 1:* (BODY)") == body1)
        let partial = try await c.command("f5", "FETCH 1 BODY.PEEK[TEXT]<4.7>")
        #expect(partial.contains("BODY[TEXT]<4> {7}\r\nnumbers"), "\(partial)")
        await c.close()
        await h.cleanUp()
    }

    @Test("malformed commands get BAD with the tag and the session goes on")
    func malformed() async throws {
        let h = try await SessionHarness()
        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("x1", "FROBNICATE").hasPrefix("x1 BAD"))
        #expect(try await c.command("x2", "FETCH 1 FLAGS").hasPrefix("x2 BAD"))  // nothing selected
        _ = try await c.command("x3", "SELECT INBOX")
        #expect(try await c.command("x4", "FETCH 1:* (FLAGS").hasPrefix("x4 BAD"))
        #expect(try await c.command("x5", "FETCH 99 FLAGS").hasPrefix("x5 BAD"))
        #expect(try await c.command("x6", "SEARCH " + String(repeating: "(", count: 5000)).hasPrefix("x6 BAD"))
        #expect(try await c.command("x7", "NOOP").hasPrefix("x7 OK"))
        await c.close()
        await h.cleanUp()
    }

    @Test("STORE, SEARCH, COPY and MOVE with UIDPLUS codes, EXPUNGE")
    func storeSearchCopyMove() async throws {
        let h = try await SessionHarness()
        for i in 1...5 {
            try await h.deliver(sampleMail.replacingOccurrences(of: "Quarterly figures", with: "Report \(i)")
                .replacingOccurrences(of: "Zebra", with: i % 2 == 0 ? "Giraffe" : "Zebra"))
        }
        let c = h.connect()
        try await c.login(h)
        let select = try await c.command("s1", "SELECT INBOX")
        #expect(select.contains("* 5 EXISTS"), "\(select)")
        #expect(select.contains("* 5 RECENT"), "\(select)")
        let store = try await c.command("t1", "STORE 1:2 +FLAGS (\\Deleted)")
        #expect(store.contains("* 1 FETCH (FLAGS (\\Deleted \\Recent))"), "\(store)")
        let silent = try await c.command("t2", "STORE 3 +FLAGS.SILENT (\\Flagged)")
        #expect(silent == "t2 OK STORE completed\r\n", "\(silent)")
        #expect(try await c.command("q1", "SEARCH DELETED").contains("* SEARCH 1 2\r\n"))
        #expect(try await c.command("q2", "SEARCH BODY giraffe").contains("* SEARCH 2 4\r\n"))
        #expect(try await c.command("q3", "SEARCH OR FLAGGED SUBJECT \"report 5\"").contains("* SEARCH 3 5\r\n"))
        #expect(try await c.command("q4", "UID SEARCH NOT DELETED TEXT zebra").contains("* SEARCH 3 5\r\n"))
        #expect(try await c.command("q5", "SEARCH HEADER Message-ID q1@example.org SINCE 1-Jan-2020 LARGER 10").contains("* SEARCH 1 2 3 4 5\r\n"))
        #expect(try await c.command("q6", "SEARCH BODY ze").contains("* SEARCH 1 3 5\r\n"))  // under 3 chars: scanned
        #expect(try await c.command("q7", "SEARCH RETURN (MIN MAX COUNT) UNDELETED").contains("* ESEARCH (TAG \"q7\") MIN 3 MAX 5 COUNT 3"))
        let copy = try await c.command("c1", "COPY 3:4 Archive")
        #expect(copy.contains("c1 OK [COPYUID "), "\(copy)")
        #expect(try await c.command("c2", "COPY 1 Nowhere").contains("c2 NO [TRYCREATE]"))
        let move = try await c.command("m1", "UID MOVE 5 Trash")
        #expect(move.contains("* OK [COPYUID "), "\(move)")
        #expect(move.contains("* 5 EXPUNGE"), "\(move)")
        let expunge = try await c.command("e1", "EXPUNGE")
        #expect(expunge.contains("* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n"), "\(expunge)")
        #expect(try await c.command("e2", "STATUS Archive (MESSAGES UIDNEXT)").contains("* STATUS Archive (MESSAGES 2 UIDNEXT 3)"))
        await c.close()
        await h.cleanUp()
    }

    @Test("two sessions: EXISTS, FETCH FLAGS and EXPUNGE reach the other; no EXPUNGE during FETCH")
    func twoSessions() async throws {
        let h = try await SessionHarness()
        for _ in 1...3 { try await h.deliver(sampleMail) }
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await a.command("a1", "SELECT INBOX")
        _ = try await b.command("b1", "SELECT INBOX")
        _ = try await a.command("a2", "STORE 1 +FLAGS (\\Deleted \\Seen)")
        _ = try await a.command("a3", "EXPUNGE")
        try await h.deliver(sampleMail)
        // B: during FETCH no EXPUNGE may be sent, but flag changes and EXISTS may.
        let fetch = try await b.command("b2", "FETCH 1:* UID")
        #expect(!fetch.contains(" EXPUNGE\r\n"), "\(fetch)")
        let noop = try await b.command("b3", "NOOP")
        #expect(noop.contains("* 1 EXPUNGE"), "\(noop)")
        #expect(noop.contains("b3 OK"))
        #expect(fetch.contains("EXISTS") || noop.contains("EXISTS"), "\(fetch)\(noop)")
        await a.close(); await b.close()
        await h.cleanUp()
    }

    /// RFC 3501 §7.2.6: a keyword another session (STORE, APPEND) brings into the selected
    /// mailbox is announced with FLAGS and PERMANENTFLAGS before any FETCH response shows it,
    /// whether the change arrives during IDLE or is read by a FETCH.
    @Test("two sessions: a new keyword comes with FLAGS and PERMANENTFLAGS before the FETCH showing it")
    func newKeywordAnnounced() async throws {
        let h = try await SessionHarness()
        for _ in 1...2 { try await h.deliver(sampleMail) }
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await a.command("a1", "SELECT INBOX")
        _ = try await b.command("b1", "SELECT INBOX")
        try await a.send("a2 IDLE")
        _ = try await a.read(until: "+ ")
        _ = try await b.command("b2", "STORE 1 +FLAGS ($Urgent)")
        let idle = try await a.read(until: "* 1 FETCH")
        let system = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"
        #expect(idle == "* FLAGS (\(system) $Urgent)\r\n* OK [PERMANENTFLAGS (\(system) $Urgent \\*)] Flags permitted\r\n"
                + "* 1 FETCH (UID 1 FLAGS (\\Recent $Urgent))\r\n", "\(idle)")
        try await a.send("DONE")
        _ = try await a.read(until: "a2 ")
        // Set by B, then read by A's FETCH (with or without the change event first).
        _ = try await b.command("b3", "STORE 2 +FLAGS ($Later)")
        _ = try await b.command("b4", "APPEND INBOX ($Appended) {5+}\r\nhello")
        let fetch = try await a.command("a3", "FETCH 1:* FLAGS")
        for keyword in ["$Later", "$Appended"] {
            let first = fetch.components(separatedBy: "\r\n").first { $0.contains(keyword) }
            #expect(first?.hasPrefix("* FLAGS (\(system) ") == true, "\(keyword): \(fetch)")
            #expect(fetch.contains("* OK [PERMANENTFLAGS (\(system) ") && fetch.contains(" \(keyword) "), "\(fetch)")
        }
        #expect(fetch.contains("a3 OK"), "\(fetch)")
        // Nothing new: no FLAGS again.
        let again = try await a.command("a4", "FETCH 1:* FLAGS")
        #expect(!again.contains("* FLAGS"), "\(again)")
        await a.close(); await b.close()
        await h.cleanUp()
    }

    @Test("IDLE hears of new mail as it is delivered")
    func idle() async throws {
        let h = try await SessionHarness()
        let c = h.connect()
        try await c.login(h)
        _ = try await c.command("s1", "SELECT INBOX")
        try await c.send("i1 IDLE")
        _ = try await c.read(until: "+ ")
        let started = ContinuousClock.now
        try await h.deliver(sampleMail)
        // The wait is only a guard against a hang (the whole suite's start keeps 2 cores busy
        // for minutes): the latency is printed below, not asserted.
        _ = try await c.read(until: "* 1 EXISTS")
        // Measured, not asserted (no timed assertions in tests): printed for the record.
        print("IDLE latency (in-memory session, debug build): \(ContinuousClock.now - started)")
        try await c.send("DONE")
        let done = try await c.read(until: "i1 ")
        #expect(done.hasSuffix("i1 OK IDLE terminated\r\n"), "\(done)")
        await c.close()
        await h.cleanUp()
    }

    @Test("folders: CREATE with hierarchy, LIST with special use, RENAME, DELETE, LSUB, SUBSCRIBE, NAMESPACE, QUOTA")
    func folders() async throws {
        let h = try await SessionHarness(quotaBytes: 10 * 1024 * 1024)
        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("c1", "CREATE Projects/2026/Q4").hasPrefix("c1 OK"))
        #expect(try await c.command("c2", "CREATE INBOX").contains("c2 NO [ALREADYEXISTS]"))
        let list = try await c.command("l1", "LIST \"\" *")
        #expect(list.contains("* LIST (\\HasNoChildren) \"/\" INBOX"), "\(list)")
        #expect(list.contains("(\\HasNoChildren \\Sent) \"/\" Sent"), "\(list)")
        #expect(list.contains("(\\HasChildren) \"/\" Projects"), "\(list)")
        let percent = try await c.command("l2", "LIST \"\" %")
        #expect(!percent.contains("Projects/2026"), "\(percent)")
        let special = try await c.command("l3", "LIST (SPECIAL-USE) \"\" *")
        #expect(special.contains("\\Trash") && !special.contains("INBOX"), "\(special)")
        #expect(try await c.command("l4", "LIST \"\" \"\"").contains("* LIST (\\Noselect) \"/\" \"\""))
        #expect(try await c.command("r1", "RENAME Projects Work").hasPrefix("r1 OK"))
        #expect(try await c.command("l5", "LIST \"\" Work/*").contains("Work/2026/Q4"))
        #expect(try await c.command("u1", "SUBSCRIBE Work").hasPrefix("u1 OK"))
        #expect(try await c.command("u2", "LSUB \"\" *").contains("* LSUB () \"/\" Work"))
        #expect(try await c.command("d1", "DELETE Work/2026/Q4").hasPrefix("d1 OK"))
        #expect(try await c.command("d2", "DELETE INBOX").hasPrefix("d2 NO"))
        #expect(try await c.command("n1", "NAMESPACE").contains("* NAMESPACE ((\"\" \"/\")) NIL NIL"))
        let quota = try await c.command("q1", "GETQUOTAROOT INBOX")
        #expect(quota.contains("* QUOTAROOT INBOX \"\""), "\(quota)")
        #expect(quota.contains("* QUOTA \"\" (STORAGE 0 10240)"), "\(quota)")
        let entwurf = try await c.command("c3", "CREATE Entw&APw-rfe")
        #expect(entwurf.hasPrefix("c3 OK"))
        #expect(try await c.command("l6", "LIST \"\" Entw*").contains("\"/\" Entw&APw-rfe"))
        await c.close()
        await h.cleanUp()
    }

    @Test("an APPEND over the limit gets NO [TOOBIG] before the literal is sent")
    func appendTooBig() async throws {
        let h = try await SessionHarness()
        var limits = IMAPLimits()
        limits.maxAppendSize = 1000
        let c = h.connect(limits: limits)
        try await c.login(h)
        let reply = try await c.command("a1", "APPEND INBOX {5000}")
        #expect(reply.contains("a1 NO [TOOBIG]"), "\(reply)")
        #expect(try await c.command("a2", "NOOP").hasPrefix("a2 OK"))
        await c.close()
        await h.cleanUp()
    }

    @Test("autologout: unauthenticated sessions soon, authenticated ones after the idle timeout; IDLE keepalive")
    func timeouts() async throws {
        let h = try await SessionHarness()
        // The sessions' clock is moved by hand: no real waiting.
        let (clock, advance) = SessionClock.manual()
        let c = h.connect { $0.clock = clock; $0.preAuthTimeout = .seconds(60); $0.idleTimeout = .seconds(3600) }
        _ = try await c.read(until: "* OK")
        advance(.seconds(59))
        c.inbox.pushTick()
        #expect(try await c.command("n0", "NOOP").hasPrefix("n0 OK"))  // not yet; and a command resets the timer
        advance(.seconds(61))
        c.inbox.pushTick()
        #expect(try await c.read(until: "* BYE").contains("Autologout"))
        await c.close()
        #expect(c.transport.closed)

        let d = h.connect { $0.clock = clock; $0.preAuthTimeout = .seconds(60); $0.idleTimeout = .seconds(3600); $0.idleKeepalive = .seconds(120) }
        try await d.login(h)
        advance(.seconds(600))
        d.inbox.pushTick()                                  // logged in: the 60-minute timer applies
        #expect(try await d.command("n1", "NOOP").hasPrefix("n1 OK"))
        try await d.send("i1 IDLE")
        _ = try await d.read(until: "+ ")
        advance(.seconds(121))
        d.inbox.pushTick()
        _ = try await d.read(until: "* OK Still here")
        try await d.send("DONE")
        _ = try await d.read(until: "i1 OK")
        await d.close()
        await h.cleanUp()
    }

    /// Issue 15 (slowloris, as for SMTP): an APPEND literal trickled in a byte at a time, or left
    /// unfinished, ends the session; one that comes at the minimum rate is stored.
    @Test("APPEND: a trickled literal is cut at its deadline, a silent one at the idle limit; a steady slow one is stored")
    func appendDeadline() async throws {
        let h = try await SessionHarness()
        let (clock, advance) = SessionClock.manual()
        func connect() async throws -> TestClient {
            let c = h.connect { $0.clock = clock; $0.idleTimeout = .seconds(1800); $0.appendTimeout = .seconds(600); $0.minAppendRate = 1024 }
            try await c.login(h)
            return c
        }
        // 4,000 bytes: a deadline of max(600 s, 4000 / 1024 s) = 600 s; a byte every 30 s is never idle.
        let c = try await connect()
        try await c.send("a1 APPEND INBOX {4000}")
        _ = try await c.read(until: "+ ")  // the APPEND has begun: its clock runs from here
        for _ in 0..<20 {
            try await c.sendRaw([0x41])
            advance(.seconds(30))
        }
        advance(.seconds(1))
        try await c.sendRaw([0x41])
        #expect(try await c.read(until: "* BYE").contains("Timeout: the message data came too slowly"))
        await c.close()
        #expect(c.transport.closed)

        // Silent after the first bytes: the idle limit (4 MB: a deadline of 4,096 s, later).
        let d = try await connect()
        try await d.send("a2 APPEND INBOX {4000000}")
        _ = try await d.read(until: "+ ")
        try await d.sendRaw(Array(repeating: 0x41, count: 10))
        advance(.seconds(1801))
        d.inbox.pushTick()
        #expect(try await d.read(until: "* BYE").contains("Autologout"))
        await d.close()

        // 1,200 KB at just over 1 KB a second: within max(600 s, 1200 s), stored.
        let e = try await connect()
        let body = Array(("From: a@example.org\r\nSubject: slow\r\n\r\n" + String(repeating: "x", count: 1_228_760) + "\r\n").utf8)
        try await e.send("a3 APPEND INBOX {\(body.count)}")
        _ = try await e.read(until: "+ ")
        for start in stride(from: 0, to: body.count, by: 65_536) {
            try await e.sendRaw(Array(body[start..<min(start + 65_536, body.count)]))
            advance(.seconds(60))
            e.inbox.pushTick()
        }
        try await e.sendRaw(Array("\r\n".utf8))
        let stored = try await e.read(until: "a3 ")
        #expect(stored.contains("a3 OK"), "\(stored)")
        await e.close()
        await h.cleanUp()
    }

    @Test("login throttle: a refused IP gets NO [UNAVAILABLE] without trying the password")
    func throttled() async throws {
        struct RefuseAll: IMAPAuthGate {
            func begin(ip: String, account: String) async -> Duration? { .seconds(600) }
            func failed(ip: String, account: String) async -> AuthFailureVerdict { AuthFailureVerdict(answerAfter: .zero) }
            func succeeded(ip: String, account: String) async {}
            func cancelled(ip: String, account: String) async {}
        }
        let h = try await SessionHarness()
        let c = h.connect(authGate: RefuseAll())
        _ = try await c.read(until: "* OK")
        let reply = try await c.command("a1", "LOGIN \(h.address) \(h.password)")
        #expect(reply.hasPrefix("a1 NO [UNAVAILABLE] Too many failed logins"), "\(reply)")
        await c.close()
        await h.cleanUp()
    }

    @Test("revoking the session's password ends the session with BYE")
    func revoked() async throws {
        let h = try await SessionHarness(realStore: true)
        let second = try await h.node!.mailboxes.addPassword(address: try EmailAddress(h.address), currentPassword: h.password, label: "phone")
        let c = h.connect()
        _ = try await c.read(until: "* OK")
        #expect(try await c.command("l1", "LOGIN \(h.address) \(second.password)").hasPrefix("l1 OK"))
        try await h.node!.mailboxes.revokePassword(address: try EmailAddress(h.address), passwordID: second.record.id)
        _ = try await c.read(until: "* BYE")
        await c.close()
        #expect(c.transport.closed)
        await h.cleanUp()
    }
}

@Suite("selected folder view")
struct SelectedMailboxTests {
    func record(_ uid: UID) -> MessageRecord {
        MessageRecord(uid: uid, modSeq: 1, flags: [], keywords: [], internalDate: Date(), size: 1)
    }

    @Test("EXPUNGE numbers stay valid as the list shrinks; unannounced messages go silently")
    func expunges() {
        let info = FolderInfo(id: 1, path: "INBOX", specialUse: nil, subscribed: true, uidValidity: 1, uidNext: 6, highestModSeq: 1, recentUID: 6)
        var view = SelectedMailbox(path: "INBOX", readOnly: false, info: info, records: (1...5).map { record(UInt32($0)) }, recent: [], condStore: false)
        view.appendNew([record(6), record(7)])        // arrived, not yet announced
        view.markExpunged([2, 4, 6], knownBefore: 0)
        let gone = view.flushExpunges()               // 6 was never announced: no EXPUNGE for it
        #expect(gone.map(\.sequenceNumber) == [4, 2] && gone.map(\.uid) == [4, 2])
        #expect(view.uids == [1, 3, 5, 7])
        #expect(view.takeExistsUpdate() == 4)         // 3 known + 7 new
        #expect(view.select(SequenceSet([SequenceRange(.number(2), .star)]), byUID: false) == [2, 3, 4])
        #expect(view.select(SequenceSet([SequenceRange(.number(4), .number(6))]), byUID: true) == [3])
        #expect(view.select(SequenceSet([SequenceRange(.number(9))]), byUID: false) == nil)
    }
}

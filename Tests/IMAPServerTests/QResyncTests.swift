import Foundation
import IMAPCore
@testable import IMAPServer
import MailboxAPI
import MailboxTesting
import Testing

/// QRESYNC (RFC 7162 §3.2), IMAP4rev2 (RFC 9051) and UNAUTHENTICATE (RFC 8437) as exact
/// transcripts on the in-memory store, whose MODSEQs are predictable: the folder starts at 1 and
/// each change takes the next one.
@Suite("IMAP QRESYNC, IMAP4rev2 and UNAUTHENTICATE transcripts")
struct QResyncTests {
    static let mail = "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"
    static let system = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    static let flags = "* FLAGS (\(system))\n* OK [PERMANENTFLAGS (\(system) \\*)] Flags permitted\n"

    /// Runs `steps` (line sent → exact expected reply, `\n` standing for CRLF, `TAG` for the tag) on
    /// one logged-in session after `deliveries`. `UIDV` in a line sent stands for INBOX's
    /// UIDVALIDITY, `BADV` for another; replies are masked as `TranscriptTests.mask` does.
    func run(_ steps: [(String, String)], deliveries: Int) async throws {
        let h = try await SessionHarness(quotaBytes: 1 << 20)
        for _ in 0..<deliveries { try await h.deliver(Self.mail) }
        let c = h.connect()
        try await c.login(h)
        let status = try await c.command("v0", "STATUS INBOX (UIDVALIDITY)")
        let validity = try #require(status.firstMatch(of: /UIDVALIDITY (\d+)/)?.1)
        for (i, (line, expected)) in steps.enumerated() {
            let tag = "t\(i)"
            let sent = line.replacingOccurrences(of: "TAG", with: tag).replacingOccurrences(of: "UIDV", with: String(validity))
                .replacingOccurrences(of: "BADV", with: String(UInt32(validity)! &+ 1))
            try await c.send(sent)
            let got = TranscriptTests.mask(try await c.read(until: tag + " "))
            let want = expected.replacingOccurrences(of: "TAG", with: tag).replacingOccurrences(of: "\n", with: "\r\n")
                .replacingOccurrences(of: "(\(tag) \"", with: "(TAG \"")  // ESEARCH's (TAG "t1")
            #expect(got == want, "step \(i): \(sent)")
        }
        await c.close()
        await h.cleanUp()
    }

    func selected(exists: Int, recent: Int, unseen: Int?, uidNext: Int, modSeq: Int?, closed: Bool = false) -> String {
        (closed ? "* OK [CLOSED] Previous mailbox closed\n" : "") + Self.flags + "* \(exists) EXISTS\n* \(recent) RECENT\n"
            + (unseen.map { "* OK [UNSEEN \($0)] First unseen\n" } ?? "")
            + "* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT \(uidNext)] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\n"
            + (modSeq.map { "* OK [HIGHESTMODSEQ \($0)] Highest\n" } ?? "")
    }

    /// Six messages, UIDs 1–6 at MODSEQ 2–7. Then 2 is flagged (8), 3 and 4 deleted (9) and
    /// expunged (10), 1 deleted (11) and expunged by UID (12), 6 moved to Trash (13).
    @Test("QRESYNC: expunges as VANISHED, UID FETCH (CHANGEDSINCE VANISHED), SELECT (QRESYNC …)")
    func resync() async throws {
        let ok = "TAG OK [READ-WRITE] SELECT completed\n"
        let changed2 = "* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (8))\n"
        try await run([
            ("TAG SELECT INBOX (QRESYNC (UIDV 1))", "TAG BAD QRESYNC is not enabled\n"),
            ("TAG ENABLE QRESYNC", "* ENABLED QRESYNC\nTAG OK ENABLE completed\n"),
            ("TAG ENABLE CONDSTORE QRESYNC", "* ENABLED\nTAG OK ENABLE completed\n"),
            ("TAG SELECT INBOX", selected(exists: 6, recent: 6, unseen: 1, uidNext: 7, modSeq: 7) + ok),
            ("TAG STORE 2 +FLAGS.SILENT (\\Flagged)", "* 2 FETCH (UID 2 MODSEQ (8))\nTAG OK STORE completed\n"),
            ("TAG STORE 3:4 +FLAGS.SILENT (\\Deleted)", "* 3 FETCH (UID 3 MODSEQ (9))\n* 4 FETCH (UID 4 MODSEQ (9))\nTAG OK STORE completed\n"),
            ("TAG EXPUNGE", "* VANISHED 3:4\nTAG OK [HIGHESTMODSEQ 10] EXPUNGE completed\n"),
            ("TAG UID STORE 1 +FLAGS.SILENT (\\Deleted)", "* 1 FETCH (UID 1 MODSEQ (11))\nTAG OK STORE completed\n"),
            ("TAG UID EXPUNGE 1:2", "* VANISHED 1\nTAG OK [HIGHESTMODSEQ 12] EXPUNGE completed\n"),
            ("TAG UID MOVE 6 Trash", "* OK [COPYUID _ 6 1] Moved UIDs\n* VANISHED 6\nTAG OK [HIGHESTMODSEQ 13] MOVE completed\n"),
            // Left: UIDs 2 and 5.
            ("TAG UID FETCH 1:* (FLAGS) (CHANGEDSINCE 7 VANISHED)",
             "* VANISHED (EARLIER) 1,3:4,6\n* 1 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (8))\nTAG OK FETCH completed\n"),
            ("TAG UID FETCH 2:4 (FLAGS) (CHANGEDSINCE 9 VANISHED)", "* VANISHED (EARLIER) 3:4\nTAG OK FETCH completed\n"),
            ("TAG UID FETCH 5 (FLAGS) (CHANGEDSINCE 1 VANISHED)", "* 2 FETCH (UID 5 FLAGS (\\Recent) MODSEQ (6))\nTAG OK FETCH completed\n"),
            ("TAG FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)", "TAG BAD VANISHED needs UID FETCH\n"),
            ("TAG UID FETCH 1:* (FLAGS) (VANISHED)", "TAG BAD VANISHED needs CHANGEDSINCE\n"),
            // Reselect: VANISHED (EARLIER) and FETCH after the usual responses; known-uids narrows.
            ("TAG SELECT INBOX (QRESYNC (UIDV 7))", selected(exists: 2, recent: 0, unseen: 1, uidNext: 7, modSeq: 13, closed: true)
                + "* VANISHED (EARLIER) 1,3:4,6\n" + changed2 + ok),
            ("TAG SELECT INBOX (QRESYNC (UIDV 7 2:5))", selected(exists: 2, recent: 0, unseen: 1, uidNext: 7, modSeq: 13, closed: true)
                + "* VANISHED (EARLIER) 3:4\n" + changed2 + ok),
            ("TAG SELECT INBOX (QRESYNC (UIDV 7 1:6 (1:4 1:4)))", selected(exists: 2, recent: 0, unseen: 1, uidNext: 7, modSeq: 13, closed: true)
                + "* VANISHED (EARLIER) 1,3:4,6\n" + changed2 + ok),
            ("TAG SELECT INBOX (QRESYNC (UIDV 11))", selected(exists: 2, recent: 0, unseen: 1, uidNext: 7, modSeq: 13, closed: true)
                + "* VANISHED (EARLIER) 1,6\n" + ok),
            ("TAG EXAMINE INBOX (QRESYNC (UIDV 13 1:5))", "* OK [CLOSED] Previous mailbox closed\n* FLAGS (\(Self.system))\n"
                + "* OK [PERMANENTFLAGS ()] No permanent flags permitted\n* 2 EXISTS\n* 0 RECENT\n* OK [UNSEEN 1] First unseen\n"
                + "* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 7] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\n* OK [HIGHESTMODSEQ 13] Highest\n"
                + "TAG OK [READ-ONLY] EXAMINE completed\n"),
            // Another UIDVALIDITY: the client must start over; nothing but the usual responses.
            ("TAG SELECT INBOX (QRESYNC (BADV 7))", selected(exists: 2, recent: 0, unseen: 1, uidNext: 7, modSeq: 13, closed: true) + ok),
            ("TAG SELECT INBOX (QRESYNC (UIDV 7 1:*))", "TAG BAD * is not allowed in QRESYNC parameters\n"),
            ("TAG SELECT INBOX (QRESYNC (UIDV 7 1:6 (1:2 2)))", "TAG BAD seq-match-data sets differ in size\n"),
            ("TAG FETCH 2 UID", "* 2 FETCH (UID 5)\nTAG OK FETCH completed\n"),
        ], deliveries: 6)
    }

    /// RFC 7162 §3.2.10: another session's expunge reaches a QRESYNC session as VANISHED (during
    /// IDLE, and after a FETCH that could not show it), a CONDSTORE-only session as EXPUNGE.
    @Test("two sessions: one expunges, the other (QRESYNC enabled) gets VANISHED")
    func twoSessions() async throws {
        let h = try await SessionHarness()
        for _ in 1...4 { try await h.deliver(Self.mail) }
        let a = h.connect(), b = h.connect(), c = h.connect()
        try await a.login(h); try await b.login(h); try await c.login(h)
        _ = try await a.command("a1", "ENABLE QRESYNC")
        _ = try await a.command("a2", "SELECT INBOX")
        _ = try await c.command("c1", "SELECT INBOX (CONDSTORE)")
        _ = try await b.command("b1", "SELECT INBOX")
        try await a.send("a3 IDLE")
        _ = try await a.read(until: "+ ")
        _ = try await b.command("b2", "STORE 2,3 +FLAGS.SILENT (\\Deleted)")
        _ = try await b.command("b3", "EXPUNGE")
        // The flag change comes first or together with the expunge, depending on when IDLE wakes.
        let idle = try await a.read(until: "* VANISHED")
        #expect(idle.hasSuffix("* VANISHED 2:3\r\n"), "\(idle)")
        #expect(!idle.contains("EXPUNGE"), "\(idle)")
        try await a.send("DONE")
        #expect(try await a.read(until: "a3 ") == "a3 OK IDLE terminated\r\n")
        // No VANISHED during a FETCH by number; after it, at the next command that may say it.
        _ = try await b.command("b4", "UID STORE 4 +FLAGS.SILENT (\\Deleted)")
        _ = try await b.command("b5", "UID EXPUNGE 4")
        try await h.deliver(Self.mail)
        _ = try await a.command("a4", "NOOP")
        _ = try await b.command("b6", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = try await b.command("b7", "EXPUNGE")
        let fetch = try await a.command("a5", "FETCH 1:* UID")
        #expect(!fetch.contains("VANISHED"), "\(fetch)")
        let noop = try await a.command("a6", "NOOP")
        #expect(noop.contains("* VANISHED 1\r\n") && noop.hasSuffix("a6 OK NOOP completed\r\n"), "\(noop)")
        let condStoreOnly = try await c.command("c2", "NOOP")
        #expect(condStoreOnly.contains("* 4 EXPUNGE\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 EXISTS\r\n"), "\(condStoreOnly)")
        #expect(!condStoreOnly.contains("VANISHED"), "\(condStoreOnly)")
        await a.close(); await b.close(); await c.close()
        await h.cleanUp()
    }

    /// RFC 9051: after ENABLE IMAP4rev2 no \Recent anywhere, SELECT gives the mailbox's LIST
    /// instead of RECENT and UNSEEN, SEARCH answers with ESEARCH; UNSELECT, NAMESPACE and STATUS
    /// DELETED/SIZE as in IMAP4rev1.
    @Test("IMAP4rev2: ENABLE, SELECT, FETCH, SEARCH as ESEARCH, [CLOSED]")
    func rev2() async throws {
        let size = Self.mail.utf8.count
        try await run([
            ("TAG CAPABILITY", "* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE SPECIAL-USE "
                + "CREATE-SPECIAL-USE UNSELECT CHILDREN LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES BINARY CONDSTORE QRESYNC "
                + "STATUS=SIZE UNAUTHENTICATE MULTIAPPEND NOTIFY APPENDLIMIT=\(IMAPLimits().maxAppendSize) QUOTA QUOTA=RES-STORAGE SAVEDATE OBJECTID PREVIEW REPLACE UTF8=ACCEPT SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT WITHIN\n"
                + "TAG OK CAPABILITY completed\n"),
            ("TAG ENABLE IMAP4rev2", "* ENABLED IMAP4rev2\nTAG OK ENABLE completed\n"),
            ("TAG SELECT inbox", Self.flags + "* 2 EXISTS\n* LIST (\\HasNoChildren) \"/\" INBOX\n"
                + "* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 3] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\nTAG OK [READ-WRITE] SELECT completed\n"),
            ("TAG FETCH 1:2 FLAGS", "* 1 FETCH (FLAGS ())\n* 2 FETCH (FLAGS ())\nTAG OK FETCH completed\n"),
            ("TAG STORE 2 +FLAGS (\\Deleted)", "* 2 FETCH (FLAGS (\\Deleted))\nTAG OK STORE completed\n"),
            ("TAG SEARCH ALL", "* ESEARCH (TAG \"TAG\") ALL 1:2\nTAG OK SEARCH completed\n"),
            ("TAG UID SEARCH DELETED", "* ESEARCH (TAG \"TAG\") UID ALL 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH FLAGGED", "* ESEARCH (TAG \"TAG\")\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (COUNT) ALL", "* ESEARCH (TAG \"TAG\") COUNT 2\nTAG OK SEARCH completed\n"),
            ("TAG APPEND INBOX {\(size)+}\r\n\(Self.mail)", "* 3 EXISTS\nTAG OK [APPENDUID _ 3] APPEND completed\n"),
            ("TAG STATUS INBOX (MESSAGES DELETED SIZE)", "* STATUS INBOX (MESSAGES 3 DELETED 1 SIZE \(3 * size))\nTAG OK STATUS completed\n"),
            ("TAG NAMESPACE", "* NAMESPACE ((\"\" \"/\")) NIL NIL\nTAG OK NAMESPACE completed\n"),
            ("TAG EXAMINE Archive", "* OK [CLOSED] Previous mailbox closed\n* FLAGS (\(Self.system))\n"
                + "* OK [PERMANENTFLAGS ()] No permanent flags permitted\n* 0 EXISTS\n* LIST (\\HasNoChildren \\Archive) \"/\" Archive\n"
                + "* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 1] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\nTAG OK [READ-ONLY] EXAMINE completed\n"),
            ("TAG UNSELECT", "TAG OK UNSELECT completed\n"),
        ], deliveries: 2)
    }

    /// RFC 8437: UNAUTHENTICATE closes the mailbox and the login; the session is as new (the
    /// ENABLEd extensions forgotten) and can log in again.
    @Test("UNAUTHENTICATE: back to not authenticated, and in again")
    func unauthenticate() async throws {
        let h = try await SessionHarness()
        try await h.deliver(Self.mail)
        let c = h.connect()
        _ = try await c.read(until: "* OK")
        #expect(try await c.command("u0", "UNAUTHENTICATE") == "u0 BAD Not authenticated\r\n")
        let login = try await c.command("u1", "LOGIN \(h.address) \(h.password)")
        #expect(login.contains(" UNAUTHENTICATE") && login.contains("u1 OK"), "\(login)")
        _ = try await c.command("u2", "ENABLE QRESYNC")
        _ = try await c.command("u3", "SELECT INBOX")
        #expect(try await c.command("u4", "UNAUTHENTICATE") == "u4 OK UNAUTHENTICATE completed\r\n")
        #expect(try await c.command("u5", "FETCH 1 FLAGS") == "u5 BAD Log in first\r\n")
        let caps = try await c.command("u6", "CAPABILITY")
        #expect(caps.contains("AUTH=PLAIN") && !caps.contains("UNAUTHENTICATE"), "\(caps)")
        #expect(try await c.command("u7", "LOGIN \(h.address) \(h.password)").contains("u7 OK"))
        #expect(try await c.command("u8", "ENABLE QRESYNC") == "* ENABLED QRESYNC\r\nu8 OK ENABLE completed\r\n")
        let select = try await c.command("u9", "SELECT INBOX")
        #expect(!select.contains("CLOSED") && select.contains("* 1 EXISTS") && select.contains("u9 OK"), "\(select)")
        await c.close()
        await h.cleanUp()
    }

    /// A store that pruned its tombstones (the in-memory one told to forget them): SELECT
    /// (QRESYNC …) reports every known UID that is gone, narrowed by seq-match-data. UIDs 1–6 at
    /// MODSEQ 2–7; 1 expunged at 9, 4 at 11; the client last saw MODSEQ 9 (UIDs 2–6).
    @Test("QRESYNC after the expunge history was pruned: a superset, narrowed by seq-match-data")
    func prunedHistory() async throws {
        let h = try await SessionHarness()
        for _ in 1...6 { try await h.deliver(Self.mail) }
        let c = h.connect()
        try await c.login(h)
        _ = try await c.command("p1", "SELECT INBOX")
        _ = try await c.command("p2", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = try await c.command("p3", "EXPUNGE")
        _ = try await c.command("p4", "UID STORE 4 +FLAGS.SILENT (\\Deleted)")
        _ = try await c.command("p5", "EXPUNGE")
        _ = try await c.command("p6", "ENABLE QRESYNC")
        let status = try await c.command("p7", "STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)")
        #expect(status.contains("HIGHESTMODSEQ 11"), "\(status)")
        let validity = try #require(status.firstMatch(of: /UIDVALIDITY (\d+)/)?.1)
        func vanished(_ parameters: String) async throws -> [String] {
            let reply = try await c.command("p8", "SELECT INBOX (QRESYNC (\(validity) \(parameters)))")
            #expect(reply.hasSuffix("p8 OK [READ-WRITE] SELECT completed\r\n"), "\(reply)")
            return reply.split(separator: "\r\n").filter { $0.hasPrefix("* VANISHED") || $0.contains(" FETCH ") }.map(String.init)
        }
        // The whole history: exact.
        #expect(try await vanished("9") == ["* VANISHED (EARLIER) 4"])
        #expect(try await vanished("7 1:6") == ["* VANISHED (EARLIER) 1,4"])
        try (h.mailboxes as! InMemoryMailboxService).forgetExpunged(address: h.address, folder: "INBOX", upTo: 11)
        // Pruned: every known UID that is gone (1 too, which the client knew of) …
        #expect(try await vanished("9") == ["* VANISHED (EARLIER) 1,4"])
        #expect(try await vanished("9 2:6") == ["* VANISHED (EARLIER) 4"])
        // … but none at or below the last pair that still holds (messages 1 and 2 are UIDs 2 and 3).
        #expect(try await vanished("9 (1:2 2:3)") == ["* VANISHED (EARLIER) 4"])
        #expect(try await vanished("9 1:6 (1,2,3 2,3,4)") == ["* VANISHED (EARLIER) 4"])
        #expect(try await vanished("9 1:6 (1,3 1,4)") == ["* VANISHED (EARLIER) 1,4"])
        // From the pruning point on the log is complete again.
        #expect(try await vanished("11") == [])
        await c.close()
        await h.cleanUp()
    }

    struct VanishedCase: Sendable, CustomTestStringConvertible {
        var tombstones: [UID] = []
        var complete = false
        var known: [ClosedRange<UID>]
        var pairs: [(number: UInt32, uid: UID)] = []
        var want: String
        var testDescription: String { "\(complete ? "complete" : "incomplete") known \(known) pairs \(pairs.map { "\($0.number)=\($0.uid)" })" }
    }

    /// A store that forgot old tombstones: VANISHED (EARLIER) is then every known UID that is gone,
    /// but those below the last sequence-match pair that still holds. The folder holds UIDs 2, 5, 8, 11.
    @Test("VANISHED (EARLIER) with and without the whole expunge history", arguments: [
        // history complete: the tombstones among the known UIDs
        VanishedCase(complete: true, known: [], want: ""),
        VanishedCase(tombstones: [3, 4, 9], complete: true, known: [1 ... 5], want: "3:4"),
        VanishedCase(tombstones: [3, 5], complete: true, known: [1 ... 5], want: "3"),  // 5 is still there: expunged since
        // incomplete: all gone known UIDs (a superset), narrowed by the seq-match pairs
        VanishedCase(tombstones: [9], known: [1 ... 10], want: "1,3:4,6:7,9:10"),
        VanishedCase(known: [1 ... 10], pairs: [(1, 2), (2, 5), (3, 8)], want: "9:10"),
        VanishedCase(known: [1 ... 10], pairs: [(1, 2), (2, 6), (3, 8)], want: "3:4,6:7,9:10"),
        VanishedCase(known: [1 ... 10], pairs: [(1, 1), (2, 5)], want: "1,3:4,6:7,9:10"),
        VanishedCase(known: [1 ... 4, 7 ... 12], pairs: [(5, 11)], want: "1,3:4,7,9:10,12"),
        VanishedCase(known: [1 ... 4, 7 ... 12], pairs: [(3, 8), (4, 11)], want: "12"),
        VanishedCase(known: [UID.max - 1 ... UID.max], want: "\(UID.max - 1):\(UID.max)"),
    ])
    func vanishedEarlier(_ c: VanishedCase) {
        let got = QResyncVanished.earlier(tombstones: c.tombstones, historyComplete: c.complete, current: [2, 5, 8, 11],
                                          known: c.known, sequenceMatch: c.pairs)
        #expect(got.description == c.want)
    }
}

import Foundation
import IMAPCore
@testable import IMAPServer
import MailboxAPI
import MailboxTesting
import MailCore
import Testing

/// SAVEDATE (RFC 8514), OBJECTID (RFC 8474) and PREVIEW (RFC 8970) as exact transcripts on the
/// in-memory store, whose content and thread ids count from 1. Save dates and mailbox ids vary
/// from run to run: they are masked (`SAVEDATE _`, `MAILBOXID _`) and checked on their own.
@Suite("IMAP SAVEDATE, OBJECTID and PREVIEW transcripts")
struct ObjectIDTests {
    static func mask(_ text: String) -> String {
        var t = TranscriptTests.mask(text)
        for (pattern, template) in [(#"SAVEDATE "[^"]+""#, "SAVEDATE _")] {
            let regex = try! NSRegularExpression(pattern: pattern)
            t = regex.stringByReplacingMatches(in: t, range: NSRange(t.startIndex..., in: t), withTemplate: template)
        }
        return t
    }

    /// Runs `steps` (line sent → exact expected reply, `\n` standing for CRLF, `TAG` for the tag)
    /// on one logged-in session after `deliveries`; returns the unmasked replies.
    @discardableResult
    func run(_ steps: [(String, String)], deliveries: [String] = [], harness: SessionHarness? = nil) async throws -> [String] {
        let h: SessionHarness
        if let harness { h = harness } else { h = try await SessionHarness(quotaBytes: 1 << 20) }
        for d in deliveries { try await h.deliver(d) }
        let c = h.connect()
        try await c.login(h)
        var replies: [String] = []
        for (i, (line, expected)) in steps.enumerated() {
            let tag = "t\(i)"
            try await c.send(line.replacingOccurrences(of: "TAG", with: tag))
            let got = try await c.read(until: tag + " ")
            replies.append(got)
            let want = expected.replacingOccurrences(of: "TAG", with: tag).replacingOccurrences(of: "\n", with: "\r\n")
            #expect(Self.mask(got) == want, "step \(i): \(line)")
        }
        await c.close()
        if harness == nil { await h.cleanUp() }
        return replies
    }

    static func selectInbox(_ exists: Int, _ uidNext: Int) -> String {
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\n"
            + "* \(exists) EXISTS\n* \(exists) RECENT\n* OK [UNSEEN 1] First unseen\n* OK [UIDVALIDITY _] UIDs valid\n"
            + "* OK [UIDNEXT \(uidNext)] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\nTAG OK [READ-WRITE] SELECT completed\n"
    }

    static func today(_ offset: Int = 0) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: Date().addingTimeInterval(Double(offset) * 86_400))
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(c.day!)-\(months[c.month! - 1])-\(c.year!)"
    }

    static let mail = "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"

    @Test("SAVEDATE: FETCH after delivery, APPEND and COPY; SAVEDBEFORE/ON/SINCE, SAVEDATESUPPORTED")
    func saveDate() async throws {
        let size = Self.mail.utf8.count
        let started = Date(timeIntervalSinceNow: -1)  // whole seconds
        let replies = try await run([
            ("TAG SELECT INBOX", Self.selectInbox(1, 2)),
            ("TAG FETCH 1 (SAVEDATE)", "* 1 FETCH (SAVEDATE _)\nTAG OK FETCH completed\n"),
            ("TAG UID FETCH 1 (SAVEDATE INTERNALDATE)", "* 1 FETCH (UID 1 SAVEDATE _ INTERNALDATE _)\nTAG OK FETCH completed\n"),
            ("TAG SEARCH SAVEDATESUPPORTED", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SAVEDON \(Self.today())", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SAVEDSINCE \(Self.today())", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SAVEDBEFORE \(Self.today())", "* SEARCH\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SAVEDBEFORE \(Self.today(1))", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH NOT SAVEDSINCE \(Self.today(1))", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SAVEDSINCE", "TAG BAD Expected a space\n"),
            ("TAG APPEND Archive (\\Seen) \"01-Jan-2001 00:00:00 +0000\" {\(size)+}\r\n\(Self.mail)",
             "TAG OK [APPENDUID _ 1] APPEND completed\n"),
            ("TAG COPY 1 Archive", "TAG OK [COPYUID _ 1 2] COPY completed\n"),
            ("TAG EXAMINE Archive", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
                + "* OK [PERMANENTFLAGS ()] No permanent flags permitted\n* 2 EXISTS\n* 2 RECENT\n* OK [UNSEEN 2] First unseen\n"
                + "* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 3] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\n"
                + "TAG OK [READ-ONLY] EXAMINE completed\n"),
            ("TAG FETCH 1:2 (INTERNALDATE SAVEDATE)",
             "* 1 FETCH (INTERNALDATE _ SAVEDATE _)\n* 2 FETCH (INTERNALDATE _ SAVEDATE _)\nTAG OK FETCH completed\n"),
            // The internal date of 2001 is not the save date.
            ("TAG SEARCH SAVEDBEFORE 1-Jan-2002", "* SEARCH\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH BEFORE 1-Jan-2002", "* SEARCH 1\nTAG OK SEARCH completed\n"),
        ], deliveries: [Self.mail])
        // The save dates are now (the in-memory store keeps whole seconds).
        for reply in [replies[1], replies[13]] {
            for match in reply.matches(of: /SAVEDATE "([^"]+)"/) {
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.dateFormat = "d-MMM-yyyy HH:mm:ss Z"
                let date = try #require(formatter.date(from: String(match.1)), "\(match.1)")
                // Made while the test ran (however long a loaded machine takes), not at the internal date.
                #expect(date >= started && date <= Date(timeIntervalSinceNow: 1), "\(match.1)")
            }
        }
    }

    @Test("OBJECTID: MAILBOXID in CREATE, STATUS and SELECT, kept by RENAME, new for a re-created folder")
    func mailboxID() async throws {
        let replies = try await run([
            ("TAG CREATE Projects", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG STATUS Projects (MAILBOXID MESSAGES)", "* STATUS Projects (MAILBOXID _ MESSAGES 0)\nTAG OK STATUS completed\n"),
            ("TAG RENAME Projects Done", "TAG OK RENAME completed\n"),
            ("TAG STATUS Done (MAILBOXID)", "* STATUS Done (MAILBOXID _)\nTAG OK STATUS completed\n"),
            ("TAG DELETE Done", "TAG OK DELETE completed\n"),
            ("TAG CREATE Done", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG STATUS INBOX (MAILBOXID)", "* STATUS INBOX (MAILBOXID _)\nTAG OK STATUS completed\n"),
            ("TAG SELECT INBOX", Self.selectInbox(1, 2)),
            ("TAG LIST \"\" INBOX RETURN (STATUS (MAILBOXID))", "* LIST (\\HasNoChildren) \"/\" INBOX\n* STATUS INBOX (MAILBOXID _)\nTAG OK LIST completed\n"),
            ("TAG STATUS INBOX (MAILBOXID", "TAG BAD Expected )\n"),
        ], deliveries: [Self.mail])
        func id(_ reply: String) throws -> String { String(try #require(reply.firstMatch(of: /MAILBOXID \((F\d+)\)/)).1) }
        let created = try id(replies[0])
        #expect(try id(replies[1]) == created)
        #expect(try id(replies[3]) == created)  // RENAME keeps it
        #expect(try id(replies[5]) != created)  // a new folder of the same name has a new one
        #expect(try id(replies[6]) == id(replies[7]))
        #expect(try id(replies[6]) == id(replies[8]))
        #expect(Set(try [created, id(replies[5]), id(replies[6])]).count == 3)
    }

    static let first = "From: a@example.org\r\nSubject: first\r\nMessage-ID: <one@example.org>\r\n\r\nHello\r\n"
    static let reply = "From: b@example.org\r\nSubject: Re: first\r\nMessage-ID: <two@example.org>\r\nIn-Reply-To: <one@example.org>\r\n\r\nHi\r\n"
    static let other = "From: c@example.org\r\nSubject: other\r\nMessage-ID: <three@example.org>\r\n\r\nHey\r\n"
    static let replyToReply = "From: a@example.org\r\nSubject: Re: first\r\nReferences: <one@example.org> <two@example.org>\r\n\r\nYo\r\n"

    @Test("OBJECTID: EMAILID kept by COPY and MOVE, THREADID by reference, SEARCH EMAILID/THREADID")
    func emailAndThreadIDs() async throws {
        try await run([
            ("TAG SELECT INBOX", Self.selectInbox(4, 5)),
            ("TAG FETCH 1:4 (EMAILID THREADID)", "* 1 FETCH (EMAILID (M1) THREADID (T1))\n* 2 FETCH (EMAILID (M2) THREADID (T1))\n"
                + "* 3 FETCH (EMAILID (M3) THREADID (T2))\n* 4 FETCH (EMAILID (M4) THREADID (T1))\nTAG OK FETCH completed\n"),
            ("TAG SEARCH EMAILID M3", "* SEARCH 3\nTAG OK SEARCH completed\n"),
            ("TAG UID SEARCH THREADID T1", "* SEARCH 1 2 4\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH OR EMAILID M2 THREADID T2", "* SEARCH 2 3\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH EMAILID M9", "* SEARCH\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH EMAILID", "TAG BAD Expected a space\n"),
            ("TAG SEARCH THREADID T1.2", "TAG BAD Unexpected extra arguments\n"),
            ("TAG SEARCH EMAILID \(String(repeating: "M", count: 256))", "TAG BAD Expected an object id\n"),
            ("TAG COPY 2 Archive", "TAG OK [COPYUID _ 2 1] COPY completed\n"),
            ("TAG MOVE 3 Archive", "* OK [COPYUID _ 3 2] Moved UIDs\n* 3 EXPUNGE\nTAG OK MOVE completed\n"),
            ("TAG SELECT Archive", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
                + "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\n* 2 EXISTS\n* 2 RECENT\n"
                + "* OK [UNSEEN 1] First unseen\n* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 3] Predicted next UID\n"
                + "* OK [MAILBOXID _] Mailbox ID\nTAG OK [READ-WRITE] SELECT completed\n"),
            ("TAG UID FETCH 1:2 (THREADID EMAILID)", "* 1 FETCH (UID 1 THREADID (T1) EMAILID (M2))\n* 2 FETCH (UID 2 THREADID (T2) EMAILID (M3))\n"
                + "TAG OK FETCH completed\n"),
            ("TAG FETCH 1 (EMAILID", "TAG BAD Expected )\n"),
        ], deliveries: [Self.first, Self.reply, Self.other, Self.replyToReply])
    }

    static let multipart = "From: a@example.org\r\nSubject: p\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        + "--b\r\nContent-Type: text/html\r\n\r\n<p>Not this</p>\r\n"
        + "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + "Hello  =C3=A9t=C3=A9,\r\n\r\n\tsecond\tline =\r\njoined\r\n--b--\r\n"
    static let html = "From: a@example.org\r\nSubject: h\r\nContent-Type: text/html\r\n\r\n<html><head><title>T</title><style>p {}</style></head>"
        + "<body><p>Hi &amp; <b>there</b></p></body></html>\r\n"
    static let long = "From: a@example.org\r\nSubject: l\r\n\r\n" + String(repeating: "abcdefghij ", count: 40) + "\r\n"
    static let image = "From: a@example.org\r\nSubject: i\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"

    @Test("PREVIEW and PREVIEW (LAZY): plain text first, HTML without tags, 256 characters, empty without text")
    func preview() async throws {
        let cut = String(String(repeating: "abcdefghij ", count: 40).prefix(256))
        try await run([
            ("TAG SELECT INBOX", Self.selectInbox(4, 5)),
            ("TAG FETCH 1 (PREVIEW)", "* 1 FETCH (PREVIEW {31}\nHello été, second line joined)\nTAG OK FETCH completed\n"),
            ("TAG FETCH 2 PREVIEW", "* 2 FETCH (PREVIEW \"Hi & there\")\nTAG OK FETCH completed\n"),
            ("TAG FETCH 3:4 (UID PREVIEW (LAZY))", "* 3 FETCH (UID 3 PREVIEW \"\(cut)\")\n* 4 FETCH (UID 4 PREVIEW \"\")\nTAG OK FETCH completed\n"),
            ("TAG FETCH 2 (PREVIEW PREVIEW (LAZY) FLAGS)",
             "* 2 FETCH (PREVIEW \"Hi & there\" PREVIEW \"Hi & there\" FLAGS (\\Recent))\nTAG OK FETCH completed\n"),
            ("TAG FETCH 2 PREVIEW (LAZY)", "* 2 FETCH (PREVIEW \"Hi & there\")\nTAG OK FETCH completed\n"),
            ("TAG FETCH 2 (PREVIEW (FUZZY))", "TAG BAD Expected a keyword\n"),
            ("TAG FETCH 2 (PREVIEW (LAZY LAZY))", "TAG BAD Expected )\n"),
            ("TAG FETCH 2 PREVIEW (CHANGEDSINCE 1)", "* 2 FETCH (PREVIEW \"Hi & there\" MODSEQ (3))\nTAG OK [HIGHESTMODSEQ 5] FETCH completed\n"),
        ], deliveries: [Self.multipart, Self.html, Self.long, Self.image])
    }

    @Test("PREVIEW is kept with the message: the second FETCH reads it from the store")
    func previewCached() async throws {
        let h = try await SessionHarness(realStore: true)
        try await run([
            ("TAG SELECT INBOX", Self.selectInbox(1, 2)),
            ("TAG FETCH 1 (PREVIEW)", "* 1 FETCH (PREVIEW \"Hi & there\")\nTAG OK FETCH completed\n"),
            ("TAG FETCH 1 (PREVIEW (LAZY) EMAILID THREADID SAVEDATE)",
             "* 1 FETCH (PREVIEW \"Hi & there\" EMAILID (M1) THREADID (T1) SAVEDATE _)\nTAG OK FETCH completed\n"),
        ], deliveries: [Self.html], harness: h)
        let session = try await h.mailboxes.unlock(address: try EmailAddress(h.address), password: h.password)
        var kept: [UID: [UInt8]]?
        for _ in 0..<200 {  // the cache is written after the answer
            kept = try await session.derived([IMAPSession.previewKind], in: "INBOX", uids: UIDSet([1]))[IMAPSession.previewKind]
            if kept != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(kept?[1] == Array("Hi & there".utf8))
        // A different text kept under the kind is what FETCH answers: it reads, it does not recompute.
        try await session.keepDerived(IMAPSession.previewKind, in: "INBOX", values: [1: Array("cached".utf8)])
        try await run([
            ("TAG SELECT INBOX", Self.selectInbox(1, 2).replacingOccurrences(of: "* 1 RECENT", with: "* 0 RECENT")),
            ("TAG FETCH 1 (PREVIEW (LAZY))", "* 1 FETCH (PREVIEW \"cached\")\nTAG OK FETCH completed\n"),
        ], harness: h)
        await session.close()
        await h.cleanUp()
    }
}

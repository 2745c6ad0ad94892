import Foundation
import IMAPCore
@testable import IMAPServer
import MailboxAPI
import MailboxTesting
import Testing

/// REPLACE and UID REPLACE (RFC 8508) as exact transcripts, on the in-memory store (its default,
/// non-atomic replace) and on the real store (one transaction).
@Suite("IMAP REPLACE transcripts")
struct ReplaceTests {
    static let draft = "From: a@example.org\r\nSubject: draft 2\r\n\r\nsecond version\r\n"
    static func replace(_ verb: String, _ target: String, _ mailbox: String, _ message: String = draft) -> String {
        "TAG \(verb) \(target) \(mailbox) (\\Draft) {\(message.utf8.count)+}\r\n\(message)"
    }

    func transcript(realStore: Bool) async throws {
        let h = try await SessionHarness(quotaBytes: 1 << 20, realStore: realStore)
        try await ObjectIDTests().run([
            (Self.replace("REPLACE", "1", "Drafts"), "TAG BAD No mailbox selected\n"),
            ("TAG SELECT INBOX", ObjectIDTests.selectInbox(3, 4)),
            (Self.replace("REPLACE", "1", "Drafts"), "* OK [APPENDUID _ 1] Replacement Message ID\n* 1 EXPUNGE\nTAG OK REPLACE completed\n"),
            (Self.replace("UID REPLACE", "3", "INBOX"),
             "* OK [APPENDUID _ 4] Replacement Message ID\n* 2 EXPUNGE\n* 2 EXISTS\n* 2 RECENT\nTAG OK REPLACE completed\n"),
            ("TAG FETCH 1:* (UID FLAGS)", "* 1 FETCH (UID 2 FLAGS (\\Recent))\n* 2 FETCH (UID 4 FLAGS (\\Draft \\Recent))\nTAG OK FETCH completed\n"),
            (Self.replace("UID REPLACE", "3", "INBOX"), "TAG NO No such message\n"),
            (Self.replace("REPLACE", "1", "Nowhere"), "TAG NO [TRYCREATE] Mailbox does not exist\n"),
            (Self.replace("REPLACE", "9", "INBOX"), "TAG BAD Invalid message sequence number\n"),
            (Self.replace("REPLACE", "1:2", "INBOX"), "TAG BAD REPLACE needs a message literal\n"),
            (Self.replace("UID REPLACE", "$", "INBOX"), "TAG BAD REPLACE needs a message literal\n"),
            ("TAG REPLACE 1 INBOX", "TAG BAD REPLACE needs a message literal\n"),
            ("TAG UID REPLACE", "TAG BAD REPLACE needs a message literal\n"),
            (Self.replace("REPLACE", "1", "INBOX", ""), "TAG NO [CANNOT] Empty message\n"),
            ("TAG STATUS Drafts (MESSAGES)", "* STATUS Drafts (MESSAGES 1)\nTAG OK STATUS completed\n"),
            ("TAG EXAMINE INBOX", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
                + "* OK [PERMANENTFLAGS ()] No permanent flags permitted\n* 2 EXISTS\n* 0 RECENT\n* OK [UNSEEN 1] First unseen\n"
                + "* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 5] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\n"
                + "TAG OK [READ-ONLY] EXAMINE completed\n"),
            (Self.replace("REPLACE", "1", "Drafts"), "TAG NO [READ-ONLY] Mailbox is read-only\n"),
            ("TAG UID FETCH 4 (BODY.PEEK[TEXT])", "* 2 FETCH (UID 4 BODY[TEXT] {16}\nsecond version\n)\nTAG OK FETCH completed\n"),
        ], deliveries: [ObjectIDTests.mail, ObjectIDTests.mail, ObjectIDTests.mail], harness: h)
        await h.cleanUp()
    }

    @Test("REPLACE and UID REPLACE on the in-memory store") func inMemory() async throws { try await transcript(realStore: false) }
    @Test("REPLACE and UID REPLACE on the real store, in one transaction") func real() async throws { try await transcript(realStore: true) }

    @Test("REPLACE: a message over the APPEND limit is refused as APPEND's is, and the original stays")
    func tooLarge() async throws {
        let h = try await SessionHarness(quotaBytes: 1 << 20)
        var limits = IMAPLimits()
        limits.maxAppendSize = 64
        try await h.deliver(ObjectIDTests.mail)
        let c = h.connect(limits: limits)
        try await c.login(h)
        _ = try await c.command("s", "SELECT INBOX")
        let big = String(repeating: "x", count: 100)
        try await c.send("r1 REPLACE 1 INBOX {100+}\r\n\(big)")
        #expect(try await c.read(until: "r1 ") == "r1 NO [TOOBIG] Message too large (100 bytes; the limit is 64)\r\n")
        #expect(try await c.command("r2", "FETCH 1 (UID)") == "* 1 FETCH (UID 1)\r\nr2 OK FETCH completed\r\n")
        await c.close()
        await h.cleanUp()
    }
}

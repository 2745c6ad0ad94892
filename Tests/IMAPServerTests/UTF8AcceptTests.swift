import Foundation
import Testing

/// RFC 9755 (UTF8=ACCEPT) and RFC 9051 §5.1 (IMAP4rev2): once enabled, mailbox names are UTF-8
/// both ways (no modified UTF-7), normalised to NFC; APPEND takes the `UTF8 (~{n})` data item; a
/// conflicting SEARCH charset is BAD.
@Suite("UTF8=ACCEPT and IMAP4rev2 mailbox names")
struct UTF8AcceptTests {
    @Test("names are modified UTF-7 until ENABLE UTF8=ACCEPT, then UTF-8 both ways")
    func names() async throws {
        let ok = "TAG OK LIST completed\n"
        try await TranscriptTests().run([
            ("TAG CREATE Entw&APw-rfe", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG LIST \"\" Entw*", "* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\n" + ok),
            ("TAG ENABLE UTF8=ACCEPT", "* ENABLED UTF8=ACCEPT\nTAG OK ENABLE completed\n"),
            ("TAG ENABLE UTF8=ACCEPT", "* ENABLED\nTAG OK ENABLE completed\n"),
            ("TAG LIST \"\" Entw*", "* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\n" + ok),
            ("TAG LIST \"\" \"Entwü*\"", "* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\n" + ok),
            // An & is itself now: no modified UTF-7 either way.
            ("TAG CREATE \"R&D\"", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG LIST \"\" R*", "* LIST (\\HasNoChildren) \"/\" R&D\n" + ok),
            // The same name decomposed (NFD: u + U+0308) opens the same mailbox.
            ("TAG STATUS \"Entwu\u{308}rfe\" (MESSAGES)", "* STATUS \"Entwürfe\" (MESSAGES 0)\nTAG OK STATUS completed\n"),
            ("TAG CREATE \"Entwu\u{308}rfe\"", "TAG NO [ALREADYEXISTS] Mailbox already exists\n"),
            ("TAG CREATE \"日本語/メール\"", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG LIST \"\" \"日本語*\"", "* LIST (\\HasChildren) \"/\" \"日本語\"\n* LIST (\\HasNoChildren) \"/\" \"日本語/メール\"\n" + ok),
            ("TAG SELECT \"日本語/メール\"", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n"
                + "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\n"
                + "* 0 EXISTS\n* 0 RECENT\n* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 1] Predicted next UID\n"
                + "* OK [MAILBOXID _] Mailbox ID\nTAG OK [READ-WRITE] SELECT completed\n"),
            ("TAG SEARCH CHARSET UTF-8 SUBJECT \"für\"", "* SEARCH\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH CHARSET ISO-8859-1 ALL", "TAG BAD Charset ISO-8859-1 conflicts with UTF8=ACCEPT: send UTF-8 without a charset\n"),
            ("TAG SORT (SUBJECT) KOI8-R ALL", "TAG BAD Charset KOI8-R conflicts with UTF8=ACCEPT: send UTF-8 without a charset\n"),
        ], select: false)
    }

    @Test("IMAP4rev2 names are UTF-8 too, a missing parent is \\NonExistent; before any ENABLE a charset is NO [BADCHARSET]")
    func rev2() async throws {
        try await TranscriptTests().run([
            ("TAG CREATE \"Gel&APY-scht\"", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG SEARCH CHARSET ISO-8859-1 ALL", "TAG NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\n"),
            ("TAG ENABLE IMAP4rev2", "* ENABLED IMAP4rev2\nTAG OK ENABLE completed\n"),
            ("TAG LIST \"\" Gel*", "* LIST (\\HasNoChildren) \"/\" \"Gelöscht\"\nTAG OK LIST completed\n"),
            ("TAG RENAME \"Gelöscht\" \"Alt/Gelöscht\"", "TAG OK RENAME completed\n"),
            ("TAG STATUS \"Alt/Gelöscht\" (MESSAGES)", "* STATUS \"Alt/Gelöscht\" (MESSAGES 0)\nTAG OK STATUS completed\n"),
            ("TAG LIST \"\" \"Alt*\"", "* LIST (\\HasChildren) \"/\" Alt\n* LIST (\\HasNoChildren) \"/\" \"Alt/Gelöscht\"\nTAG OK LIST completed\n"),
            // A parent deleted under its child: \NonExistent in rev2 (RFC 9051 §7.3.1), \Noselect in rev1.
            ("TAG DELETE Alt", "TAG OK DELETE completed\n"),
            ("TAG LIST \"\" \"Alt*\"", "* LIST (\\NonExistent \\HasChildren) \"/\" Alt\n* LIST (\\HasNoChildren) \"/\" \"Alt/Gelöscht\"\nTAG OK LIST completed\n"),
        ])
    }

    @Test("a name that is not UTF-8 is BAD once UTF-8 is on")
    func invalidUTF8() async throws {
        let h = try await SessionHarness()
        let c = h.connect()
        try await c.login(h)
        _ = try await c.command("e", "ENABLE UTF8=ACCEPT")
        try await c.sendRaw(Array("c1 CREATE \"bad".utf8) + [0xFF, 0xFE] + Array("\"\r\n".utf8))
        #expect(try await c.read(until: "c1 ") == "c1 BAD Mailbox name is not valid UTF-8\r\n")
        await c.close()
        await h.cleanUp()
    }

    /// A message with a raw UTF-8 header (RFC 6532) in the UTF8 data item, alone and in a
    /// MULTIAPPEND; the closing parenthesis is required.
    @Test("APPEND UTF8 (~{n}) stores the bytes exactly; MULTIAPPEND of two; a missing ) is BAD", arguments: [false, true])
    func appendUTF8(realStore: Bool) async throws {
        let h = try await SessionHarness(realStore: realStore)
        let c = h.connect()
        try await c.login(h)
        _ = try await c.command("e", "ENABLE UTF8=ACCEPT")
        let m = Array("From: Jürgen <jürgen@bücher.example>\r\nSubject: Grüße\r\n\r\nHallo\r\n".utf8)
        try await c.sendRaw(Array("a1 APPEND INBOX (\\Seen) UTF8 (~{\(m.count)+}\r\n".utf8) + m + Array(")\r\n".utf8))
        let one = try await c.read(until: "a1 ")
        #expect(one.hasPrefix("a1 OK [APPENDUID ") && one.hasSuffix(" 1] APPEND completed\r\n"), "\(one)")
        try await c.sendRaw(Array("a2 APPEND INBOX UTF8 (~{\(m.count)+}\r\n".utf8) + m + Array(") (\\Flagged) UTF8 (~{\(m.count)+}\r\n".utf8)
                            + m + Array(")\r\n".utf8))
        let two = try await c.read(until: "a2 ")
        #expect(two.hasPrefix("a2 OK [APPENDUID ") && two.hasSuffix(" 2:3] APPEND completed\r\n"), "\(two)")
        try await c.sendRaw(Array("a3 APPEND INBOX UTF8 (~{\(m.count)+}\r\n".utf8) + m + Array("\r\n".utf8))
        #expect(try await c.read(until: "a3 ") == "a3 BAD Expected the ) closing UTF8 (, and nothing after it\r\n")
        try await c.send("a4 APPEND INBOX UTF8 ({5+}\r\nHello)")
        let four = try await c.read(until: "a4 ")
        #expect(four.hasPrefix("a4 BAD "), "\(four)")  // UTF8 takes a literal8 (~{n}) only
        _ = try await c.command("s", "SELECT INBOX")
        try await c.send("f FETCH 1:* (FLAGS BODY.PEEK[])")
        let fetched = try await c.read(until: "f ")
        let body = String(decoding: m, as: UTF8.self)
        #expect(fetched == "* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[] {\(m.count)}\r\n\(body))\r\n"
                + "* 2 FETCH (FLAGS (\\Recent) BODY[] {\(m.count)}\r\n\(body))\r\n"
                + "* 3 FETCH (FLAGS (\\Flagged \\Recent) BODY[] {\(m.count)}\r\n\(body))\r\nf OK FETCH completed\r\n", "\(fetched)")
        await c.close()
        await h.cleanUp()
    }
}

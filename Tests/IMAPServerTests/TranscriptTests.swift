import Foundation
@testable import IMAPServer
import Testing

/// Exact bytes in, exact bytes out, for every command and its error cases. `UIDVALIDITY`,
/// `APPENDUID`/`COPYUID` validity values and INTERNALDATE vary per run and are masked.
@Suite("IMAP exact transcripts")
struct TranscriptTests {
    static func mask(_ text: String) -> String {
        var t = text
        for pattern in [#"UIDVALIDITY \d+"#, #"APPENDUID \d+"#, #"COPYUID \d+"#, #"INTERNALDATE "[^"]+""#, #"UIDVALIDITY": \d+"#, #"MAILBOXID \([^)]+\)"#] {
            let regex = try! NSRegularExpression(pattern: pattern)
            t = regex.stringByReplacingMatches(in: t, range: NSRange(t.startIndex..., in: t),
                                               withTemplate: String(pattern.prefix(while: { $0 != "\\" && $0 != "\"" && $0 != "[" })) + "_")
        }
        return t
    }

    /// Runs `steps` (line sent → exact expected reply, `\n` standing for CRLF) on a logged-in session.
    func run(_ steps: [(String, String)], deliveries: [String] = [], select: Bool = true) async throws {
        let h = try await SessionHarness(quotaBytes: 1 << 20)
        for d in deliveries { try await h.deliver(d) }
        let c = h.connect()
        try await c.login(h)
        if select { _ = try await c.command("s0", "SELECT INBOX") }
        for (i, (line, expected)) in steps.enumerated() {
            let tag = "t\(i)"
            try await c.send(line.replacingOccurrences(of: "TAG", with: tag))
            let got = Self.mask(try await c.read(until: line.hasPrefix("+") ? "* BAD" : tag + " "))
            // `TAG` stands for the tag, but in ESEARCH's `(TAG "…")`.
            let want = expected.replacingOccurrences(of: "(TAG \"", with: "(\u{0}\"").replacingOccurrences(of: "TAG", with: tag)
                .replacingOccurrences(of: "(\u{0}\"", with: "(TAG \"").replacingOccurrences(of: "\n", with: "\r\n")
            #expect(got == want, "step \(i): \(line)")
        }
        await c.close()
        await h.cleanUp()
    }

    static let m1 = "From: Ann <ann@example.org>\r\nSubject: Hi\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nHello\r\n"
    static let m2 = """
        From: Bob <bob@example.org>\r
        Subject: Photo\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary=b\r
        \r
        --b\r
        Content-Type: text/plain\r
        \r
        see attached\r
        --b\r
        Content-Type: application/octet-stream\r
        Content-Transfer-Encoding: base64\r
        \r
        AAEC\r
        --b--\r

        """

    /// A single part in an unknown transfer encoding, and a multipart with one such part
    /// (Fixtures/23-unknown-cte-foo.eml and 21-unknown-cte.eml of the MIME parser tests).
    static let unknownCTE = "From: u@example.com\r\nSubject: foo\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
        + "Content-Transfer-Encoding: foo\r\n\r\nsome text\r\n"
    static let unknownCTEPart = """
        From: u@example.com\r
        Subject: x-uuencode\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="enc"\r
        \r
        --enc\r
        Content-Type: text/plain\r
        \r
        plain part\r
        --enc\r
        Content-Type: application/octet-stream\r
        Content-Transfer-Encoding: x-uuencode\r
        \r
        begin 644 file\r
        end\r
        --enc--\r

        """

    /// RFC 3516 §4.3: BINARY and BINARY.SIZE of a part whose encoding the server cannot remove
    /// end in a tagged NO [UNKNOWN-CTE], and the refused item is left out of the FETCH response
    /// (never a size of 0 or NIL). The response keeps the other items, or the UID when nothing
    /// else is left, byte for byte as Dovecot 2.3 answers a single message. Unlike Dovecot, which
    /// stops at the first such message, the other messages of the FETCH are still answered, and
    /// only the part that cannot be decoded is refused (Dovecot refuses BINARY.SIZE of every part
    /// of that message).
    @Test("BINARY of a part in an unknown transfer encoding: NO [UNKNOWN-CTE]")
    func unknownTransferEncoding() async throws {
        let no = "TAG NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding\n"
        try await run([
            ("TAG FETCH 1 (BINARY.SIZE[1])", "* 1 FETCH (UID 1)\n" + no),
            ("TAG FETCH 1 (BINARY.PEEK[1])", "* 1 FETCH (UID 1)\n" + no),
            ("TAG FETCH 1 (BINARY.PEEK[1]<0.3>)", "* 1 FETCH (UID 1)\n" + no),
            ("TAG FETCH 1 (FLAGS BINARY.SIZE[1])", "* 1 FETCH (FLAGS (\\Recent))\n" + no),
            ("TAG FETCH 1 (BINARY.SIZE[1] RFC822.SIZE BINARY.PEEK[1])", "* 1 FETCH (RFC822.SIZE \(Self.unknownCTE.utf8.count))\n" + no),
            ("TAG UID FETCH 1 (BINARY.SIZE[1])", "* 1 FETCH (UID 1)\n" + no),
            ("TAG FETCH 1 (BODY.PEEK[1])", "* 1 FETCH (BODY[1] {11}\nsome text\n)\nTAG OK FETCH completed\n"),
            ("TAG FETCH 2 (BINARY.SIZE[1] BINARY.SIZE[2])", "* 2 FETCH (BINARY.SIZE[1] 10)\n" + no),
            ("TAG FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[3])", "* 2 FETCH (BINARY[1] {10}\nplain part BINARY.SIZE[3] 0)\nTAG OK FETCH completed\n"),
            ("TAG FETCH 1:3 (BINARY.SIZE[2])", "* 1 FETCH (BINARY.SIZE[2] 0)\n* 2 FETCH (UID 2)\n* 3 FETCH (BINARY.SIZE[2] 3)\n" + no),
            // BINARY (not PEEK) sets \Seen before the part is found undecodable, as in Dovecot
            ("TAG FETCH 1 (BINARY[1])", "* 1 FETCH (FLAGS (\\Seen \\Recent))\n" + no),
        ], deliveries: [Self.unknownCTE, Self.unknownCTEPart, Self.m2])
    }

    /// RFC 3501 §6.3.3/§6.3.4/§6.3.6/§6.3.9, checked against Dovecot 2.3: CREATE does not
    /// subscribe, DELETE does not unsubscribe (LSUB still shows the name, LIST (SUBSCRIBED) shows it
    /// `\NonExistent`, RFC 5258 §3.1), UNSUBSCRIBE works on such a name, and a `%` that stops at
    /// an unsubscribed parent of a subscribed name shows the parent `\Noselect`. (Dovecot lists
    /// the parent `Work` as `\NonExistent`: it does not create parents; CREATE here does.)
    @Test("subscriptions: CREATE, DELETE, LSUB parents")
    func subscriptions() async throws {
        let lsubOK = "TAG OK LSUB completed\n", listOK = "TAG OK LIST completed\n"
        try await run([
            ("TAG LSUB \"\" *", "* LSUB () \"/\" INBOX\n* LSUB () \"/\" Archive\n* LSUB () \"/\" Drafts\n* LSUB () \"/\" Junk\n"
                + "* LSUB () \"/\" Sent\n* LSUB () \"/\" Trash\n" + lsubOK),
            ("TAG CREATE Work/2026", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG LSUB \"\" W*", lsubOK),
            ("TAG LIST (SUBSCRIBED) \"\" W*", listOK),
            ("TAG LIST \"\" W* RETURN (SUBSCRIBED)", "* LIST (\\HasChildren) \"/\" Work\n* LIST (\\HasNoChildren) \"/\" Work/2026\n" + listOK),
            ("TAG SUBSCRIBE Work/2026", "TAG OK SUBSCRIBE completed\n"),
            ("TAG LSUB \"\" W%", "* LSUB (\\Noselect) \"/\" Work\n" + lsubOK),
            ("TAG LSUB \"\" W*", "* LSUB () \"/\" Work/2026\n" + lsubOK),
            ("TAG LSUB Work/ %", "* LSUB () \"/\" Work/2026\n" + lsubOK),
            ("TAG LIST \"\" W* RETURN (SUBSCRIBED)", "* LIST (\\HasChildren) \"/\" Work\n* LIST (\\HasNoChildren \\Subscribed) \"/\" Work/2026\n" + listOK),
            ("TAG DELETE Work/2026", "TAG OK DELETE completed\n"),
            ("TAG LSUB \"\" W*", "* LSUB () \"/\" Work/2026\n" + lsubOK),
            ("TAG LSUB \"\" W%", "* LSUB (\\Noselect) \"/\" Work\n" + lsubOK),
            ("TAG LIST (SUBSCRIBED) \"\" W*", "* LIST (\\Subscribed \\NonExistent) \"/\" Work/2026\n" + listOK),
            ("TAG LIST \"\" W*", "* LIST (\\HasNoChildren) \"/\" Work\n" + listOK),
            ("TAG CREATE Work/2026", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG LSUB \"\" W*", "* LSUB () \"/\" Work/2026\n" + lsubOK),
            ("TAG DELETE Work/2026", "TAG OK DELETE completed\n"),
            ("TAG UNSUBSCRIBE Work/2026", "TAG OK UNSUBSCRIBE completed\n"),
            ("TAG LSUB \"\" W*", lsubOK),
            ("TAG SUBSCRIBE Work/2026", "TAG NO [NONEXISTENT] Mailbox does not exist\n"),
        ], select: false)
    }

    /// RFC 3501 §6.4.4: SENT* compare the Date: header's date as written in its own zone (1 is
    /// 2 December in UTC, 2 is 1 December in UTC); a message without a Date: header falls back to
    /// its internal date. FROM/TO/CC match an RFC 5322 group's display name.
    @Test("SEARCH SENT* by the written date, address keys by group name")
    func searchSentDateAndGroups() async throws {
        let late = "From: Friends: ann@example.org, bob@example.org;\r\nTo: Team: ;\r\nSubject: late\r\n"
            + "Date: Mon, 1 Dec 2025 23:30:00 -0500\r\n\r\nx\r\n"
        let early = "From: Carol <carol@example.org>\r\nCc: \"The Board\": dan@example.org;\r\nSubject: early\r\n"
            + "Date: Tue, 2 Dec 2025 00:30:00 +1400\r\n\r\ny\r\n"
        try await run([
            ("TAG SEARCH SENTON 1-Dec-2025", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SENTON 2-Dec-2025", "* SEARCH 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SENTBEFORE 2-Dec-2025", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH SENTSINCE 2-Dec-2025", "* SEARCH 2 3\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH NOT SENTBEFORE 1-Dec-2025 SENTBEFORE 3-Dec-2025", "* SEARCH 1 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH FROM Friends", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH FROM bob@example.org", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH TO team", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH CC \"the board\"", "* SEARCH 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH OR FROM friends FROM carol", "* SEARCH 1 2\nTAG OK SEARCH completed\n"),
        ], deliveries: [late, early, "From: x@example.org\r\nSubject: no date\r\n\r\nz\r\n"])
    }

    /// RFC 5182 §2.4: SAVE with MIN and/or MAX alone saves what they return; with ALL or COUNT, every match.
    @Test("SEARCHRES: SAVE with MIN/MAX saves only those messages; an unknown RETURN option is BAD")
    func saveMinMax() async throws {
        let m = "From: a@example.org\r\nSubject: s\r\n\r\nx\r\n"
        try await run([
            ("TAG SEARCH RETURN (SAVE MIN) ALL", "* ESEARCH (TAG \"TAG\") MIN 1\nTAG OK SEARCH completed\n"),
            ("TAG FETCH $ (FLAGS)", "* 1 FETCH (FLAGS (\\Recent))\nTAG OK FETCH completed\n"),
            ("TAG SEARCH RETURN (SAVE MAX) NOT 3", "* ESEARCH (TAG \"TAG\") MAX 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH $", "* SEARCH 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (MIN SAVE MAX) ALL", "* ESEARCH (TAG \"TAG\") MIN 1 MAX 3\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH $", "* SEARCH 1 3\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (SAVE MIN COUNT) ALL", "* ESEARCH (TAG \"TAG\") MIN 1 COUNT 3\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH $", "* SEARCH 1 2 3\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (SAVE) 2:3", "TAG OK SEARCH completed\n"),
            ("TAG SEARCH $", "* SEARCH 2 3\nTAG OK SEARCH completed\n"),
            // An option the server does not know is BAD, as for SORT (and as Dovecot answers).
            ("TAG SEARCH RETURN (BOGUS) ALL", "TAG BAD Unknown RETURN option BOGUS\n"),
        ], deliveries: [m, m, m])
    }

    @Test("any-state and authenticated-state commands")
    func general() async throws {
        try await run([
            ("TAG NOOP", "TAG OK NOOP completed\n"),
            ("TAG ID (\"name\" \"test\")", "* ID (\"name\" \"Sealbox\" \"version\" \"0.1\" \"vendor\" \"Sealbox\" \"support-url\" \"https://github.com/sealbox\")\nTAG OK ID completed\n"),
            ("TAG ENABLE CONDSTORE", "* ENABLED CONDSTORE\nTAG OK ENABLE completed\n"),
            ("TAG ENABLE CONDSTORE", "* ENABLED\nTAG OK ENABLE completed\n"),
            ("TAG NAMESPACE", "* NAMESPACE ((\"\" \"/\")) NIL NIL\nTAG OK NAMESPACE completed\n"),
            ("TAG STATUS INBOX (MESSAGES UNSEEN UIDNEXT RECENT DELETED SIZE)", "* STATUS INBOX (MESSAGES 0 UNSEEN 0 UIDNEXT 1 RECENT 0 DELETED 0 SIZE 0)\nTAG OK STATUS completed\n"),
            ("TAG STATUS Nope (MESSAGES)", "TAG NO [NONEXISTENT] Mailbox does not exist\n"),
            ("TAG STATUS INBOX (BOGUS)", "TAG BAD Unknown status attribute BOGUS\n"),
            ("TAG SETQUOTA \"\" (STORAGE 10)", "TAG NO [NOPERM] Quotas are set by the administrator\n"),
            ("TAG GETQUOTA \"\"", "* QUOTA \"\" (STORAGE 0 1024)\nTAG OK GETQUOTA completed\n"),
            ("TAG CHECK", "TAG BAD No mailbox selected\n"),
            ("TAG LOGIN a b", "TAG BAD Already authenticated\n"),
            ("TAG SELECT", "TAG BAD Missing mailbox name\n"),
            ("TAG", "TAG BAD Missing command\n"),
            ("+bad NOOP", "* BAD Invalid tag\n"),
            ("TAG LOGOUT", "* BYE Logging out\nTAG OK LOGOUT completed\n"),
        ], select: false)
    }

    @Test("selected-state commands")
    func selected() async throws {
        try await run([
            ("TAG FETCH 1:2 (UID FLAGS RFC822.SIZE)", "* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE 89)\n* 2 FETCH (UID 2 FLAGS (\\Recent) RFC822.SIZE \(Self.m2.utf8.count))\nTAG OK FETCH completed\n"),
            ("TAG FETCH 2 (BODY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2])", "* 2 FETCH (BODY[1] {12}\nsee attached BINARY[2] ~{3}\n\u{0}\u{1}\u{2} BINARY.SIZE[2] 3)\nTAG OK FETCH completed\n"),
            ("TAG FETCH 1 RFC822.HEADER", "* 1 FETCH (RFC822.HEADER {82}\nFrom: Ann <ann@example.org>\nSubject: Hi\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n\n)\nTAG OK FETCH completed\n"),
            ("TAG UID FETCH 1 BODY[TEXT]", "* 1 FETCH (UID 1 BODY[TEXT] {7}\nHello\n FLAGS (\\Seen \\Recent))\nTAG OK FETCH completed\n"),
            ("TAG FETCH 1 BODY", "* 1 FETCH (BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1))\nTAG OK FETCH completed\n"),
            // A keyword new to the client: FLAGS and PERMANENTFLAGS first (RFC 3501 §7.2.6), as in Dovecot.
            ("TAG STORE 1 FLAGS (\\Answered $Done)", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Done)\n"
                + "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Done \\*)] Flags permitted\n"
                + "* 1 FETCH (FLAGS (\\Answered \\Recent $Done))\nTAG OK STORE completed\n"),
            ("TAG STORE 1 -FLAGS \\Answered", "* 1 FETCH (FLAGS (\\Recent $Done))\nTAG OK STORE completed\n"),
            ("TAG UID STORE 2 +FLAGS.SILENT (\\Deleted)", "TAG OK STORE completed\n"),
            ("TAG SEARCH CHARSET KOI8-R ALL", "TAG NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\n"),
            ("TAG SEARCH KEYWORD $Done", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG UID SEARCH DELETED", "* SEARCH 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH FROM bob SUBJECT photo", "* SEARCH 2\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH 1:* NOT FROM bob", "* SEARCH 1\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH FOO", "TAG BAD Unknown search key FOO\n"),
            ("TAG COPY 1 Trash", "TAG OK [COPYUID _ 1 1] COPY completed\n"),
            ("TAG UID EXPUNGE 1", "TAG OK EXPUNGE completed\n"),
            ("TAG UID EXPUNGE 2", "* 2 EXPUNGE\nTAG OK EXPUNGE completed\n"),
            ("TAG CHECK", "TAG OK CHECK completed\n"),
            ("TAG FETCH 5 FLAGS", "TAG BAD Invalid message sequence number\n"),
            ("TAG STORE 1 FLAGZ (\\Seen)", "TAG BAD Expected FLAGS, +FLAGS or -FLAGS\n"),
            ("TAG UNSELECT", "TAG OK UNSELECT completed\n"),
            ("TAG FETCH 1 FLAGS", "TAG BAD No mailbox selected\n"),
            ("TAG EXAMINE INBOX", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Done)\n* OK [PERMANENTFLAGS ()] No permanent flags permitted\n* 1 EXISTS\n* 0 RECENT\n* OK [UNSEEN 1] First unseen\n* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 3] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\nTAG OK [READ-ONLY] EXAMINE completed\n"),
            ("TAG STORE 1 +FLAGS (\\Deleted)", "TAG NO [READ-ONLY] Mailbox is read-only\n"),
            ("TAG CLOSE", "TAG OK CLOSE completed\n"),
        ], deliveries: [Self.m1, Self.m2])
    }
}

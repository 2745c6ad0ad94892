import SMTPCore
import Testing

@Suite("SMTP command parser and replies")
struct SMTPCommandParserTests {
    func parse(_ s: String) -> Result<SMTPCommand, SMTPCommandError> { SMTPCommandParser.parse(Array(s.utf8)) }

    @Test("valid commands", arguments: [
        ("EHLO client.example.org", SMTPCommand.ehlo("client.example.org")),
        ("helo [192.0.2.1]", .helo("[192.0.2.1]")),
        ("MAIL FROM:<>", .mail(from: nil, parameters: [])),
        ("MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME", .mail(from: SMTPMailbox(localPart: "a", domain: "example.org"),
                                                                    parameters: [SMTPParameter("SIZE", "1000"), SMTPParameter("BODY", "8BITMIME")])),
        ("mail from: <a@example.org>", .mail(from: SMTPMailbox(localPart: "a", domain: "example.org"), parameters: [])),
        ("MAIL FROM:<@relay.example:a@example.org>", .mail(from: SMTPMailbox(localPart: "a", domain: "example.org"), parameters: [])),
        ("MAIL FROM:<\"john doe\"@example.org>", .mail(from: SMTPMailbox(localPart: "\"john doe\"", domain: "example.org"), parameters: [])),
        ("MAIL FROM:<jörg@bücher.example> SMTPUTF8", .mail(from: SMTPMailbox(localPart: "jörg", domain: "bücher.example"), parameters: [SMTPParameter("SMTPUTF8")])),
        ("RCPT TO:<user+tag@example.com>", .rcpt(to: SMTPMailbox(localPart: "user+tag", domain: "example.com"), parameters: [])),
        ("RCPT TO:<Postmaster>", .rcpt(to: SMTPMailbox(localPart: "postmaster", domain: ""), parameters: [])),
        ("DATA", .data), ("BDAT 100", .bdat(size: 100, last: false)), ("bdat 0 last", .bdat(size: 0, last: true)),
        ("RSET", .rset), ("NOOP anything", .noop), ("QUIT", .quit), ("VRFY user", .vrfy("user")), ("HELP", .help),
        ("STARTTLS", .startTLS), ("EXPN list", .expn("list")),
        // Spaces around the argument go; inside it, and a space a combining mark makes part of a character, stay.
        ("VRFY   a b  ", .vrfy("a b")), ("VRFY \u{E9}t\u{E9} ", .vrfy("\u{E9}t\u{E9}")), ("VRFY x \u{301}", .vrfy("x \u{301}")),
        ("QUIT   ", .quit), ("EHLO h\u{F6}st.example  ", .ehlo("h\u{F6}st.example")),
    ])
    func valid(line: String, expected: SMTPCommand) throws {
        #expect(try parse(line).get() == expected)
    }

    @Test("malformed commands get a 5xx reply", arguments: [
        "", "EHLO", "HELO", "FOO bar", "MAIL", "MAIL FROM:", "MAIL FROM:a@b", "MAIL FROM:<a@b", "MAIL FROM:<a@b>x",
        "MAIL FROM:<a@b> =x", "MAIL FROM:<a@b> SIZE=", "MAIL TO:<a@b>", "RCPT TO:<>", "RCPT TO:<nodomain>",
        "RCPT TO:<a..b@example.com>", "RCPT TO:<a@-bad.example>", "RCPT TO:<a@exa mple.com>", "RCPT TO:<\"unterminated@x.y>",
        "DATA x", "BDAT", "BDAT x", "BDAT -1", "BDAT 1 FIRST", "BDAT 99999999999999999", "QUIT now", "STARTTLS x", "VRFY",
        "NOOP\u{0}", "MAIL FROM:<a@b>\rRCPT",
    ])
    func malformed(line: String) {
        guard case .failure(let error) = parse(line) else { Issue.record("accepted \(line.debugDescription)"); return }
        #expect(error.reply.code >= 500 && error.reply.code < 600)
    }

    @Test("non-UTF-8 bytes are refused")
    func invalidUTF8() {
        guard case .failure(let e) = SMTPCommandParser.parse([0x4D, 0x41, 0x49, 0x4C, 0x20, 0xFF]) else { Issue.record("accepted"); return }
        #expect(e.reply.code == 500)
    }

    @Test("replies: multi-line, enhanced codes, sanitised text")
    func replies() {
        #expect(SMTPReply(250, nil, ["mx greets you", "PIPELINING", "SIZE 10"]).description == "250-mx greets you\r\n250-PIPELINING\r\n250 SIZE 10\r\n")
        #expect(SMTPReply(550, "5.1.1", "No such user").description == "550 5.1.1 No such user\r\n")
        #expect(SMTPReply(501, "5.5.4", "bad\r\n250 injected").description == "501 5.5.4 bad  250 injected\r\n")
        #expect(SMTPReply(451, "4.3.0", "x").isTransient && SMTPReply(552, nil, "x").isPermanent)
    }
}

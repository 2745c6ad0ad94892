import Foundation
import Testing
import IMAPCore  // the wire forms of ENVELOPE and BODYSTRUCTURE
@testable import MIMEParser

private func msg(_ s: String) -> MIMEMessage { MIMEMessage.parse(Array(s.replacingOccurrences(of: "\n", with: "\r\n").utf8)) }

@Suite("RFC 2047 encoded-words and charsets")
struct EncodedWordTests {
    @Test("decodes words through real charsets", arguments: [
        ("=?UTF-8?Q?Caf=C3=A9?=", "Café"),
        ("=?iso-8859-1?q?J=F6rg_M=FCller?=", "Jörg Müller"),
        ("=?windows-1252?Q?=93quoted=94?=", "“quoted”"),
        ("=?KOI8-R?B?6dfBzg==?=", "Иван"),
        ("=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=", "山田"),
        ("=?GB2312?B?xOO6ww==?=", "你好"),
        ("=?big5?B?pKSk5Q==?=", "中文"),
        ("=?iso-8859-2?Q?=A9koda?=", "Škoda"),
        ("a =?utf-8?Q?b?= =?utf-8?Q?c?= d", "a bc d"),            // whitespace between words dropped
        ("=?utf-8?B?4pyT?=   =?utf-8?Q?_x?=", "✓ x"),
        ("=?utf-8?B?8J+Y?= =?utf-8?B?gg==?=", "😂"),              // a character split across words
        ("=?utf-8*en?Q?lang?=", "lang"),                          // RFC 2231 language suffix
        ("plain text", "plain text"),
        ("=?utf-8?X?bad?=", "=?utf-8?X?bad?="),                   // unknown encoding: kept
        ("=?no-such-charset?Q?abc?=", "abc"),
    ])
    func decodes(_ input: String, _ expected: String) {
        #expect(RFC2047.decode(Array(input.utf8)) == expected)
    }

    @Test("invalid bytes become U+FFFD and decoding continues")
    func invalidBytes() {
        let s = Charset.decode([0x41, 0x1B, 0x24, 0x42, 0xFF, 0x42], charset: "iso-2022-jp")
        #expect(s.hasPrefix("A"))
        #expect(s.contains("\u{FFFD}"))
        #expect(Charset.decode([0x41, 0xC3, 0x28], charset: "utf-8") == "A\u{FFFD}(")
    }

    @Test("subject is unfolded and decoded")
    func subject() {
        let m = msg("Subject: =?UTF-8?Q?Caf=C3=A9?=\n =?UTF-8?Q?_au_lait?=   and\n\tmore\n\nbody")
        #expect(m.subject == "Café au lait and more")
    }
}

@Suite("RFC 2231 parameters")
struct ParameterTests {
    @Test("continuations and charsets are merged and decoded")
    func continuations() throws {
        let m = msg("""
            MIME-Version: 1.0
            Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf
            Content-Disposition: attachment;
             filename*0*=utf-8''%E6%97%A5%E6%9C%AC;
             filename*1*=%E8%AA%9E;
             filename*2=".pdf"

            x
            """)
        #expect(m.root.filename == "日本語.pdf")
        #expect(m.root.parameter("name") == "résumé.pdf")
        #expect(m.root.isAttachment)
        // IMAP keeps the merged raw value, as Dovecot sends it
        #expect(m.imapBodyStructure(extended: true).contains("(\"filename*\" \"utf-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf\")"))
    }

    @Test("RFC 2047 in a quoted filename (common non-standard practice)")
    func encodedWordFilename() {
        let m = msg("MIME-Version: 1.0\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?w6TDtsO8LmJpbg==?=\"\n\nx")
        #expect(m.root.filename == "äöü.bin")
    }
}

@Suite("Addresses")
struct AddressTests {
    @Test("groups, comments, routes, quoted names")
    func addressList() {
        let m = msg(#"""
            From: "Doe, John" <john.doe@example.com> (the boss)
            To: A Group: one@example.com, "Two" <two@example.com>;, three@example.com,
             <@route1,@route2:routed@example.org>, Pete(A wonderful \) chap) <pete(his account)@silly.test(his host)>
            Cc: undisclosed-recipients:;
            Bcc: =?utf-8?Q?J=C3=B6rg?= <joerg@example.de>, jdoe@example.org (John Doe)

            body
            """#)
        #expect(m.from == [MailAddress(name: "Doe, John", mailbox: "john.doe", host: "example.com")])
        #expect(m.to.map(\.address) == ["one@example.com", "two@example.com", "three@example.com", "routed@example.org", "pete@silly.test"])
        #expect(m.to.last?.name == "Pete")
        #expect(m.cc.isEmpty)
        #expect(m.bcc.first?.name == "Jörg")
        #expect(m.bcc.last?.name == "John Doe")
        let env = m.imapEnvelope()
        #expect(env.contains(#"((NIL NIL "A Group" NIL)(NIL NIL "one" "example.com")("Two" NIL "two" "example.com")(NIL NIL NIL NIL)(NIL NIL "three" "example.com")(NIL "@route1,@route2" "routed" "example.org")("Pete" NIL "pete" "silly.test"))"#))
        #expect(env.contains(#"((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))"#))
    }

    @Test("missing parts are filled like Dovecot")
    func missing() {
        let m = msg("From: MAILER DAEMON <>\nTo: nodomain\n\nx")
        #expect(m.imapEnvelope().contains(#"(("MAILER DAEMON" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))"#))
        #expect(m.imapEnvelope().contains(#"((NIL NIL "nodomain" "MISSING_DOMAIN"))"#))
        #expect(m.to == [MailAddress(name: nil, mailbox: "nodomain", host: nil)])
    }
}

@Suite("Dates")
struct DateTests {
    @Test("RFC 5322 dates including obsolete forms", arguments: [
        ("Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T08:52:37Z"),
        ("1 Jul 2003 10:52:37 +0200", "2003-07-01T08:52:37Z"),
        ("Fri, 21 Nov 97 09:55:06 GMT", "1997-11-21T09:55:06Z"),
        ("Thu, 13 Feb 1969 23:32:54 -0330", "1969-02-14T03:02:54Z"),
        ("Wed, 31 Dec 1969 23:59:59 EST", "1970-01-01T04:59:59Z"),
        ("Mon, 2 Jan 2006 15:04 PDT", "2006-01-02T22:04:00Z"),
        ("Sat, 01 Jan 00 00:00:00 +0000 (UTC)", "2000-01-01T00:00:00Z"),
        ("Sun, 22 Nov 2026 08:00:00 Z", "2026-11-22T08:00:00Z"),
        ("Mon,\r\n 3 Feb 103 01:02:03 UT", "2003-02-03T01:02:03Z"),
    ])
    func parses(_ value: String, _ iso: String) throws {
        let d = try #require(DateParser.parse(Array(value.utf8)))
        #expect(ISO8601DateFormatter().string(from: d) == iso)
    }

    @Test("unparsable dates are nil", arguments: ["", "yesterday", "32 Jan 2020 00:00:00 +0000", "1 Foo 2020 10:00 +0000", "1 Jan 2020 25:00 +0000",
                                                  "Mon, 2 Jan 88888888888888882006 15:04:05 -0700", "2 Jan 99999 00:00 +0000"])
    func rejects(_ value: String) {
        #expect(DateParser.parse(Array(value.utf8)) == nil)
    }

    @Test("top-level facts")
    func facts() {
        let m = msg("Message-ID: <a@b>\nIn-Reply-To: <x@y> <z@w>\nReferences: <1@2>\n\t<3@4>\nDate: Tue, 1 Jul 2003 10:52:37 +0200\n\nx")
        #expect(m.messageID == "a@b")
        #expect(m.inReplyTo == ["x@y", "z@w"])
        #expect(m.references == ["1@2", "3@4"])
        #expect(m.date == Date(timeIntervalSince1970: 1057049557))
    }
}

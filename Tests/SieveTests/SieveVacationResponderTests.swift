import Foundation
import MIMEParser
import Testing
@testable import Sieve

@Suite("Sieve: vacation responder (RFC 5230 §4, RFC 3834)")
struct SieveVacationResponderTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    static func message(_ headers: [String] = [], to: String = "To: Hello <hello@example.com>",
                        subject: String = "Subject: Lunch?") -> [UInt8] {
        let lines = ["From: Alice <alice@example.org>", to, subject, "Message-ID: <m1@example.org>",
                     "Date: Sun, 6 Dec 2026 09:00:00 +0000"] + headers
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\nHi\r\n").utf8)
    }

    static func decide(_ vacation: SieveVacation = SieveVacation(reason: "I am away."), message: [UInt8] = message(),
                       from: String = "alice@example.org", to: String = "hello@example.com",
                       user: [String] = ["hello@example.com"]) -> SieveVacationDecision {
        SieveVacationResponder.decide(vacation, message: message, envelope: SieveEnvelope(from: from, to: to),
                                      userAddresses: user, now: now, hostname: "mx.example.com", messageID: "reply1@mx.example.com")
    }

    static func reply(_ decision: SieveVacationDecision) -> (SieveVacationReply, MIMEMessage)? {
        guard case .send(let reply) = decision else { return nil }
        return (reply, MIMEMessage.parse(reply.message))
    }

    static func header(_ parsed: MIMEMessage, _ name: String) -> String? {
        parsed.headerValues(name).first.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("an ordinary message gets a reply to the envelope sender, not From:, with the RFC 3834 fields")
    func replies() throws {
        let decision = Self.decide(from: "bounces+alice@example.org")
        let (reply, parsed) = try #require(Self.reply(decision))
        #expect(reply.to == "bounces+alice@example.org")
        #expect(reply.returnPath == "")
        #expect(reply.periodSeconds == 7 * 86_400)
        #expect(Self.header(parsed, "To") == "<bounces+alice@example.org>")
        #expect(Self.header(parsed, "From") == "<hello@example.com>")
        #expect(Self.header(parsed, "Subject") == "Auto: Lunch?")
        #expect(Self.header(parsed, "Auto-Submitted") == "auto-replied (vacation)")
        #expect(Self.header(parsed, "Precedence") == "bulk")
        #expect(Self.header(parsed, "X-Auto-Response-Suppress") == "All")
        #expect(Self.header(parsed, "In-Reply-To") == "<m1@example.org>")
        #expect(Self.header(parsed, "References") == "<m1@example.org>")
        #expect(Self.header(parsed, "Message-ID") == "<reply1@mx.example.com>")
        #expect(Self.header(parsed, "Date") == "Mon, 30 Nov 2026 00:53:20 +0000")
        #expect(Self.header(parsed, "Content-Type") == "text/plain; charset=utf-8")
        #expect(Self.header(parsed, "Content-Transfer-Encoding") == "7bit")
        #expect(parsed.section(IMAPSection(kind: .text)) == Array("I am away.\r\n".utf8))
    }

    @Test("no reply", arguments: [
        ("", ["To: hello@example.com"], "null-sender"),
        ("<>", [], "null-sender"),
        ("MAILER-DAEMON@example.org", [], "system-sender"),
        ("mailer-daemon@example.org", [], "system-sender"),
        ("owner-dev@lists.example.org", [], "system-sender"),
        ("dev-request@lists.example.org", [], "system-sender"),
        ("LISTSERV@example.org", [], "system-sender"),
        ("majordomo@example.org", [], "system-sender"),
        ("hello@example.com", [], "own-address"),
        ("HELLO+x@Example.com", [], "own-address"),
        ("alice@example.org", ["Auto-Submitted: auto-replied"], "auto-submitted"),
        ("alice@example.org", ["Auto-Submitted: auto-generated (bounce)"], "auto-submitted"),
        ("alice@example.org", ["Precedence: bulk"], "precedence"),
        ("alice@example.org", ["Precedence: List"], "precedence"),
        ("alice@example.org", ["Precedence: junk"], "precedence"),
        ("alice@example.org", ["List-Id: <dev.lists.example.org>"], "mailing-list"),
        ("alice@example.org", ["List-Unsubscribe: <mailto:u@example.org>"], "mailing-list"),
        ("alice@example.org", ["List-Post: <mailto:dev@example.org>"], "mailing-list"),
        ("alice@example.org", ["X-Auto-Response-Suppress: All"], "suppressed"),
        ("alice@example.org", ["X-Auto-Response-Suppress: DR, OOF"], "suppressed"),
    ])
    func suppressed(sender: String, headers: [String], reason: String) {
        #expect(Self.decide(message: Self.message(headers), from: sender) == .suppress(reason: reason))
    }

    @Test("Auto-Submitted: no, other Precedence values and other suppress values still get a reply")
    func notSuppressed() {
        for headers in [["Auto-Submitted: no"], ["Precedence: first-class"], ["X-Auto-Response-Suppress: DR, RN"]] {
            #expect(Self.reply(Self.decide(message: Self.message(headers))) != nil, "\(headers)")
        }
    }

    @Test("only when one of the user's addresses is in To, Cc, Bcc or Resent-To/Cc")
    func addressed() throws {
        let elsewhere = "To: list@example.net"
        #expect(Self.decide(message: Self.message(to: elsewhere)) == .suppress(reason: "not-addressed"))
        for extra in ["Cc: x@y.example, Hello <HELLO@example.com>", "Bcc: hello@example.com",
                      "Resent-To: hello@example.com", "Resent-Cc: <hello@example.com>"] {
            #expect(Self.reply(Self.decide(message: Self.message([extra], to: elsewhere))) != nil, "\(extra)")
        }
        // The envelope recipient as given (a plus-address), and :addresses, count as the user's.
        #expect(Self.reply(Self.decide(message: Self.message(to: "To: hello+news@example.com"), to: "hello+news@example.com")) != nil)
        #expect(Self.reply(Self.decide(message: Self.message(to: "To: hello+news@example.com"))) != nil)
        let other = SieveVacation(reason: "away", addresses: ["boss@example.com"])
        let (_, parsed) = try #require(Self.reply(Self.decide(other, message: Self.message(to: "To: Boss <boss@example.com>"))))
        // The reply comes from the address the message was sent to.
        #expect(Self.header(parsed, "From") == "<boss@example.com>")
    }

    @Test(":subject, :from, a non-ASCII subject RFC 2047-encoded, no subject at all")
    func subjectAndFrom() throws {
        let own = SieveVacation(reason: "away", subject: "Out of office", from: "Hello Team <hello@example.com>")
        let (_, parsed) = try #require(Self.reply(Self.decide(own)))
        #expect(Self.header(parsed, "Subject") == "Out of office")
        #expect(Self.header(parsed, "From") == "Hello Team <hello@example.com>")

        let accented = SieveVacation(reason: "away", subject: "Absent jusqu’au lundi — réponse automatique très longue pour plier la ligne", from: "Hélène <hello@example.com>")
        let (reply, encoded) = try #require(Self.reply(Self.decide(accented)))
        #expect(reply.message.allSatisfy { $0 < 0x80 })
        #expect(encoded.subject == "Absent jusqu’au lundi — réponse automatique très longue pour plier la ligne")
        #expect(encoded.from.first?.name == "Hélène")
        let text = String(decoding: reply.message, as: UTF8.self)
        #expect(text.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 78 })

        let (_, untitled) = try #require(Self.reply(Self.decide(message: Self.message(subject: "X-Nothing: 1"))))
        #expect(Self.header(untitled, "Subject") == "Automated reply")
        let (_, encodedOriginal) = try #require(Self.reply(Self.decide(message: Self.message(subject: "Subject: =?UTF-8?B?w6l0w6k=?="))))
        #expect(encodedOriginal.subject == "Auto: été")
    }

    @Test("References carries the original's references and its Message-ID")
    func references() throws {
        let (_, parsed) = try #require(Self.reply(Self.decide(message: Self.message(["References: <a@x> <b@x>"]))))
        #expect(Self.header(parsed, "References") == "<a@x> <b@x> <m1@example.org>")
    }

    @Test("a non-ASCII reason is quoted-printable UTF-8; a :mime reason is the reply's entity")
    func bodies() throws {
        let (reply, parsed) = try #require(Self.reply(Self.decide(SieveVacation(reason: "Je suis absente.\nÀ lundi = bientôt"))))
        #expect(Self.header(parsed, "Content-Transfer-Encoding") == "quoted-printable")
        #expect(reply.message.allSatisfy { $0 < 0x80 })
        #expect(parsed.binary(part: [1]).map { String(decoding: $0, as: UTF8.self) } == "Je suis absente.\r\nÀ lundi = bientôt\r\n")

        let mime = SieveVacation(reason: "Content-Type: text/html; charset=utf-8\nBcc: evil@example.net\n\n<p>Away</p>\n", mime: true)
        let (mimeReply, mimeParsed) = try #require(Self.reply(Self.decide(mime)))
        #expect(Self.header(mimeParsed, "Content-Type") == "text/html; charset=utf-8")
        #expect(Self.header(mimeParsed, "Bcc") == nil)
        #expect(String(decoding: mimeReply.message, as: UTF8.self).hasSuffix("\r\n\r\n<p>Away</p>\r\n"))
    }

    @Test("the memory key is the sender and the handle; without :handle, the reason, subject, from and mime")
    func memoryKey() throws {
        func key(_ v: SieveVacation, from: String = "alice@example.org") throws -> String {
            try #require(Self.reply(Self.decide(v, from: from))).0.memoryKey
        }
        let base = SieveVacation(reason: "away")
        #expect(try key(base) == key(base, from: "ALICE@example.org"))
        #expect(try key(base) != key(base, from: "bob@example.org"))
        #expect(try key(base) != key(SieveVacation(reason: "away!")))
        #expect(try key(base) != key(SieveVacation(reason: "away", subject: "s")))
        #expect(try key(base) != key(SieveVacation(reason: "away", mime: true)))
        #expect(try key(SieveVacation(reason: "a", handle: "h")) == key(SieveVacation(reason: "b", handle: "h")))
        #expect(try key(SieveVacation(reason: "a", periodSeconds: 60)) == key(SieveVacation(reason: "a", periodSeconds: 120)))
        // Length-prefixed parts: moving text between the reason and the subject is another vacation.
        #expect(try key(SieveVacation(reason: "ab", subject: "c")) != key(SieveVacation(reason: "a", subject: "bc")))
        #expect(try #require(Self.reply(Self.decide(SieveVacation(reason: "a", periodSeconds: 3600)))).0.periodSeconds == 3600)
    }

    @Test("header injection through :subject or :from stays on one line")
    func injection() throws {
        let (_, parsed) = try #require(Self.reply(Self.decide(SieveVacation(reason: "x", subject: "hi\r\nBcc: evil@example.net",
                                                                         from: "a@example.com\r\nBcc: evil@example.net"))))
        #expect(Self.header(parsed, "Bcc") == nil)
    }
}

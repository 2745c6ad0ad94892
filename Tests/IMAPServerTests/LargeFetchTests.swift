import Foundation
import IMAPCore
@testable import IMAPServer
import MailCore
import MailboxAPI
import Testing

@Suite("FETCH of a large message")
struct LargeFetchTests {
    @Test("BODY.PEEK[] and RFC822 of a 3 MB message stream out byte-exact (NUL as 0x80) with the other items around them")
    func streamed() async throws {
        let h = try await SessionHarness(realStore: true)  // the SQL store is what is tested
        var body = "line with a NUL \u{0} here\r\n"
        let line = String(repeating: "0123456789abcdef", count: 4) + "\r\n"
        while body.utf8.count < 3_000_000 { body += line }
        let message = "From: a@example.org\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n" + body
        try await h.deliver(message)
        let c = h.connect()
        try await c.login(h)
        _ = try await c.command("s", "SELECT INBOX")
        let reply = try await c.command("f", "FETCH 1 (UID BODY.PEEK[] FLAGS)")
        let wire = message.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")  // 0x80 on the wire, read back as invalid UTF-8
        let expected = "* 1 FETCH (UID 1 BODY[] {\(message.utf8.count)}\r\n" + wire + " FLAGS (\\Recent))\r\nf OK FETCH completed\r\n"
        #expect(reply.utf8.count == expected.utf8.count)
        #expect(reply == expected)
        let rfc822 = try await c.command("g", "UID FETCH 1 (RFC822)")
        #expect(rfc822.hasPrefix("* 1 FETCH (UID 1 RFC822 {\(message.utf8.count)}\r\nFrom: a@example.org\r\n"))
        #expect(rfc822.hasSuffix(" FLAGS (\\Seen \\Recent))\r\ng OK FETCH completed\r\n"), "\(rfc822.suffix(120))")
        await c.close()
        await h.cleanUp()
    }
}

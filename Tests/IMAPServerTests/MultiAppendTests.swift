import Foundation
import IMAPCore
import Testing

/// RFC 3502 MULTIAPPEND: several messages in one APPEND, appended all or none.
@Suite("MULTIAPPEND")
struct MultiAppendTests {
    static func mail(_ n: Int, size: Int = 0) -> String {
        "From: a@example.org\r\nSubject: multi \(n)\r\n\r\nbody \(n)\r\n" + String(repeating: "x", count: size)
    }

    @Test("MULTIAPPEND: one OK with every UID, flags and dates per message, literal8 and {n+} mixed")
    func multiAppend() async throws {
        let h = try await SessionHarness()
        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("c", "CAPABILITY").contains(" MULTIAPPEND "))
        _ = try await c.command("s", "SELECT INBOX")
        let (m1, m2, m3) = (Self.mail(1), Self.mail(2), Self.mail(3))
        try await c.send("a1 APPEND INBOX (\\Seen) {\(m1.utf8.count)}\r\n\(m1) (\\Flagged $Work) \"01-Jan-2020 10:00:00 +0000\" ~{\(m2.utf8.count)+}\r\n"
            + "\(m2) {\(m3.utf8.count)}\r\n\(m3)")
        let reply = try await c.read(until: "a1 ")
        // The new keyword is announced before the messages (RFC 3501 §7.2.6).
        #expect(TranscriptTests.mask(reply) == "+ Ready for literal data\r\n+ Ready for literal data\r\n"
            + "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n"
            + "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n"
            + "* 3 EXISTS\r\n* 3 RECENT\r\na1 OK [APPENDUID _ 1:3] APPEND completed\r\n")
        let fetch = try await c.command("f", "FETCH 1:3 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        #expect(fetch.contains("* 1 FETCH (FLAGS (\\Seen \\Recent)"), "\(fetch)")
        #expect(fetch.contains("* 2 FETCH (FLAGS (\\Flagged \\Recent $Work) INTERNALDATE \"01-Jan-2020 10:00:00 +0000\""), "\(fetch)")
        #expect(fetch.contains("* 3 FETCH (FLAGS (\\Recent)"), "\(fetch)")
        for n in 1...3 { #expect(fetch.contains("Subject: multi \(n)\r\n"), "\(fetch)") }
        // A single APPEND is answered as before; pipelined with a MULTIAPPEND, in order.
        try await c.send("p1 APPEND Archive {\(m1.utf8.count)+}\r\n\(m1)\r\np2 APPEND Archive {\(m2.utf8.count)+}\r\n\(m2) {\(m3.utf8.count)+}\r\n\(m3)")
        let pipelined = TranscriptTests.mask(try await c.read(until: "p2 "))
        #expect(pipelined == "p1 OK [APPENDUID _ 1] APPEND completed\r\np2 OK [APPENDUID _ 2:3] APPEND completed\r\n", "\(pipelined)")
        await c.close()
        await h.cleanUp()
    }

    @Test("MULTIAPPEND is all or none: over quota, to a missing folder", arguments: [false, true])
    func allOrNone(realStore: Bool) async throws {
        let h = try await SessionHarness(quotaBytes: 1000, realStore: realStore)
        let c = h.connect()
        try await c.login(h)
        let small = Self.mail(1), big = Self.mail(2, size: 700)
        try await c.send("a1 APPEND INBOX {\(small.utf8.count)+}\r\n\(small) {\(big.utf8.count)+}\r\n\(big) {\(big.utf8.count)+}\r\n\(big)")
        #expect(try await c.read(until: "a1 ") == "a1 NO [OVERQUOTA] Quota exceeded\r\n")
        try await c.send("a2 APPEND Nowhere {\(small.utf8.count)+}\r\n\(small) {\(small.utf8.count)+}\r\n\(small)")
        #expect(try await c.read(until: "a2 ") == "a2 NO [TRYCREATE] Mailbox does not exist\r\n")
        #expect(try await c.command("a3", "STATUS INBOX (MESSAGES)").hasPrefix("* STATUS INBOX (MESSAGES 0)\r\n"))
        try await c.send("a4 APPEND INBOX {\(small.utf8.count)+}\r\n\(small) {\(big.utf8.count)+}\r\n\(big)")
        #expect(TranscriptTests.mask(try await c.read(until: "a4 ")) == "a4 OK [APPENDUID _ 1:2] APPEND completed\r\n")
        await c.close()
        await h.cleanUp()
    }

    @Test("MULTIAPPEND limits and malformed continuations: NO [TOOBIG] or BAD for the whole command, never a stray command")
    func limitsAndMalformed() async throws {
        let h = try await SessionHarness()
        var limits = IMAPLimits()
        limits.maxAppendSize = 100
        limits.maxMultiAppendSize = 150
        limits.maxMultiAppendMessages = 3
        let c = h.connect(limits: limits)
        try await c.login(h)
        let m = Self.mail(1, size: 40)  // 89 bytes: two are over 150
        let tooBig = "NO [TOOBIG] Message too large (the limits are 100 bytes a message, 150 bytes and 3 messages an APPEND)\r\n"
        // The second message takes the command over 150 bytes; its literal is not read as commands.
        try await c.send("a1 APPEND INBOX {\(m.utf8.count)+}\r\n\(m) {\(m.utf8.count)+}\r\nz1 DELETE INBOX\r\n" + String(repeating: "y", count: m.utf8.count - 17))
        #expect(try await c.read(until: "a1 ") == "a1 " + tooBig)
        // Synchronizing: no continuation for the refused literal.
        try await c.send("a2 APPEND INBOX {\(m.utf8.count)}\r\n\(m) {\(m.utf8.count)}")
        #expect(try await c.read(until: "a2 ") == "+ Ready for literal data\r\na2 " + tooBig)
        try await c.send("a3 APPEND INBOX {1+}\r\na {1+}\r\nb {1+}\r\nc {1+}\r\nd")
        #expect(try await c.read(until: "a3 ") == "a3 " + tooBig)
        // Text after the last literal, and a next message that does not parse.
        try await c.send("a4 APPEND INBOX {\(m.utf8.count)+}\r\n\(m) extra")
        #expect(try await c.read(until: "a4 ") == "a4 BAD Unexpected text after the message literal\r\n")
        try await c.send("a5 APPEND INBOX {\(m.utf8.count)+}\r\n\(m) (\\Seen {5+}\r\nz2 NO")
        #expect(try await c.read(until: "a5 ").hasPrefix("a5 BAD "))
        #expect(try await c.command("a6", "NOOP") == "a6 OK NOOP completed\r\n")
        #expect(try await c.command("a7", "STATUS INBOX (MESSAGES)").hasPrefix("* STATUS INBOX (MESSAGES 0)\r\n"))
        #expect(!c.text.contains("z1 ") && !c.text.contains("z2 "))
        await c.close()
        await h.cleanUp()
    }
}

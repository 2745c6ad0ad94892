import Foundation
import IMAPCore
import MailNet
import Testing

/// APPEND literals count against one server-wide memory budget (`imap.maxAppendInFlightBytes`).
@Suite("APPEND memory budget")
struct AppendBudgetTests {
    static func mail(_ n: Int, size: Int) -> String {
        "From: a@example.org\r\nSubject: budget \(n)\r\n\r\n" + String(repeating: "x", count: size) + "\r\n"
    }

    @Test("over the budget an APPEND is read, refused with NO [LIMIT] and stores nothing; the budget is given back every time")
    func refusedOverBudget() async throws {
        let h = try await SessionHarness()
        let budget = MemoryBudget(limit: 100_000)
        let c = h.connect { $0.appendMemory = budget }, d = h.connect { $0.appendMemory = budget }
        try await c.login(h); try await d.login(h)
        // 60 KB counts twice while read: over 100 KB.
        let big = Self.mail(1, size: 60_000)
        try await c.send("a1 APPEND INBOX {\(big.utf8.count)+}\r\n\(big)")
        let refused = try await c.read(until: "a1 ")
        #expect(refused.hasPrefix("a1 NO [LIMIT] "), "\(refused)")
        #expect(budget.inUse == 0)
        // The connection goes on: the next command, and an APPEND that fits.
        let small = Self.mail(2, size: 20_000)
        #expect(try await c.command("a2", "NOOP").contains("a2 OK"))
        try await c.send("a3 APPEND INBOX {\(small.utf8.count)+}\r\n\(small)")
        #expect(try await c.read(until: "a3 ").contains("a3 OK [APPENDUID"))
        #expect(budget.inUse == 0)
        // MULTIAPPEND: three of 20 KB are 120 KB while read: refused as a whole, nothing stored.
        let (m3, m4, m5) = (Self.mail(3, size: 20_000), Self.mail(4, size: 20_000), Self.mail(5, size: 20_000))
        try await c.send("a4 APPEND INBOX {\(m3.utf8.count)+}\r\n\(m3) {\(m4.utf8.count)+}\r\n\(m4) {\(m5.utf8.count)+}\r\n\(m5)")
        #expect(try await c.read(until: "a4 ").hasSuffix("a4 NO [LIMIT] The server is receiving too many messages at once; try again later\r\n"))
        #expect(budget.inUse == 0)
        // Pipelined APPENDs held for one commit keep their share until it, then give it back.
        try await d.send("b1 APPEND INBOX {\(small.utf8.count)+}\r\n\(small)\r\nb2 APPEND INBOX {\(small.utf8.count)+}\r\n\(small)")
        let pipelined = try await d.read(until: "b2 ")
        #expect(pipelined.contains("b1 OK [APPENDUID") && pipelined.contains("b2 OK [APPENDUID"), "\(pipelined)")
        #expect(budget.inUse == 0)
        let status = try await c.command("s", "STATUS INBOX (MESSAGES)")
        #expect(status.contains("(MESSAGES 3)"), "\(status)")
        await c.close(); await d.close()
        await h.cleanUp()
    }
}

import Foundation
import Testing

/// SELECT of the folder a session has selected already (a client switching back) brings the
/// session's view up to date instead of reading every message: what it reports must be what a
/// fresh session's SELECT reports, whatever other sessions did in between.
@Suite("SELECT again: the session's view brought up to date")
struct ReselectTests {
    static func mail(_ n: Int) -> String { "From: b@example.org\r\nSubject: m\(n)\r\n\r\nbody \(n)\r\n" }

    /// The SELECT response without the lines that differ per session (RECENT; the [CLOSED] of the
    /// previous selection, RFC 7162 §3.2.11; the tagged OK).
    static func comparable(_ select: String) -> [String] {
        select.split(separator: "\r\n").map(String.init).filter { !$0.hasSuffix(" RECENT") && $0.hasPrefix("* ") && !$0.contains("[CLOSED]") }
    }

    @Test("after another session's APPEND, STORE (a new keyword), EXPUNGE and MOVE, with CONDSTORE and without", arguments: [false, true])
    func matchesFreshSelect(condStore: Bool) async throws {
        let h = try await SessionHarness(realStore: true)
        for n in 1...6 { try await h.deliver(Self.mail(n)) }
        let a = h.connect(), b = h.connect()
        try await a.login(h)
        try await b.login(h)
        if condStore {
            _ = try await a.command("e", "ENABLE CONDSTORE")
        }
        _ = try await a.command("a1", "SELECT INBOX")
        _ = try await a.command("a2", "STORE 2 +FLAGS (\\Seen)")
        _ = try await b.command("b0", "SELECT INBOX")
        _ = try await b.command("b1", "STORE 1,3 +FLAGS (\\Seen $Label1)")
        _ = try await b.command("b2", "STORE 4 +FLAGS (\\Deleted)")
        _ = try await b.command("b3", "EXPUNGE")
        let m = Self.mail(7)
        _ = try await b.command("b4", "APPEND INBOX (\\Flagged) {\(m.utf8.count)+}\r\n\(m)")
        _ = try await b.command("b5", "CREATE Other")
        _ = try await b.command("b6", "UID MOVE 5 Other")
        // a has not heard of any of it (no NOOP): it selects INBOX again.
        let again = try await a.command("a3", "SELECT INBOX")
        let c = h.connect()
        try await c.login(h)
        if condStore { _ = try await c.command("e", "ENABLE CONDSTORE") }
        let fresh = try await c.command("c1", "SELECT INBOX")
        #expect(Self.comparable(again) == Self.comparable(fresh), "again:\n\(again)\nfresh:\n\(fresh)")
        #expect(again.contains("* 5 EXISTS"), "\(again)")
        let fetchA = try await a.command("a4", "FETCH 1:* (UID FLAGS)")
        let fetchC = try await c.command("c2", "FETCH 1:* (UID FLAGS)")
        #expect(fetchA.replacingOccurrences(of: "\\Recent", with: "").replacingOccurrences(of: "a4 ", with: "")
                == fetchC.replacingOccurrences(of: "\\Recent", with: "").replacingOccurrences(of: "c2 ", with: ""),
                "a:\n\(fetchA)\nc:\n\(fetchC)")
        // b had INBOX selected when it appended: the message is \Recent for b, for neither a nor c.
        #expect(again.contains("* 5 EXISTS\r\n* 0 RECENT\r\n"), "\(again)")
        // And EXAMINE after SELECT of the same folder: read-only, the same messages.
        let examined = try await a.command("a5", "EXAMINE INBOX")
        #expect(Self.comparable(examined).filter { !$0.contains("PERMANENTFLAGS") } == Self.comparable(fresh).filter { !$0.contains("PERMANENTFLAGS") },
                "\(examined)")
        await a.close(); await b.close(); await c.close()
        await h.cleanUp()
    }
}

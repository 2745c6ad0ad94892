import Foundation
import MailboxTesting
import Synchronization
import Testing

/// RFC 3501 §7.3.1/§7.3.2: `* n RECENT` comes with the `* n EXISTS` it belongs to and never counts
/// more messages than it, whatever another session appends between the reads of a command.
@Suite("RECENT never exceeds EXISTS")
struct RecentConsistencyTests {
    /// The problems in a server's output: a RECENT not right after an EXISTS, or above it.
    static func recentProblems(_ output: String) -> [String] {
        var problems: [String] = []
        var previous = ""
        var exists: Int?
        for line in output.split(separator: "\r\n").map(String.init) {
            let words = line.split(separator: " ")
            if words.count == 3, words[0] == "*", let n = Int(words[1]) {
                switch words[2] {
                case "EXISTS": exists = n
                case "EXPUNGE": exists = exists.map { $0 - 1 }
                case "RECENT":
                    if !previous.hasSuffix(" EXISTS") { problems.append("RECENT not after EXISTS: \(previous) / \(line)") }
                    if let e = exists, n > e { problems.append("\(line) after \(e) EXISTS") }
                default: break
                }
            }
            previous = line
        }
        return problems
    }

    static func mail(_ n: Int) -> String { "From: b@example.org\r\nSubject: m\(n)\r\n\r\nbody \(n)\r\n" }

    /// After each read named `at` (any read when nil) of any session, the second client appends a
    /// message (at most `budget` times): each command of the first client sees mail arrive
    /// between its reads.
    /// Returns how many it appended so far.
    static func interleave(_ h: SessionHarness, appender b: TestClient, at: String?, budget: Int) -> @Sendable () -> Int {
        let state = Mutex((left: budget, busy: false, n: 0))
        let service = h.mailboxes as! InMemoryMailboxService
        service.afterRead.withLock {
            $0 = { name in
                guard at == nil || at == name else { return }
                let n: Int? = state.withLock { s in
                    guard s.left > 0, !s.busy else { return nil }
                    s.left -= 1; s.busy = true; s.n += 1
                    return s.n
                }
                guard let n else { return }
                let m = mail(n)
                _ = try? await b.command("b\(n)", "APPEND INBOX {\(m.utf8.count)+}\r\n\(m)")
                state.withLock { $0.busy = false }
            }
        }
        return { state.withLock { $0.n } }
    }

    @Test("EXAMINE reports the \\Recent count without claiming it; SELECT claims it")
    func examineCountsRecent() async throws {
        let h = try await SessionHarness()
        try await h.deliver(Self.mail(1))
        try await h.deliver(Self.mail(2))
        let a = h.connect(), c = h.connect()
        try await a.login(h)
        try await c.login(h)
        let examine = try await a.command("a1", "EXAMINE INBOX")
        #expect(examine.contains("* 2 EXISTS\r\n* 2 RECENT\r\n"), "\(examine)")
        #expect(try await a.command("a2", "FETCH 1 FLAGS") == "* 1 FETCH (FLAGS (\\Recent))\r\na2 OK FETCH completed\r\n")
        // EXAMINE claimed nothing: the first SELECT still gets both, later ones none.
        #expect(try await c.command("c1", "EXAMINE INBOX").contains("* 2 EXISTS\r\n* 2 RECENT\r\n"))
        #expect(try await a.command("a3", "SELECT INBOX").contains("* 2 EXISTS\r\n* 2 RECENT\r\n"))
        #expect(try await c.command("c2", "EXAMINE INBOX").contains("* 2 EXISTS\r\n* 0 RECENT\r\n"))
        #expect(try await c.command("c3", "SELECT INBOX").contains("* 2 EXISTS\r\n* 0 RECENT\r\n"))
        await a.close(); await c.close()
        await h.cleanUp()
    }

    /// Another session's APPEND lands between the reads of SELECT, EXAMINE, NOOP and IDLE, after
    /// the read named by the argument (any read: nil).
    @Test("another session's APPEND between the reads of SELECT, EXAMINE, NOOP and IDLE", arguments: [nil, "folder", "messages", "claimRecent"])
    func appendBetweenReads(at: String?) async throws {
        let h = try await SessionHarness()
        try await h.deliver(Self.mail(0))
        let a = h.connect(), b = h.connect(), c = h.connect()
        try await a.login(h)
        try await b.login(h)
        try await c.login(h)
        let appended = Self.interleave(h, appender: b, at: at, budget: 24)
        var transcript = ""
        for round in 0..<3 {
            transcript += try await a.command("s\(round)", round == 1 ? "EXAMINE INBOX" : "SELECT INBOX")
            transcript += try await c.command("x\(round)", round == 1 ? "SELECT INBOX" : "EXAMINE INBOX")
            for i in 0..<3 {
                transcript += try await a.command("n\(round)\(i)", "NOOP")
                transcript += try await c.command("m\(round)\(i)", "NOOP")
            }
            try await a.send("i\(round) IDLE")
            transcript += try await a.read(until: "+ ")
            transcript += try await c.command("k\(round)", "NOOP")
            try await a.send("DONE")
            transcript += try await a.read(until: "i\(round) ")
        }
        (h.mailboxes as! InMemoryMailboxService).afterRead.withLock { $0 = nil }
        let problems = Self.recentProblems(transcript)
        #expect(problems.isEmpty, "\(problems)\n\(transcript)")
        #expect(appended() > 0)
        await a.close(); await b.close(); await c.close()
        await h.cleanUp()
    }

    @Test("the checker finds a RECENT above EXISTS and one without EXISTS")
    func checker() {
        #expect(Self.recentProblems("* 1 EXISTS\r\n* 2 RECENT\r\n").count == 1)
        #expect(Self.recentProblems("* 0 EXISTS\r\n* 1 RECENT\r\n").count == 1)
        #expect(Self.recentProblems("* 2 EXISTS\r\n* FLAGS ()\r\n* 1 RECENT\r\n").count == 1)
        #expect(Self.recentProblems("* 2 EXISTS\r\n* 2 RECENT\r\n* 1 EXPUNGE\r\n* 2 EXISTS\r\n* 1 RECENT\r\n").isEmpty)
    }
}

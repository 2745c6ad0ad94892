import Foundation
import IMAPCore
@testable import IMAPServer
import MailCore
import Testing

/// SORT and THREAD on a corpus of tricky messages (SortThreadCorpus/corpus.json: replies to missing
/// parents, Re:/Fwd:/[list] subjects, RFC 2047 subjects and names, no Date:, an unparsable Date:,
/// equal dates, self-referencing, looping and broken References, a duplicate Message-ID, a group
/// as To) must answer exactly what Dovecot answers. Dovecot's answers are recorded in
/// SortThreadCorpus/dovecot-answers.json by `scripts/dovecot-sort-thread.py` (Debian bookworm's
/// Dovecot 2.3.19.1, started throwaway as the other Dovecot scripts do; run it again after changing
/// the corpus), so this runs where Dovecot is not installed.
@Suite("SORT and THREAD against Dovecot's recorded answers")
struct SortThreadDifferentialTests {
    struct Corpus: Decodable {
        struct Message: Decodable { var internalDate: String; var message: String }
        var messages: [Message]
        var commands: [String]
    }
    struct Answers: Decodable { var answers: [String: [String]] }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("SortThreadCorpus")

    static func load<T: Decodable>(_ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The SORT / THREAD / ESEARCH lines of a reply, the ESEARCH tag masked.
    static func answerLines(_ reply: String) -> [String] {
        reply.split(separator: "\r\n").map(String.init)
            .filter { $0.hasPrefix("* SORT") || $0.hasPrefix("* THREAD") || $0.hasPrefix("* ESEARCH") }
            .map { $0.replacingOccurrences(of: #"\(TAG "[^"]*"\)"#, with: "(TAG _)", options: .regularExpression) }
    }

    @Test("every corpus command answers as Dovecot does", arguments: [false, true])
    func matchesDovecot(realStore: Bool) async throws {
        let corpus: Corpus = try Self.load("corpus.json")
        let recorded: Answers = try Self.load("dovecot-answers.json")
        let h = try await SessionHarness(realStore: realStore)
        let c = h.connect()
        try await c.login(h)
        for (i, m) in corpus.messages.enumerated() {
            let bytes = m.message.replacingOccurrences(of: "\n", with: "\r\n")
            try await c.send("A\(i) APPEND INBOX \"\(m.internalDate)\" {\(bytes.utf8.count)+}")
            try await c.send(bytes)
            let reply = try await c.read(until: "A\(i) ")
            #expect(reply.contains("A\(i) OK"), "\(reply)")
        }
        _ = try await c.command("s", "SELECT INBOX")
        // Twice: the first pass derives each message's sort facts from its header and keeps them,
        // the second reads the kept ones (on the real store).
        for pass in 0..<2 {
            for (i, command) in corpus.commands.enumerated() {
                let want = try #require(recorded.answers[command], "no recorded answer for \(command)")
                let got = Self.answerLines(try await c.command("c\(pass)-\(i)", command))
                #expect(got == want.map { Self.answerLines($0 + "\r\n") }.flatMap { $0 }, "\(command) (pass \(pass))")
            }
        }
        if realStore {
            // The facts were kept with each message: a SORT reads them, not the messages.
            let session = try await h.mailboxes.unlock(address: try EmailAddress(h.address), password: h.password)
            let kept = try await session.derived([MessageSortFacts.kind], in: "INBOX", uids: .all)[MessageSortFacts.kind] ?? [:]
            #expect(kept.count == corpus.messages.count)
            #expect(kept.values.allSatisfy { MessageSortFacts(encoded: $0) != nil })
            await session.close()
        }
        await c.close()
        await h.cleanUp()
    }
}

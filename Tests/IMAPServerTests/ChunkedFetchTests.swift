import Foundation
import IMAPCore
@testable import IMAPServer
import MailboxAPI
import MailCore
import MailStore
import Testing

/// A FETCH that reads no bytes (ENVELOPE, BODYSTRUCTURE, flags, dates) reads the states of its
/// messages a chunk at a time (`FetchPlan.statesChunk`), each with its kept structures in the same
/// read. Here the chunks' seams: more messages than two chunks, UID gaps, structures not yet kept
/// and kept, and a message expunged by another session in a later chunk.
@Suite("FETCH of structures over more messages than one read takes")
struct ChunkedFetchTests {
    static func message(_ i: Int) -> [UInt8] {
        let kind = i % 2 == 0
            ? "Content-Type: text/plain; charset=utf-8\r\n\r\nbody \(i)\r\n"
            : "Content-Type: multipart/alternative; boundary=b\(i)\r\n\r\n--b\(i)\r\nContent-Type: text/plain\r\n\r\nplain \(i)\r\n"
                + "--b\(i)\r\nContent-Type: text/html\r\n\r\n<p>html \(i)</p>\r\n--b\(i)--\r\n"
        return Array(("From: Alice <alice@example.org>\r\nTo: Bob <user@example.com>\r\nSubject: m\(i)\r\n"
            + "Date: Sun, 22 Nov 2026 08:00:00 +0000\r\nMessage-ID: <m\(i)@example.org>\r\nMIME-Version: 1.0\r\n" + kind).utf8)
    }

    @Test("UID FETCH 1:* (ENVELOPE BODYSTRUCTURE) over 2 1/2 chunks with gaps: every live message once, in order, its own structure, the same kept as encoded; an expunge by another session in a later chunk ends a FETCH by number in NO [EXPUNGEISSUED]")
    func chunks() async throws {
        let h = try await SessionHarness(realStore: true)
        let session = try await h.mailboxes.unlock(address: try EmailAddress(h.address), password: h.password)
        let count = FetchPlan.statesChunk * 2 + FetchPlan.statesChunk / 2
        let database = try #require(session as? LocalMailboxSession).database
        _ = try await database.append(to: "INBOX", messages: (1...count).map(Self.message))
        let gone = UIDSet(stride(from: UID(3), through: UID(count), by: 3).map { $0 })
        _ = try await session.storeFlags(in: "INBOX", uids: gone, operation: .add, flags: .deleted, keywords: [], unchangedSince: nil)
        _ = try await session.expunge(in: "INBOX", uids: nil)
        await session.close()
        let live = (1...count).filter { $0 % 3 != 0 }

        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("s", "SELECT INBOX").contains("* \(live.count) EXISTS"))
        // The first FETCH encodes the structures (none is kept yet), the second reads them kept.
        let first = try await c.command("f1", "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
        let second = try await c.command("f2", "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
        #expect(first.hasSuffix("f1 OK FETCH completed\r\n"), "\(first.suffix(200))")
        #expect(second.hasSuffix("f2 OK FETCH completed\r\n"), "\(second.suffix(200))")
        #expect(first.dropLast(25) == second.dropLast(25))
        let lines = second.components(separatedBy: "\r\n").filter { $0.hasPrefix("* ") }
        #expect(lines.count == live.count)
        #expect(ScatteredUIDTests.uids(in: second, after: "UID ") == live)
        for (n, (line, uid)) in zip(lines, live).enumerated() {
            guard line.hasPrefix("* \(n + 1) FETCH (UID \(uid) ENVELOPE ("), line.contains("\"m\(uid)\""),
                  line.contains("<m\(uid)@example.org>"),
                  line.contains(uid % 2 == 0 ? "BODYSTRUCTURE (\"text\" \"plain\"" : "\"alternative\" (\"boundary\" \"b\(uid)\")")
            else {
                Issue.record("line \(n + 1) for UID \(uid): \(line.prefix(300))")
                break
            }
        }

        // Another session expunges a message of the second chunk; this one has not been told.
        let other = h.connect()
        try await other.login(h)
        _ = try await other.command("s", "SELECT INBOX")
        let victim = live[FetchPlan.statesChunk + 100]
        #expect(try await other.command("x", "UID STORE \(victim) +FLAGS.SILENT (\\Deleted)") == "x OK STORE completed\r\n")
        #expect(try await other.command("e", "UID EXPUNGE \(victim)").hasSuffix("e OK EXPUNGE completed\r\n"))
        let byNumber = try await c.command("f3", "FETCH 1:* (ENVELOPE)")
        #expect(byNumber.hasSuffix("f3 NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n"), "\(byNumber.suffix(200))")
        #expect(ScatteredUIDTests.uids(in: byNumber, after: "\"m") == live.filter { $0 != victim })
        #expect(!byNumber.contains(" EXPUNGE\r\n"))  // not told during a FETCH by number (RFC 3501 §7.4.1)
        #expect(try await c.command("n", "NOOP").contains("* \(FetchPlan.statesChunk + 101) EXPUNGE\r\n"))
        await other.close()
        await c.close()
        await h.cleanUp()
    }
}

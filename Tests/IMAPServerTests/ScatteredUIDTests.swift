import Foundation
import IMAPCore
@testable import IMAPServer
import MailboxAPI
import MailCore
import MailStore
import Testing

/// The sync issue: after many scattered expunges every mbsync run failed with
/// `NO [SERVERBUG]` (a UID set became SQL with one OR term per range). Here, 2,300 messages with
/// every other one expunged, driven the way mbsync and Thunderbird drive a folder.
@Suite("IMAP on a folder full of UID gaps")
struct ScatteredUIDTests {
    @Test("UID FETCH/SEARCH/STORE/COPY/MOVE 1:* and a 5,000-range set answer OK; a set over the limit is BAD")
    func gaps() async throws {
        let h = try await SessionHarness(realStore: true)  // the SQL store is what is tested
        let session = try await h.mailboxes.unlock(address: try EmailAddress(h.address), password: h.password)
        // Seeded in one transaction (2,300 APPENDs one by one took minutes on a loaded CI machine).
        let database = try #require(session as? LocalMailboxSession).database
        _ = try await database.append(to: "INBOX", messages: Array(repeating: Array(sampleMail.utf8), count: 2_300))
        let even = UIDSet(stride(from: UID(2), through: 2_300, by: 2).map { $0 })
        _ = try await session.storeFlags(in: "INBOX", uids: even, operation: .add, flags: .deleted, keywords: [], unchangedSince: nil)
        #expect(try await session.expunge(in: "INBOX", uids: nil).uids.count == 1_150)
        await session.close()
        let odd = stride(from: 1, through: 2_299, by: 2).map { $0 }

        let c = h.connect()
        try await c.login(h)
        #expect(try await c.command("s", "SELECT INBOX").contains("* 1150 EXISTS"))
        let fetch = try await c.command("f", "UID FETCH 1:* (FLAGS)")
        #expect(fetch.hasSuffix("f OK FETCH completed\r\n"), "\(fetch.suffix(200))")
        #expect(Self.uids(in: fetch, after: "UID ") == odd)

        let search = try await c.command("a", "UID SEARCH ALL")
        #expect(search.hasPrefix("* SEARCH 1 3 5 "), "\(search.prefix(80))")
        #expect(search.hasSuffix(" 2297 2299\r\na OK SEARCH completed\r\n"))

        // The client's own list of single UIDs (what mbsync sends), not one range.
        let list = odd.map(String.init).joined(separator: ",")
        let store = try await c.command("st", "UID STORE \(list) +FLAGS.SILENT (\\Flagged)")
        #expect(store == "st OK STORE completed\r\n", "\(store.suffix(200))")
        let flagged = try await c.command("sf", "UID SEARCH FLAGGED")
        #expect(flagged.hasPrefix("* SEARCH 1 3 5 ") && flagged.contains(" 2299\r\n"))

        let store2 = try await c.command("s2", "UID STORE 1:* -FLAGS.SILENT (\\Flagged)")
        #expect(store2 == "s2 OK STORE completed\r\n")

        // 5,000 ranges, most naming expunged UIDs.
        let ranges = (1...5_000).map { "\(2 * $0 - 1):\(2 * $0 - 1)" }.joined(separator: ",")
        let many = try await c.command("m", "UID FETCH \(ranges) (UID)")
        #expect(many.hasSuffix("m OK FETCH completed\r\n"), "\(many.suffix(200))")
        #expect(Self.uids(in: many, after: "UID ") == odd)

        let copy = try await c.command("c", "UID COPY 1:* Archive")
        #expect(copy.contains("c OK [COPYUID "), "\(copy.suffix(200))")
        let move = try await c.command("mv", "UID MOVE \(list) Trash")
        #expect(move.hasSuffix("mv OK MOVE completed\r\n") || move.contains("mv OK"), "\(move.suffix(200))")
        #expect(move.components(separatedBy: " EXPUNGE\r\n").count - 1 == 1_150)
        #expect(try await c.command("n", "STATUS Trash (MESSAGES)").contains("(MESSAGES 1150)"))
        #expect(try await c.command("n2", "STATUS Archive (MESSAGES)").contains("(MESSAGES 1150)"))

        // Past the grammar's limit on list items: BAD, never a server error.
        let tooMany = (1...10_001).map { "\($0 * 2)" }.joined(separator: ",")
        let bad = try await c.command("b", "UID FETCH \(tooMany) (FLAGS)")
        #expect(bad.hasPrefix("b BAD"), "\(bad.prefix(120))")
        #expect(try await c.command("z", "NOOP").hasSuffix("z OK NOOP completed\r\n"))
        await c.close()
        await h.cleanUp()
    }

    /// The numbers that follow `marker` in each untagged line, in order.
    static func uids(in text: String, after marker: String) -> [Int] {
        text.components(separatedBy: "\r\n").compactMap { line -> Int? in
            guard line.hasPrefix("* "), let r = line.range(of: marker) else { return nil }
            return Int(line[r.upperBound...].prefix(while: \.isNumber))
        }
    }
}

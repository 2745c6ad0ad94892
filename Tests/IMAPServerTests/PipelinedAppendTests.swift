import Foundation
import Testing

@Suite("Pipelined APPENDs")
struct PipelinedAppendTests {
    static func mail(_ n: Int) -> String {
        "From: a@example.org\r\nTo: user@example.com\r\nSubject: pipelined \(n)\r\nMessage-ID: <p\(n)@example.org>\r\n\r\nbody \(n)\r\n"
    }

    @Test("APPENDs sent together are committed together and answered in order, each on its own (TRYCREATE for a missing folder)")
    func batched() async throws {
        let h = try await SessionHarness(realStore: true)  // one transaction per batch is the store's
        let c = h.connect()
        try await c.login(h)
        _ = try await c.command("e", "ENABLE CONDSTORE")
        #expect(try await c.command("s", "SELECT INBOX").contains("* 0 EXISTS"))
        var bytes: [UInt8] = []
        for (tag, folder, n) in [("a1", "INBOX", 1), ("a2", "Nowhere", 2), ("a3", "INBOX", 3), ("a4", "Archive", 4)] {
            let m = Self.mail(n)
            bytes += Array("\(tag) APPEND \(folder) (\\Seen) {\(m.utf8.count)+}\r\n\(m)\r\n".utf8)
        }
        try await c.sendRaw(bytes)
        let replies = try await c.read(until: "a4 ")
        let lines = replies.split(separator: "\r\n").map(String.init)
        let tagged = lines.filter { $0.hasPrefix("a") }
        #expect(tagged.count == 4, "\(replies)")
        #expect(tagged[0].hasPrefix("a1 OK [APPENDUID ") && tagged[0].contains(" 1]"), "\(replies)")
        #expect(tagged[1].hasPrefix("a2 NO [TRYCREATE]"), "\(replies)")
        #expect(tagged[2].hasPrefix("a3 OK [APPENDUID ") && tagged[2].contains(" 2]"), "\(replies)")
        #expect(tagged[3].hasPrefix("a4 OK [APPENDUID "), "\(replies)")
        // The new messages of the selected folder are announced before the APPENDs' OKs.
        let exists = try #require(lines.firstIndex(of: "* 2 EXISTS"), "\(replies)")
        #expect(exists < lines.firstIndex(where: { $0.hasPrefix("a1 ") })!)
        // One transaction: the two INBOX messages share a MODSEQ.
        let fetch = try await c.command("f", "FETCH 1:2 (MODSEQ FLAGS)")
        let modseqs = fetch.split(separator: "\r\n").compactMap { line -> String? in
            guard let r = line.range(of: "MODSEQ (") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != ")" })
        }
        #expect(modseqs.count == 2 && modseqs[0] == modseqs[1], "\(fetch)")
        #expect(fetch.contains("\\Seen"))
        // A command after an APPEND is answered after it (the batch is committed first).
        try await c.sendRaw(Array("b1 APPEND INBOX {\(Self.mail(5).utf8.count)+}\r\n\(Self.mail(5))\r\nb2 NOOP\r\n".utf8))
        let after = try await c.read(until: "b2 ")
        #expect(after.contains("b1 OK [APPENDUID ") && after.contains("* 3 EXISTS"), "\(after)")
        #expect(after.range(of: "b1 OK")!.lowerBound < after.range(of: "b2 OK")!.lowerBound)
        await c.close()
        await h.cleanUp()
    }
}

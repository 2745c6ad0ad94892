import Testing

/// SEARCH by header fields alone (SUBJECT, FROM, … with UID, NOT, OR) is answered from the view's
/// UIDs and the stored fields, without reading the folder's message states: the same answers as
/// the general path (forced here by a LARGER 0 beside the key, which every message matches).
@Suite("SEARCH by header fields")
struct FieldSearchTests {
    static func mail(_ subject: String, from: String) -> String {
        "From: \(from)\r\nTo: team@example.org\r\nSubject: \(subject)\r\nMessage-ID: <\(subject.hashValue)@example.org>\r\n\r\nBody of \(subject).\r\n"
    }

    @Test("same answers as the general path, with another session's expunge held back and its new message not announced yet")
    func sameAnswers() async throws {
        let h = try await SessionHarness(realStore: true)
        for (subject, from) in [("quarterly report", "alice@example.org"), ("lunch", "bob@example.org"),
                                ("report draft", "carol@example.org"), ("Re: quarterly report", "bob@example.org")] {
            try await h.deliver(Self.mail(subject, from: from))
        }
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await a.command("a0", "SELECT INBOX")
        _ = try await b.command("b0", "SELECT INBOX")
        // B expunges message 1 and a new one arrives; A has not been told of either.
        _ = try await b.command("b1", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = try await b.command("b2", "EXPUNGE")
        try await h.deliver(Self.mail("another report", from: "dave@example.org"))
        func result(_ text: String) -> String? { text.components(separatedBy: "\r\n").first { $0.hasPrefix("* SEARCH") } }
        // Neither the expunged message (UID 1, still sequence 1 for A) nor the new one (UID 5) is
        // in the answer; the new one is announced after it.
        let first = try await a.command("a1", "SEARCH SUBJECT report")
        #expect(result(first) == "* SEARCH 3 4" && first.contains("* 5 EXISTS"), "\(first)")
        let byUID = try await a.command("a2", "UID SEARCH NOT SUBJECT nothing-like-this")
        #expect(result(byUID) == "* SEARCH 2 3 4 5" && byUID.contains("* 1 EXPUNGE"), "\(byUID)")
        // Then, the view steady, the same answers as the general path.
        let keys = ["SUBJECT report", "NOT SUBJECT report", "FROM bob", "OR SUBJECT lunch FROM carol", "UID 2:3 SUBJECT report",
                    "2:4 NOT FROM alice", "HEADER To team", "SUBJECT nothing-like-this", "RECENT SUBJECT report", "SUBJECT report BODY draft"]
        var n = 0
        for key in keys {
            for prefix in ["", "UID "] {
                n += 1
                let fast = try await a.command("f\(n)", "\(prefix)SEARCH \(key)")
                let general = try await a.command("g\(n)", "\(prefix)SEARCH \(key) LARGER 0")
                #expect(result(fast) != nil && result(fast) == result(general), "\(prefix)SEARCH \(key): \(fast) / \(general)")
            }
        }
        await a.close(); await b.close()
        await h.cleanUp()
    }
}

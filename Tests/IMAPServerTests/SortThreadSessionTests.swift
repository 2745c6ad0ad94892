import Foundation
@testable import IMAPServer
import Testing

/// SORT, THREAD, ESORT and WITHIN through a session: answers, errors and the injected clock.
@Suite("SORT, THREAD and WITHIN sessions")
struct SortThreadSessionTests {
    static func message(_ subject: String, _ date: String, id: String, refs: String? = nil) -> String {
        "Message-ID: <\(id)>\r\n" + (refs.map { "References: \($0)\r\n" } ?? "")
            + "From: a@example.org\r\nSubject: \(subject)\r\nDate: \(date)\r\n\r\nbody\r\n"
    }

    @Test("answers, BADCHARSET, BAD for malformed commands, the capabilities")
    func transcript() async throws {
        let h = try await SessionHarness()
        try await h.deliver(Self.message("Re: B", "Mon, 1 Jan 2024 12:00:00 +0000", id: "2@x", refs: "<1@x>"))
        try await h.deliver(Self.message("B", "Mon, 1 Jan 2024 10:00:00 +0000", id: "1@x"))
        try await h.deliver(Self.message("A", "Mon, 1 Jan 2024 11:00:00 +0000", id: "3@x"))
        let c = h.connect()
        try await c.login(h)
        let caps = try await c.command("c", "CAPABILITY")
        for cap in ["SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "ESORT", "CONTEXT=SEARCH", "CONTEXT=SORT", "WITHIN"] {
            #expect(caps.contains(" \(cap) ") || caps.contains(" \(cap)\r\n"), "\(cap)")
        }
        #expect(try await c.command("n", "SORT (DATE) UTF-8 ALL") == "n BAD No mailbox selected\r\n")
        _ = try await c.command("s", "SELECT INBOX")
        let steps: [(String, String)] = [
            ("SORT (SUBJECT) UTF-8 ALL", "* SORT 3 1 2\r\nt OK SORT completed\r\n"),
            ("SORT (REVERSE DATE) us-ascii ALL", "* SORT 1 3 2\r\nt OK SORT completed\r\n"),
            ("UID SORT (ARRIVAL) UTF-8 SUBJECT b", "* SORT 1 2\r\nt OK SORT completed\r\n"),
            ("SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 ALL", "* ESEARCH (TAG \"t\") MIN 2 MAX 1 ALL 2:3,1 COUNT 3\r\nt OK SORT completed\r\n"),
            ("UID SORT RETURN (COUNT) (DATE) UTF-8 NOT ALL", "* ESEARCH (TAG \"t\") UID COUNT 0\r\nt OK SORT completed\r\n"),
            ("SORT (DATE) UTF-8 NOT ALL", "* SORT\r\nt OK SORT completed\r\n"),
            ("THREAD REFERENCES UTF-8 ALL", "* THREAD (2 1)(3)\r\nt OK THREAD completed\r\n"),
            ("THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (2 1)(3)\r\nt OK THREAD completed\r\n"),
            ("THREAD REFERENCES UTF-8 NOT ALL", "* THREAD\r\nt OK THREAD completed\r\n"),
            ("SORT (DATE) ISO-8859-1 ALL", "t NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"),
            ("THREAD REFERENCES KOI8-R ALL", "t NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"),
            ("SORT (DATE) ALL", "t BAD Missing search criteria\r\n"),
            ("SORT DATE UTF-8 ALL", "t BAD Expected (\r\n"),
            ("SORT () UTF-8 ALL", "t BAD Expected a keyword\r\n"),
            ("SORT (REVERSE) UTF-8 ALL", "t BAD Expected a space\r\n"),
            ("SORT (NAME) UTF-8 ALL", "t BAD Unknown sort key NAME\r\n"),
            ("SORT RETURN (FOO) (DATE) UTF-8 ALL", "t BAD Unknown RETURN option FOO\r\n"),
            ("SORT RETURN (PARTIAL 1:2 ALL) (DATE) UTF-8 ALL", "t BAD PARTIAL conflicts with ALL\r\n"),
            ("THREAD XREFS UTF-8 ALL", "t BAD Unsupported threading algorithm XREFS\r\n"),
            ("THREAD REFERENCES UTF-8", "t BAD Missing search criteria\r\n"),
            ("SORT (DATE) UTF-8 " + String(repeating: "(", count: 40) + "ALL" + String(repeating: ")", count: 40),
             "t BAD Too deeply nested\r\n"),
        ]
        for (command, want) in steps {
            #expect(try await c.command("t", command) == want, "\(command)")
        }
        await c.close()
        await h.cleanUp()
    }

    @Test("WITHIN: YOUNGER and OLDER count back from the configured clock")
    func within() async throws {
        let h = try await SessionHarness()
        let now = try Date("2030-06-01T12:00:00Z", strategy: .iso8601)
        let c = h.connect { $0.now = { now } }
        try await c.login(h)
        _ = try await c.command("s", "SELECT INBOX")
        for (i, date) in ["01-Jun-2030 11:00:00 +0000", "01-Jun-2030 11:59:00 +0000", "30-May-2030 12:00:00 +0000"].enumerated() {
            let m = "Subject: \(i)\r\n\r\nx\r\n"
            try await c.send("a\(i) APPEND INBOX \"\(date)\" {\(m.utf8.count)+}")
            try await c.send(m)
            _ = try await c.read(until: "a\(i) ")
        }
        #expect(try await c.command("t", "SEARCH YOUNGER 3600") == "* SEARCH 1 2\r\nt OK SEARCH completed\r\n")
        #expect(try await c.command("t", "SEARCH YOUNGER 3599") == "* SEARCH 2\r\nt OK SEARCH completed\r\n")
        #expect(try await c.command("t", "SEARCH OLDER 3600") == "* SEARCH 3\r\nt OK SEARCH completed\r\n")
        #expect(try await c.command("t", "SORT (REVERSE ARRIVAL) UTF-8 OLDER 60") == "* SORT 1 3\r\nt OK SORT completed\r\n")
        #expect(try await c.command("t", "SEARCH YOUNGER 0") == "t BAD Expected a non-zero number\r\n")
        await c.close()
        await h.cleanUp()
    }
}

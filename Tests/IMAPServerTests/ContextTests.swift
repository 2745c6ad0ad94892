import Foundation
@testable import IMAPServer
import Testing

/// RFC 5267 §4 CONTEXT=SEARCH and CONTEXT=SORT: PARTIAL, UPDATE (ADDTO / REMOVEFROM as this
/// session and another change the mailbox), NOUPDATE, CANCELUPDATE and the end of a context.
@Suite("CONTEXT=SEARCH and CONTEXT=SORT")
struct ContextTests {
    static func mail(_ subject: String) -> String { "From: a@example.org\r\nSubject: \(subject)\r\n\r\nbody\r\n" }

    /// The output without `* n RECENT` lines (which session claims a new message is a race).
    static func withoutRecent(_ s: String) -> String {
        s.split(separator: "\r\n", omittingEmptySubsequences: false)
            .filter { !($0.hasPrefix("* ") && $0.hasSuffix(" RECENT")) }.joined(separator: "\r\n")
    }

    func append(_ c: TestClient, _ tag: String, _ subject: String) async throws -> String {
        let m = Self.mail(subject)
        return Self.withoutRecent(try await c.command(tag, "APPEND INBOX {\(m.utf8.count)+}\r\n\(m)"))
    }

    @Test("PARTIAL on SEARCH, UID SEARCH, SORT and UID SORT: ranges, NIL, counted from the end, with SAVE; BAD forms")
    func partial() async throws {
        let h = try await SessionHarness()
        for subject in ["D", "X", "B", "A", "C"] { try await h.deliver(Self.mail(subject)) }
        let c = h.connect()
        try await c.login(h)
        _ = try await c.command("s", "SELECT INBOX")
        _ = try await c.command("d", "UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = try await c.command("e", "EXPUNGE")  // UIDs 1 3 4 5 are messages 1 to 4
        let steps: [(String, String)] = [
            ("SEARCH RETURN (PARTIAL 2:3) ALL", "* ESEARCH (TAG \"t\") PARTIAL (2:3 2:3)"),
            ("UID SEARCH RETURN (PARTIAL 2:3) ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (2:3 3:4)"),
            ("UID SEARCH RETURN (PARTIAL 3:1 COUNT) ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (1:3 1,3:4) COUNT 4"),
            ("UID SEARCH RETURN (PARTIAL 4:100) ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (4:100 5)"),
            ("UID SEARCH RETURN (PARTIAL 5:9) ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (5:9 NIL)"),
            ("UID SEARCH RETURN (MIN PARTIAL -1:-2) ALL", "* ESEARCH (TAG \"t\") UID MIN 1 PARTIAL (-1:-2 4:5)"),
            ("UID SEARCH RETURN (PARTIAL -3:-9) ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (-3:-9 1,3)"),
            ("UID SEARCH RETURN (CONTEXT) NOT DELETED", "* ESEARCH (TAG \"t\") UID ALL 1,3:5"),
            // Sorted: A (UID 4) B (3) C (5) D (1); messages 3 2 4 1.
            ("UID SORT RETURN (PARTIAL 1:3) (SUBJECT) UTF-8 ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (1:3 4,3,5)"),
            ("SORT RETURN (MIN PARTIAL 2:9) (SUBJECT) UTF-8 ALL", "* ESEARCH (TAG \"t\") MIN 3 PARTIAL (2:9 2,4,1)"),
            ("SORT RETURN (PARTIAL 3:4) (REVERSE SUBJECT) UTF-8 ALL", "* ESEARCH (TAG \"t\") PARTIAL (3:4 2:3)"),
            ("UID SORT RETURN (PARTIAL -1:-1 COUNT) (SUBJECT) UTF-8 ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (-1:-1 1) COUNT 4"),
            ("UID SORT RETURN (PARTIAL 7:8) (SUBJECT) UTF-8 ALL", "* ESEARCH (TAG \"t\") UID PARTIAL (7:8 NIL)"),
        ]
        for (command, want) in steps {
            #expect(try await c.command("t", command) == want + "\r\nt OK \(command.contains("SORT") ? "SORT" : "SEARCH") completed\r\n",
                    "\(command)")
        }
        // SAVE with PARTIAL saves the whole result (RFC 5267 §4.1: the options do not interact).
        #expect(try await c.command("v", "UID SEARCH RETURN (SAVE PARTIAL 1:1) ALL") == "* ESEARCH (TAG \"v\") UID PARTIAL (1:1 1)\r\nv OK SEARCH completed\r\n")
        #expect(try await c.command("w", "UID SEARCH $") == "* SEARCH 1 3 4 5\r\nw OK SEARCH completed\r\n")
        for bad in ["SEARCH RETURN (PARTIAL 1:2 ALL) ALL", "UID SEARCH RETURN (PARTIAL 0:2) ALL", "SEARCH RETURN (PARTIAL 1:*) ALL",
                    "SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", "SEARCH RETURN (PARTIAL -1:2) ALL", "UID SORT RETURN (PARTIAL) (DATE) UTF-8 ALL"] {
            #expect(try await c.command("b", bad).hasPrefix("b BAD "), "\(bad)")
        }
        await c.close()
        await h.cleanUp()
    }

    @Test("UID SEARCH RETURN (UPDATE): the other session's APPEND, STORE and EXPUNGE, this one's STORE, IDLE, CANCELUPDATE")
    func searchUpdates() async throws {
        let h = try await SessionHarness()
        try await h.deliver(Self.mail("1")); try await h.deliver(Self.mail("2"))
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await a.command("a0", "SELECT INBOX")  // a holds messages 1 and 2 as \Recent
        _ = try await b.command("b0", "SELECT INBOX")
        // The result first, then the tagged OK; no update before it.
        #expect(try await a.command("a1", "UID SEARCH RETURN (UPDATE) UNSEEN") == "* ESEARCH (TAG \"a1\") UID ALL 1:2\r\na1 OK SEARCH completed\r\n")
        // The other session's changes, told in IDLE as they come (each read waits for its event).
        try await a.send("a2 IDLE")
        _ = try await a.read(until: "+ ")
        _ = try await append(b, "b1", "3")
        #expect(Self.withoutRecent(try await a.read(until: "* ESEARCH")) == "* 3 EXISTS\r\n* ESEARCH (TAG \"a1\") UID ADDTO (0 3)\r\n")
        _ = try await b.command("b2", "UID STORE 1 +FLAGS.SILENT (\\Seen)")
        #expect(try await a.read(until: "* ESEARCH") == "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n* ESEARCH (TAG \"a1\") UID REMOVEFROM (0 1)\r\n")
        // A flag that does not change the match: no update (the next read would show it).
        _ = try await b.command("b3", "UID STORE 2 +FLAGS.SILENT (\\Flagged)")
        #expect(try await a.read(until: "* 2 FETCH") == "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))\r\n")
        // Expunged: EXPUNGE, then REMOVEFROM (UIDs: valid in any order).
        _ = try await b.command("b4", "UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = try await b.command("b5", "EXPUNGE")
        let expunged = try await a.read(until: "* ESEARCH")
        #expect(expunged.hasSuffix("* 2 EXPUNGE\r\n* ESEARCH (TAG \"a1\") UID REMOVEFROM (0 2)\r\n"), "\(expunged)")
        _ = try await append(b, "b6", "4")
        #expect(Self.withoutRecent(try await a.read(until: "* ESEARCH")) == "* 3 EXISTS\r\n* ESEARCH (TAG \"a1\") UID ADDTO (0 4)\r\n")
        try await a.send("DONE")
        #expect(try await a.read(until: "a2 ") == "a2 OK IDLE terminated\r\n")
        // This session's STORE (whose catch-up reads nothing): the update comes before its OK.
        #expect(try await a.command("a4", "UID STORE 1 -FLAGS (\\Seen)")
                == "* 1 FETCH (UID 1 FLAGS (\\Recent))\r\n* ESEARCH (TAG \"a1\") UID ADDTO (0 1)\r\na4 OK STORE completed\r\n")
        // CANCELUPDATE ends it; a tag without a context is BAD.
        #expect(try await a.command("a7", "CANCELUPDATE \"a1\"") == "a7 OK CANCELUPDATE completed\r\n")
        try await a.send("a8 IDLE")
        _ = try await a.read(until: "+ ")
        _ = try await append(b, "b7", "5")
        #expect(Self.withoutRecent(try await a.read(until: "* 4 EXISTS")) == "* 4 EXISTS\r\n")
        try await a.send("DONE")
        #expect(Self.withoutRecent(try await a.read(until: "a8 ")) == "a8 OK IDLE terminated\r\n")
        #expect(try await a.command("a9", "CANCELUPDATE \"a1\"") == "a9 BAD No update context has the tag a1\r\n")
        await a.close(); await b.close()
        await h.cleanUp()
    }

    @Test("UID SORT RETURN (UPDATE): ADDTO and REMOVEFROM at sort positions for this session's APPEND, STORE and EXPUNGE")
    func sortUpdates() async throws {
        let h = try await SessionHarness()
        for subject in ["B", "D", "F"] { try await h.deliver(Self.mail(subject)) }
        let a = h.connect()
        try await a.login(h)
        _ = try await a.command("s", "SELECT INBOX")
        #expect(try await a.command("s1", "UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 UNDELETED")
                == "* ESEARCH (TAG \"s1\") UID COUNT 3\r\ns1 OK SORT completed\r\n")
        // E (UID 4) goes third: B D E F; A (UID 5) first: A B D E F.
        #expect(try await append(a, "a1", "E").contains("* 4 EXISTS\r\n* ESEARCH (TAG \"s1\") UID ADDTO (3 4)\r\na1 OK ["))
        #expect(try await append(a, "a2", "A").contains("* ESEARCH (TAG \"s1\") UID ADDTO (1 5)\r\na2 OK ["))
        #expect(try await a.command("a3", "UID STORE 2 +FLAGS.SILENT (\\Deleted)") == "* ESEARCH (TAG \"s1\") UID REMOVEFROM (3 2)\r\na3 OK STORE completed\r\n")
        #expect(try await a.command("a4", "UID STORE 2 -FLAGS.SILENT (\\Deleted)") == "* ESEARCH (TAG \"s1\") UID ADDTO (3 2)\r\na4 OK STORE completed\r\n")
        // B and D are neighbours (one position), F comes after E.
        #expect(try await a.command("a5", "UID STORE 1:3 +FLAGS.SILENT (\\Deleted)")
                == "* ESEARCH (TAG \"s1\") UID REMOVEFROM (2 1:2 3 3)\r\na5 OK STORE completed\r\n")
        #expect(!(try await a.command("a6", "EXPUNGE")).contains("ESEARCH"))  // already out of the result
        #expect(try await append(a, "a7", "C").contains("* ESEARCH (TAG \"s1\") UID ADDTO (2 6)\r\na7 OK ["))  // A C E
        // UPDATE again with the tag of a kept context: BAD; message numbers: not kept.
        #expect(try await a.command("s1", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL") == "s1 BAD Tag reuse: an update context has this tag\r\n")
        #expect(try await a.command("s2", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
                == "* NO [NOUPDATE \"s2\"] Updates are kept for UID SEARCH and UID SORT only\r\n* ESEARCH (TAG \"s2\") ALL 2:3,1\r\ns2 OK SORT completed\r\n")
        // The context ends with the selection.
        _ = try await a.command("u", "UNSELECT")
        _ = try await a.command("s", "SELECT INBOX")
        #expect(try await a.command("c", "CANCELUPDATE \"s1\"") == "c BAD No update context has the tag s1\r\n")
        await a.close()
        await h.cleanUp()
    }

    @Test("at most 16 contexts (NOUPDATE past them, the answer still given); none for message numbers; CLOSE ends them")
    func limits() async throws {
        let h = try await SessionHarness()
        try await h.deliver(Self.mail("1"))
        let a = h.connect()
        try await a.login(h)
        _ = try await a.command("s", "SELECT INBOX")
        for i in 0..<16 {
            #expect(try await a.command("u\(i)", "UID SEARCH RETURN (UPDATE COUNT) ALL") == "* ESEARCH (TAG \"u\(i)\") UID COUNT 1\r\nu\(i) OK SEARCH completed\r\n")
        }
        #expect(try await a.command("u16", "UID SEARCH RETURN (UPDATE COUNT) ALL")
                == "* NO [NOUPDATE \"u16\"] Too many update contexts\r\n* ESEARCH (TAG \"u16\") UID COUNT 1\r\nu16 OK SEARCH completed\r\n")
        #expect(try await a.command("c", "CANCELUPDATE \"u0\" \"u1\"") == "c OK CANCELUPDATE completed\r\n")
        #expect(try await a.command("c2", "CANCELUPDATE \"u2\" \"nope\"") == "c2 BAD No update context has the tag nope\r\n")
        #expect(try await a.command("u17", "UID SEARCH RETURN (UPDATE) 1") == "* NO [NOUPDATE \"u17\"] Updates are not kept for a search by message number\r\n"
                + "* ESEARCH (TAG \"u17\") UID ALL 1\r\nu17 OK SEARCH completed\r\n")
        #expect(try await a.command("u18", "UID SEARCH RETURN (UPDATE SAVE) ALL") == "* ESEARCH (TAG \"u18\") UID ALL 1\r\nu18 OK SEARCH completed\r\n")
        #expect(try await a.command("u19", "UID SEARCH RETURN (UPDATE) UID $") == "* ESEARCH (TAG \"u19\") UID ALL 1\r\nu19 OK SEARCH completed\r\n")
        // u2…u15 and u18, u19: 16 again.
        #expect(try await a.command("u20", "UID SEARCH RETURN (UPDATE) ALL").hasPrefix("* NO [NOUPDATE \"u20\"]"))
        _ = try await a.command("x", "CLOSE")
        _ = try await a.command("s", "SELECT INBOX")
        #expect(try await a.command("u21", "UID SEARCH RETURN (UPDATE) ALL") == "* ESEARCH (TAG \"u21\") UID ALL 1\r\nu21 OK SEARCH completed\r\n")
        #expect(try await a.command("n", "CANCELUPDATE \"u2\"") == "n BAD No update context has the tag u2\r\n")
        _ = try await a.command("x", "UNSELECT")
        #expect(try await a.command("n", "CANCELUPDATE \"u21\"") == "n BAD No mailbox selected\r\n")
        await a.close()
        await h.cleanUp()
    }
}

import Foundation
import Testing

/// RFC 5465 NOTIFY: STATUS of other mailboxes as their messages change, between commands and in
/// IDLE; NOTIFY NONE; the STATUS indicator; BADEVENT and malformed commands.
@Suite("NOTIFY")
struct NotifyTests {
    static let mail = "From: a@example.org\r\nSubject: n\r\n\r\nbody\r\n"

    @Test("two sessions: NOTIFY SET sees * STATUS when the other appends to Other; NOTIFY NONE stops it")
    func statusOfOtherMailbox() async throws {
        let h = try await SessionHarness()
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        #expect(try await b.command("b1", "CREATE Other").hasPrefix("b1 OK [MAILBOXID (F"))
        _ = try await a.command("a1", "SELECT INBOX")
        let set = try await a.command("a2", "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))")
        #expect(set == "a2 OK NOTIFY completed\r\n")
        let m = Self.mail
        _ = try await b.command("b2", "APPEND Other {\(m.utf8.count)+}\r\n\(m)")
        // Unsolicited, between commands.
        #expect(try await a.read(until: "* STATUS") == "* STATUS Other (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n")
        // In IDLE too; and the selected mailbox's own updates as usual.
        try await a.send("a3 IDLE")
        _ = try await a.read(until: "+ ")
        _ = try await b.command("b3", "APPEND Other {\(m.utf8.count)+}\r\n\(m)")
        #expect(try await a.read(until: "* STATUS") == "* STATUS Other (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n")
        try await a.send("DONE")
        #expect(try await a.read(until: "a3 ") == "a3 OK IDLE terminated\r\n")
        #expect(try await a.command("a4", "NOTIFY NONE") == "a4 OK NOTIFY completed\r\n")
        _ = try await b.command("b4", "APPEND Other {\(m.utf8.count)+}\r\n\(m)")
        _ = try await b.command("b5", "SELECT Other")  // a command after the append: a has had time to hear of it
        #expect(try await a.command("a5", "NOOP") == "a5 OK NOOP completed\r\n")
        await a.close(); await b.close()
        await h.cleanUp()
    }

    @Test("NOTIFY SET STATUS reports the mailboxes it covers at once; filters; BADEVENT; BAD")
    func statusIndicatorAndErrors() async throws {
        let h = try await SessionHarness()
        let a = h.connect()
        try await a.login(h)
        _ = try await a.command("a0", "CREATE Other")
        _ = try await a.command("a1", "SELECT INBOX")
        let status = try await a.command("a2", "NOTIFY SET STATUS (MAILBOXES Other (MessageNew MessageExpunge FlagChange))")
        #expect(status == "* STATUS Other (MESSAGES 0 UIDNEXT 1 UNSEEN 0)\r\na2 OK NOTIFY completed\r\n", "\(status)")
        let steps: [(String, String)] = [
            ("NOTIFY SET (PERSONAL (MessageNew MailboxName))",
             "NO [BADEVENT (MessageNew MessageExpunge FlagChange)] Unsupported NOTIFY event"),
            ("NOTIFY SET (INBOXES (AnnotationChange))", "NO [BADEVENT (MessageNew MessageExpunge FlagChange)] Unsupported NOTIFY event"),
            ("NOTIFY SET (SELECTED (MessageNew))", "BAD MessageNew and MessageExpunge go together, and FlagChange needs them"),
            ("NOTIFY SET (SELECTED-DELAYED (FlagChange))", "BAD MessageNew and MessageExpunge go together, and FlagChange needs them"),
            ("NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))", "BAD MessageNew attributes are for the selected mailbox only"),
            ("NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge))", "NO [CANNOT] FETCH attributes after MessageNew are not supported"),
            ("NOTIFY", "BAD"), ("NOTIFY SET", "BAD"), ("NOTIFY SET ()", "BAD"), ("NOTIFY SET (NOWHERE (MessageNew))", "BAD"),
            ("NOTIFY SET (PERSONAL (MessageNew)", "BAD"), ("NOTIFY SET (MAILBOXES (MessageNew))", "BAD"),
            ("NOTIFY SET (SUBSCRIBED NONE) (SUBTREE (Other INBOX) (MessageNew MessageExpunge)) (SELECTED NONE)", "OK NOTIFY completed"),
        ]
        for (i, (command, want)) in steps.enumerated() {
            let got = try await a.command("t\(i)", command)
            #expect(got.hasPrefix("t\(i) \(want)"), "\(command): \(got)")
        }
        await a.close()
        await h.cleanUp()
    }
}

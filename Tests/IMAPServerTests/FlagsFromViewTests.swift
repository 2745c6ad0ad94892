import Testing

/// `FETCH … (FLAGS)` and `(UID FLAGS)` are answered from the session's view of the folder: a
/// change another session committed before the command must still be in the answer.
@Suite("FETCH FLAGS from the selected view")
struct FlagsFromViewTests {
    @Test("two sessions (in-memory and encrypted store): B's STORE and EXPUNGE are seen by A's very next FETCH FLAGS", arguments: [false, true])
    func seesOtherSessions(realStore: Bool) async throws {
        let h = try await SessionHarness(realStore: realStore)
        for _ in 1...3 { try await h.deliver(sampleMail) }
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await a.command("a1", "SELECT INBOX")
        _ = try await b.command("b1", "SELECT INBOX")
        _ = try await b.command("b2", "STORE 1 +FLAGS (\\Flagged $Work)")
        let flags = try await a.command("a2", "UID FETCH 1:* (FLAGS)")
        let line = flags.components(separatedBy: "\r\n").first { $0.hasPrefix("* 1 FETCH") }
        #expect(line?.contains("\\Flagged") == true && line?.contains("$Work") == true, "\(flags)")
        #expect(flags.contains("a2 OK"), "\(flags)")

        _ = try await b.command("b3", "STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = try await b.command("b4", "EXPUNGE")
        // Not by UID: the expunge is held back, and the message it names is reported gone.
        let gone = try await a.command("a3", "FETCH 2 (UID FLAGS)")
        #expect(!gone.contains("* 2 FETCH") && !gone.contains("* 2 EXPUNGE"), "\(gone)")
        #expect(gone.contains("a3 NO [EXPUNGEISSUED]"), "\(gone)")
        let rest = try await a.command("a4", "FETCH 1:* (FLAGS)")
        #expect(rest.contains("* 1 FETCH (FLAGS (") && rest.contains("* 3 FETCH (FLAGS ("), "\(rest)")
        #expect(rest.contains("a4 NO [EXPUNGEISSUED]"), "\(rest)")
        // By UID: answered, then the expunge is announced.
        let byUID = try await a.command("a5", "UID FETCH 1:* (UID FLAGS)")
        #expect(byUID.contains("* 1 FETCH (UID 1 FLAGS (") && byUID.contains("* 3 FETCH (UID 3 FLAGS ("), "\(byUID)")
        #expect(byUID.contains("* 2 EXPUNGE") && byUID.contains("a5 OK"), "\(byUID)")
        let after = try await a.command("a6", "FETCH 1:* (FLAGS)")
        #expect(after.contains("* 2 FETCH (FLAGS (") && !after.contains("* 3 FETCH") && after.contains("a6 OK"), "\(after)")
        await a.close(); await b.close()
        await h.cleanUp()
    }

    /// RFC 3501 §6.1.2: NOOP reports what changed. A change another session committed before its
    /// tagged OK is seen by the next NOOP here, whether or not its event has reached this session.
    @Test("two sessions on the encrypted store: every NOOP right after the other's STORE, APPEND or EXPUNGE reports it")
    func noopSeesCommitted() async throws {
        let h = try await SessionHarness(realStore: true)
        for _ in 1...2 { try await h.deliver(sampleMail) }
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await a.command("a0", "SELECT INBOX")
        _ = try await b.command("b0", "SELECT INBOX")
        for i in 1...20 {
            _ = try await b.command("b\(i)", "STORE 1 \(i % 2 == 1 ? "+" : "-")FLAGS (\\Flagged)")
            let noop = try await a.command("n\(i)", "NOOP")
            #expect(noop.contains("* 1 FETCH (") && noop.contains("\\Flagged") == (i % 2 == 1), "round \(i): \(noop)")
        }
        try await b.sendRaw(Array("ap APPEND INBOX {\(sampleMail.utf8.count)+}\r\n\(sampleMail)\r\n".utf8))
        _ = try await b.read(until: "ap ")
        let appended = try await a.command("n21", "NOOP")
        #expect(appended.contains("* 3 EXISTS"), "\(appended)")
        _ = try await b.command("b21", "STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = try await b.command("b22", "EXPUNGE")
        let expunged = try await a.command("n22", "NOOP")
        #expect(expunged.contains("* 2 EXPUNGE"), "\(expunged)")
        await a.close(); await b.close()
        await h.cleanUp()
    }

    @Test("two sessions on the encrypted store: a selected folder deleted or renamed by the other ends the selection with BYE", arguments: ["DELETE", "RENAME"])
    func folderGone(command: String) async throws {
        let h = try await SessionHarness(realStore: true)
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await b.command("b1", "CREATE Work")
        try await b.send("b1b APPEND Work {5+}\r\nhello")
        _ = try await b.read(until: "b1b ")
        _ = try await a.command("a1", "SELECT Work")
        _ = try await b.command("b2", command == "DELETE" ? "DELETE Work" : "RENAME Work Play")
        // Seen by the next command, whichever it is: FETCH FLAGS (answered from the view) included.
        try await a.send("a2 FETCH 1:* (FLAGS)")
        let after = try await a.read(until: "* BYE")
        #expect(after.contains("* BYE The selected mailbox was deleted or renamed"), "\(after)")
        await a.close(); await b.close()
        #expect(!a.text.contains("a2 OK") && !a.text.contains("* 1 FETCH"), "\(a.text)")
        await h.cleanUp()
    }
}

import Foundation
import Testing

/// RFC 7162 follow-ups: the MODSEQ of an implicit \Seen, and HIGHESTMODSEQ while expunges are held back.
@Suite("CONDSTORE/QRESYNC follow-ups")
struct CondStoreFollowUpTests {
    let transcripts = TranscriptTests()

    @Test("a FETCH that sets \\Seen reports FLAGS and, with CONDSTORE, the new MODSEQ (and UID for UID FETCH)")
    func implicitSeenModSeq() async throws {
        let m = TranscriptTests.m1
        try await transcripts.run([
            ("TAG ENABLE CONDSTORE", "* ENABLED CONDSTORE\nTAG OK [HIGHESTMODSEQ 3] ENABLE completed\n"),
            ("TAG UID FETCH 1 (BODY[TEXT])", "* 1 FETCH (UID 1 BODY[TEXT] {7}\nHello\n FLAGS (\\Seen \\Recent) MODSEQ (4))\nTAG OK FETCH completed\n"),
            ("TAG FETCH 2 (BODY[TEXT])", "* 2 FETCH (BODY[TEXT] {7}\nHello\n FLAGS (\\Seen \\Recent) MODSEQ (5))\nTAG OK FETCH completed\n"),
            // Already seen: nothing changed, nothing more to report.
            ("TAG FETCH 2 (BODY[TEXT])", "* 2 FETCH (BODY[TEXT] {7}\nHello\n)\nTAG OK FETCH completed\n"),
        ], deliveries: [m, m])
        // Without CONDSTORE: FLAGS alone.
        try await transcripts.run([
            ("TAG FETCH 1 (BODY[TEXT])", "* 1 FETCH (BODY[TEXT] {7}\nHello\n FLAGS (\\Seen \\Recent))\nTAG OK FETCH completed\n"),
        ], deliveries: [m])
    }

    @Test("MODSEQ sent while an expunge is held back: * OK [HIGHESTMODSEQ] below the expunge until it is announced")
    func heldBackExpunge() async throws {
        let h = try await SessionHarness()
        for _ in 1...4 { try await h.deliver(TranscriptTests.m1) }  // MODSEQ 2…5
        let a = h.connect(), b = h.connect()
        try await a.login(h); try await b.login(h)
        _ = try await a.command("a1", "ENABLE QRESYNC")
        _ = try await a.command("a2", "SELECT INBOX")
        _ = try await b.command("b1", "SELECT INBOX")
        _ = try await b.command("b2", "STORE 1 +FLAGS.SILENT (\\Deleted)")  // 6
        _ = try await b.command("b3", "EXPUNGE")  // 7
        // A STORE by number may not announce the expunge; its MODSEQ (8) is above it, so the
        // client is told a HIGHESTMODSEQ below the expunge (5) before the tagged OK.
        let store = try await a.command("a3", "STORE 3 +FLAGS (\\Flagged)")
        #expect(store == "* 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent) MODSEQ (8))\r\n* OK [HIGHESTMODSEQ 5] Highest\r\na3 OK STORE completed\r\n", "\(store)")
        let fetch = try await a.command("a4", "FETCH 3 (MODSEQ)")
        #expect(fetch == "* 3 FETCH (MODSEQ (8))\r\n* OK [HIGHESTMODSEQ 5] Highest\r\na4 OK FETCH completed\r\n", "\(fetch)")
        // Without MODSEQ values nothing needs correcting.
        let flags = try await a.command("a5", "FETCH 3 (FLAGS)")
        #expect(flags == "* 3 FETCH (FLAGS (\\Flagged \\Recent))\r\na5 OK FETCH completed\r\n", "\(flags)")
        let noop = try await a.command("a6", "NOOP")
        #expect(noop.hasPrefix("* VANISHED 1\r\n") && noop.hasSuffix("a6 OK NOOP completed\r\n"), "\(noop)")
        let after = try await a.command("a7", "FETCH 2 (MODSEQ)")
        #expect(after == "* 2 FETCH (MODSEQ (8))\r\na7 OK FETCH completed\r\n", "\(after)")
        await a.close(); await b.close()
        await h.cleanUp()
    }
}

import Foundation
import Testing

/// RFC 7162 §3.1: CONDSTORE enabling commands, and the MODSEQ of SEARCH and ESEARCH answers.
/// Deliveries get MODSEQ 2, 3, 4 (a new folder's HIGHESTMODSEQ is 1); each STORE takes the next.
@Suite("CONDSTORE enabling and ESEARCH MODSEQ")
struct CondStoreTests {
    static let m = TranscriptTests.m1
    let transcripts = TranscriptTests()

    @Test("FETCH of MODSEQ enables CONDSTORE: its OK carries HIGHESTMODSEQ, later STOREs carry MODSEQ")
    func fetchModSeqEnables() async throws {
        try await transcripts.run([
            ("TAG STORE 1 +FLAGS (\\Flagged)", "* 1 FETCH (FLAGS (\\Flagged \\Recent))\nTAG OK STORE completed\n"),
            ("TAG FETCH 1 (FLAGS)", "* 1 FETCH (FLAGS (\\Flagged \\Recent))\nTAG OK FETCH completed\n"),
            ("TAG FETCH 1 (MODSEQ)", "* 1 FETCH (MODSEQ (4))\nTAG OK [HIGHESTMODSEQ 4] FETCH completed\n"),
            // Once only.
            ("TAG FETCH 2 (MODSEQ)", "* 2 FETCH (MODSEQ (3))\nTAG OK FETCH completed\n"),
            ("TAG STORE 2 +FLAGS (\\Seen)", "* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ (5))\nTAG OK STORE completed\n"),
            ("TAG STORE 1 +FLAGS.SILENT (\\Seen)", "* 1 FETCH (UID 1 MODSEQ (6))\nTAG OK STORE completed\n"),
            ("TAG UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5)", "* 1 FETCH (UID 1 FLAGS (\\Seen \\Flagged \\Recent) MODSEQ (6))\nTAG OK FETCH completed\n"),
        ], deliveries: [Self.m, Self.m])
    }

    @Test("the other enabling commands while a mailbox is selected: STATUS, SEARCH, STORE, CHANGEDSINCE, ENABLE")
    func otherEnablingCommands() async throws {
        let deliveries = [Self.m, Self.m, Self.m]
        try await transcripts.run([
            ("TAG STATUS INBOX (HIGHESTMODSEQ)", "* STATUS INBOX (HIGHESTMODSEQ 4)\nTAG OK [HIGHESTMODSEQ 4] STATUS completed\n"),
            ("TAG STATUS INBOX (HIGHESTMODSEQ)", "* STATUS INBOX (HIGHESTMODSEQ 4)\nTAG OK STATUS completed\n"),
        ], deliveries: deliveries)
        try await transcripts.run([
            ("TAG SEARCH MODSEQ 3", "* SEARCH 2 3 (MODSEQ 4)\nTAG OK [HIGHESTMODSEQ 4] SEARCH completed\n"),
        ], deliveries: deliveries)
        try await transcripts.run([
            // The STORE's own change is in the HIGHESTMODSEQ it reports.
            ("TAG STORE 1 (UNCHANGEDSINCE 9) +FLAGS (\\Seen)", "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (5))\nTAG OK [HIGHESTMODSEQ 5] STORE completed\n"),
        ], deliveries: deliveries)
        try await transcripts.run([
            // MODIFIED takes the tagged OK: HIGHESTMODSEQ comes untagged before it.
            ("TAG STORE 3 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)", "* OK [HIGHESTMODSEQ 4] Highest\nTAG OK [MODIFIED 3] Conditional STORE failed\n"),
        ], deliveries: deliveries)
        try await transcripts.run([
            ("TAG FETCH 1:* (FLAGS) (CHANGEDSINCE 3)", "* 3 FETCH (FLAGS (\\Recent) MODSEQ (4))\nTAG OK [HIGHESTMODSEQ 4] FETCH completed\n"),
        ], deliveries: deliveries)
        try await transcripts.run([
            ("TAG ENABLE CONDSTORE", "* ENABLED CONDSTORE\nTAG OK [HIGHESTMODSEQ 4] ENABLE completed\n"),
        ], deliveries: deliveries)
        // Not selected: nothing to report; the next SELECT reports it.
        try await transcripts.run([
            ("TAG STATUS INBOX (HIGHESTMODSEQ)", "* STATUS INBOX (HIGHESTMODSEQ 4)\nTAG OK STATUS completed\n"),
            ("TAG EXAMINE INBOX", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n* OK [PERMANENTFLAGS ()] No permanent flags permitted\n"
                + "* 3 EXISTS\n* 3 RECENT\n* OK [UNSEEN 1] First unseen\n* OK [UIDVALIDITY _] UIDs valid\n* OK [UIDNEXT 4] Predicted next UID\n* OK [MAILBOXID _] Mailbox ID\n"
                + "* OK [HIGHESTMODSEQ 4] Highest\nTAG OK [READ-ONLY] EXAMINE completed\n"),
            ("TAG FETCH 1 (MODSEQ)", "* 1 FETCH (MODSEQ (2))\nTAG OK FETCH completed\n"),
        ], deliveries: deliveries, select: false)
    }

    @Test("ESEARCH MODSEQ: of the MIN/MAX messages alone, of every match with ALL or COUNT")
    func esearchModSeq() async throws {
        try await transcripts.run([
            ("TAG ENABLE CONDSTORE", "* ENABLED CONDSTORE\nTAG OK [HIGHESTMODSEQ 4] ENABLE completed\n"),
            ("TAG STORE 1 +FLAGS (\\Flagged)", "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) MODSEQ (5))\nTAG OK STORE completed\n"),
            ("TAG STORE 2 +FLAGS (\\Flagged)", "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (6))\nTAG OK STORE completed\n"),
            // 1: MODSEQ 5, 2: 6, 3: 4.
            ("TAG SEARCH RETURN (MIN) MODSEQ 1", "* ESEARCH (TAG \"TAG\") MIN 1 MODSEQ 5\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (MAX) MODSEQ 1", "* ESEARCH (TAG \"TAG\") MAX 3 MODSEQ 4\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (MIN MAX) MODSEQ 1", "* ESEARCH (TAG \"TAG\") MIN 1 MAX 3 MODSEQ 5\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (COUNT) MODSEQ 1", "* ESEARCH (TAG \"TAG\") COUNT 3 MODSEQ 6\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (ALL) MODSEQ 1", "* ESEARCH (TAG \"TAG\") ALL 1:3 MODSEQ 6\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (MIN COUNT) MODSEQ 1", "* ESEARCH (TAG \"TAG\") MIN 1 COUNT 3 MODSEQ 6\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN () MODSEQ 1", "* ESEARCH (TAG \"TAG\") ALL 1:3 MODSEQ 6\nTAG OK SEARCH completed\n"),
            ("TAG UID SEARCH RETURN (MAX) MODSEQ 5", "* ESEARCH (TAG \"TAG\") UID MAX 2 MODSEQ 6\nTAG OK SEARCH completed\n"),
            ("TAG UID SEARCH RETURN (MIN MAX) NOT FLAGGED MODSEQ 1", "* ESEARCH (TAG \"TAG\") UID MIN 3 MAX 3 MODSEQ 4\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH RETURN (MIN) MODSEQ 7", "* ESEARCH (TAG \"TAG\")\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH MODSEQ 1", "* SEARCH 1 2 3 (MODSEQ 6)\nTAG OK SEARCH completed\n"),
            ("TAG SEARCH FLAGGED", "* SEARCH 1 2\nTAG OK SEARCH completed\n"),
        ], deliveries: [Self.m, Self.m, Self.m])
    }
}

import Foundation
import Testing

/// RFC 5258 §3 selection and return options, §3.5 CHILDINFO with (SUBSCRIBED RECURSIVEMATCH).
@Suite("LIST-EXTENDED options and RECURSIVEMATCH")
struct ListExtendedTests {
    @Test("unknown options and RECURSIVEMATCH alone are BAD; RECURSIVEMATCH with SUBSCRIBED gives CHILDINFO")
    func recursiveMatch() async throws {
        let ok = "TAG OK LIST completed\n"
        let fruit = "* LIST (\\HasChildren) \"/\" Fruit (\"CHILDINFO\" (\"SUBSCRIBED\"))\n"
        let veg = "* LIST (\\HasChildren \\Subscribed) \"/\" Veg (\"CHILDINFO\" (\"SUBSCRIBED\"))\n"
        try await TranscriptTests().run([
            ("TAG CREATE Fruit/Apple", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG CREATE Fruit/Banana", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG CREATE Veg/Peas", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG SUBSCRIBE Fruit/Banana", "TAG OK SUBSCRIBE completed\n"),
            ("TAG SUBSCRIBE Veg", "TAG OK SUBSCRIBE completed\n"),
            ("TAG SUBSCRIBE Veg/Peas", "TAG OK SUBSCRIBE completed\n"),
            ("TAG LIST (BOGUS) \"\" *", "TAG BAD Unknown LIST selection option BOGUS\n"),
            ("TAG LIST (SUBSCRIBED BOGUS) \"\" *", "TAG BAD Unknown LIST selection option BOGUS\n"),
            ("TAG LIST \"\" * RETURN (BOGUS)", "TAG BAD Unknown LIST return option BOGUS\n"),
            ("TAG LIST \"\" * RETURN (CHILDINFO)", "TAG BAD Unknown LIST return option CHILDINFO\n"),
            ("TAG LIST (RECURSIVEMATCH) \"\" *", "TAG BAD RECURSIVEMATCH needs another selection option\n"),
            ("TAG LIST (REMOTE RECURSIVEMATCH) \"\" *", "TAG BAD RECURSIVEMATCH needs another selection option\n"),
            // Without RECURSIVEMATCH: the subscribed names only, no CHILDINFO.
            ("TAG LIST (SUBSCRIBED) \"\" (Fruit V%)", "* LIST (\\HasChildren \\Subscribed) \"/\" Veg\n" + ok),
            // Fruit is not subscribed but Fruit/Banana, which the pattern misses, is; Veg is
            // subscribed and so is Veg/Peas below it.
            ("TAG LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (Fruit V%)", fruit + veg + ok),
            ("TAG LIST (recursivematch remote subscribed) \"\" (Fruit V%)", fruit + veg + ok),
            // Fruit/Banana is listed itself: Fruit is not (RFC 5258 §3.5, no redundant response).
            ("TAG LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (Fruit* V*)", "* LIST (\\HasNoChildren \\Subscribed) \"/\" Fruit/Banana\n" + veg
                + "* LIST (\\HasNoChildren \\Subscribed) \"/\" Veg/Peas\n" + ok),
            // No STATUS for a name listed only for its CHILDINFO (RFC 5819 §3).
            ("TAG LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (Fruit V%) RETURN (STATUS (MESSAGES))",
             fruit + veg + "* STATUS Veg (MESSAGES 0)\n" + ok),
            ("TAG LIST (SUBSCRIBED RECURSIVEMATCH) \"\" Fruit/%", "* LIST (\\HasNoChildren \\Subscribed) \"/\" Fruit/Banana\n" + ok),
            // A parent gone with its subscribed child.
            ("TAG CREATE Old/Box", "TAG OK [MAILBOXID _] CREATE completed\n"),
            ("TAG SUBSCRIBE Old/Box", "TAG OK SUBSCRIBE completed\n"),
            ("TAG DELETE Old/Box", "TAG OK DELETE completed\n"),
            ("TAG DELETE Old", "TAG OK DELETE completed\n"),
            ("TAG LIST (SUBSCRIBED RECURSIVEMATCH) \"\" O%", "* LIST (\\NonExistent) \"/\" Old (\"CHILDINFO\" (\"SUBSCRIBED\"))\n" + ok),
            ("TAG LIST (SUBSCRIBED RECURSIVEMATCH) \"\" O*", "* LIST (\\Subscribed \\NonExistent) \"/\" Old/Box\n" + ok),
            ("TAG LIST (SPECIAL-USE RECURSIVEMATCH) \"\" S*", "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\n" + ok),
        ], select: false)
    }
}

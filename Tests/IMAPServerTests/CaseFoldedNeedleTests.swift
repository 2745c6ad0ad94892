@testable import IMAPServer
import Testing

@Suite("SEARCH string matching")
struct CaseFoldedNeedleTests {
    @Test("case-insensitive substring: ASCII and not, at either end, longer needles, Unicode lowercase forms")
    func matching() {
        let cases: [(String, String, Bool)] = [
            ("Quarterly Report", "report", true), ("Quarterly Report", "REPORT", true), ("Quarterly Report", "rEpOrTs", false),
            ("Quarterly Report", "quarterly", true), ("Quarterly Report", "ly re", true), ("abc", "abcd", false),
            ("Über den Fluß", "über", true), ("ÜBER DEN FLUSS", "über", true), ("Ünïcode Report", "report", true),
            ("Ünïcode Report", "ÜNÏ", true), ("plain ascii", "ünï", false), ("Kelvin k", "\u{212A}ELVIN", true),
            ("[bracket]^_`{", "]^_`", true), ("@[", "`{", false),  // only letters fold
            ("anything", "", true), ("", "x", false),
        ]
        for (haystack, needle, expected) in cases {
            #expect(CaseFoldedNeedle(needle).found(in: haystack) == expected, "\(needle) in \(haystack)")
        }
    }
}

/// A calendar day as IMAP SEARCH uses it (`date` in RFC 3501 §9: `1-Feb-1994`), time and zone
/// disregarded (§6.4.4).
public struct IMAPDate: Sendable, Hashable, Comparable {
    public var year: Int
    public var month: Int   // 1...12
    public var day: Int     // 1...31
    public init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }
    public static func < (a: IMAPDate, b: IMAPDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

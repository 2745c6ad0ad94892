import Foundation

/// Why a command did not parse; `IMAPCommandParser` adds the tag.
struct ParseFailure: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Byte classes of RFC 3501 §9.
enum IMAPChar {
    static let space: UInt8 = 0x20
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let dquote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let openParen: UInt8 = 0x28
    static let closeParen: UInt8 = 0x29
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let openBracket: UInt8 = 0x5B
    static let closeBracket: UInt8 = 0x5D
    static let plus: UInt8 = 0x2B
    static let tilde: UInt8 = 0x7E

    /// `ATOM-CHAR = <any CHAR except atom-specials>`; atom-specials = "(" / ")" / "{" / SP / CTL /
    /// list-wildcards / quoted-specials / resp-specials. 8-bit bytes are not CHARs.
    static func isAtomChar(_ b: UInt8) -> Bool {
        guard b > 0x20, b < 0x7F else { return false }
        switch b {
        case 0x28, 0x29, 0x7B, 0x25, 0x2A, 0x22, 0x5C, 0x5D: return false
        default: return true
        }
    }
    /// `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
    static func isAstringChar(_ b: UInt8) -> Bool { isAtomChar(b) || b == 0x5D }
    /// `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
    static func isListChar(_ b: UInt8) -> Bool { isAstringChar(b) || b == 0x25 || b == 0x2A }
    /// `tag = 1*<any ASTRING-CHAR except "+">`.
    static func isTagChar(_ b: UInt8) -> Bool { isAstringChar(b) && b != 0x2B }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
}

/// A position in one command's bytes with the RFC 3501 §9 primitives. Every failure is a thrown
/// `ParseFailure`; nothing here traps on client input.
struct IMAPCursor {
    let bytes: [UInt8]
    var pos: Int
    let limits: IMAPLimits
    /// Current nesting of parentheses / NOT / OR (bounded by `limits.maxNesting`).
    var depth = 0
    /// Items counted against `limits.maxListItems` (search keys, fetch attributes, flags).
    var items = 0

    init(_ bytes: [UInt8], limits: IMAPLimits) {
        self.bytes = bytes; self.pos = 0; self.limits = limits
    }

    var atEnd: Bool { pos >= bytes.count }
    var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }
    func peek(at offset: Int) -> UInt8? { pos + offset < bytes.count ? bytes[pos + offset] : nil }

    mutating func enterNesting() throws(ParseFailure) {
        depth += 1
        if depth > limits.maxNesting { throw ParseFailure("Too deeply nested") }
    }
    mutating func leaveNesting() { depth -= 1 }

    mutating func countItem() throws(ParseFailure) {
        items += 1
        if items > limits.maxListItems { throw ParseFailure("Too many items") }
    }

    // MARK: single bytes

    mutating func space(_ message: @autoclosure () -> String = "Expected a space") throws(ParseFailure) {
        guard peek == IMAPChar.space else { throw ParseFailure(message()) }
        pos += 1
    }
    mutating func expect(_ b: UInt8, _ message: @autoclosure () -> String) throws(ParseFailure) {
        guard peek == b else { throw ParseFailure(message()) }
        pos += 1
    }
    /// Consumes `b` if it is next.
    mutating func skip(_ b: UInt8) -> Bool {
        if peek == b { pos += 1; return true }
        return false
    }
    /// Consumes a space if it is next.
    mutating func optionalSpace() -> Bool { skip(IMAPChar.space) }

    /// Consumes `word` (ASCII, case-insensitive) if it comes next and is not followed by another
    /// atom character.
    mutating func skipKeyword(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count else { return false }
        for i in 0 ..< w.count where bytes[pos + i] | 0x20 != w[i] | 0x20 { return false }
        if pos + w.count < bytes.count, IMAPChar.isAtomChar(bytes[pos + w.count]) { return false }
        pos += w.count
        return true
    }

    // MARK: tokens

    /// Bytes while `accept` holds (possibly none).
    mutating func take(while accept: (UInt8) -> Bool) -> ArraySlice<UInt8> {
        let start = pos
        while pos < bytes.count, accept(bytes[pos]) { pos += 1 }
        return bytes[start ..< pos]
    }

    /// `atom`, as written.
    mutating func atom(_ message: @autoclosure () -> String = "Expected an atom") throws(ParseFailure) -> String {
        let a = take(while: IMAPChar.isAtomChar)
        guard !a.isEmpty else { throw ParseFailure(message()) }
        return String(decoding: a, as: UTF8.self)
    }

    /// A keyword-like word (letters, digits, `.`, `-`), upper-cased; empty when none.
    mutating func word() -> String {
        let w = take { IMAPChar.isAlpha($0) || IMAPChar.isDigit($0) || $0 == 0x2E || $0 == 0x2D }
        return String(decoding: w, as: UTF8.self).uppercased()
    }

    /// `tag`.
    mutating func tag() throws(ParseFailure) -> String {
        let t = take(while: IMAPChar.isTagChar)
        guard !t.isEmpty else { throw ParseFailure("Invalid tag") }
        return String(decoding: t, as: UTF8.self)
    }

    /// `quoted`: the unescaped bytes. 8-bit bytes are accepted (RFC 6855, RFC 9051).
    mutating func quoted() throws(ParseFailure) -> [UInt8] {
        try expect(IMAPChar.dquote, "Expected a quoted string")
        var out: [UInt8] = []
        while true {
            guard let b = peek else { throw ParseFailure("Unterminated quoted string") }
            pos += 1
            switch b {
            case IMAPChar.dquote:
                return out
            case IMAPChar.backslash:
                guard let e = peek, e == IMAPChar.dquote || e == IMAPChar.backslash else {
                    throw ParseFailure("Invalid escape in quoted string")
                }
                pos += 1
                out.append(e)
            case 0, IMAPChar.cr, IMAPChar.lf:
                throw ParseFailure("Invalid character in quoted string")
            default:
                out.append(b)
            }
        }
    }

    /// A literal marker `{n}` / `{n+}` (and `~{n}` when `allowBinary`): size, synchronizing, binary.
    mutating func literalMarker(allowBinary: Bool = false) throws(ParseFailure) -> (size: Int, sync: Bool, binary: Bool) {
        let binary = allowBinary && skip(IMAPChar.tilde)
        try expect(IMAPChar.openBrace, "Expected a literal")
        let digits = take(while: IMAPChar.isDigit)
        guard !digits.isEmpty, digits.count <= 12 else { throw ParseFailure("Invalid literal size") }
        var n = 0
        for d in digits { n = n * 10 + Int(d - 0x30) }
        let nonSync = skip(IMAPChar.plus)
        try expect(IMAPChar.closeBrace, "Invalid literal")
        return (n, !nonSync, binary)
    }

    /// `literal`: `{n}` or `{n+}`, CRLF (or a bare LF), n bytes (no NUL).
    mutating func literal() throws(ParseFailure) -> [UInt8] {
        let marker = try literalMarker()
        _ = skip(IMAPChar.cr)
        try expect(IMAPChar.lf, "Expected CRLF after literal size")
        guard marker.size <= bytes.count - pos else { throw ParseFailure("Truncated literal") }
        guard marker.size <= limits.maxInlineLiteral else { throw ParseFailure("Literal too large") }
        let out = Array(bytes[pos ..< pos + marker.size])
        if out.contains(0) { throw ParseFailure("NUL in literal") }
        pos += marker.size
        return out
    }

    /// `string = quoted / literal`.
    mutating func string() throws(ParseFailure) -> [UInt8] {
        switch peek {
        case IMAPChar.dquote: return try quoted()
        case IMAPChar.openBrace: return try literal()
        default: throw ParseFailure("Expected a string")
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    mutating func astring(_ message: @autoclosure () -> String = "Expected a string") throws(ParseFailure) -> [UInt8] {
        switch peek {
        case IMAPChar.dquote, IMAPChar.openBrace: return try string()
        default:
            let a = take(while: IMAPChar.isAstringChar)
            guard !a.isEmpty else { throw ParseFailure(message()) }
            return Array(a)
        }
    }

    mutating func astringText(_ message: @autoclosure () -> String = "Expected a string") throws(ParseFailure) -> String {
        String(decoding: try astring(message()), as: UTF8.self)
    }

    /// `nstring = string / nil`.
    mutating func nstring() throws(ParseFailure) -> [UInt8]? {
        if skipKeyword("NIL") { return nil }
        return try string()
    }

    /// `mailbox = "INBOX" / astring`: INBOX in any case is "INBOX"; modified UTF-7 is decoded
    /// (a name that is not valid modified UTF-7 is kept as sent).
    mutating func mailbox(_ message: @autoclosure () -> String = "Missing mailbox name") throws(ParseFailure) -> String {
        guard !atEnd, peek != IMAPChar.space else { throw ParseFailure(message()) }
        return Self.mailboxName(try astring(message()))
    }

    static func mailboxName(_ raw: [UInt8]) -> String {
        let s = String(decoding: raw, as: UTF8.self)
        if s.utf8.count == 5, s.uppercased() == "INBOX" { return "INBOX" }
        return ModifiedUTF7.decode(s) ?? s
    }

    /// `list-mailbox = 1*list-char / string`, decoded like a mailbox name.
    mutating func listMailbox() throws(ParseFailure) -> String {
        switch peek {
        case IMAPChar.dquote, IMAPChar.openBrace: return Self.mailboxName(try string())
        default:
            let a = take(while: IMAPChar.isListChar)
            guard !a.isEmpty else { throw ParseFailure("Missing mailbox pattern") }
            return Self.mailboxName(Array(a))
        }
    }

    // MARK: numbers

    /// Digits as an unsigned value up to `max`, or a failure with `message`.
    mutating func digits(max: UInt64, _ message: @autoclosure () -> String) throws(ParseFailure) -> UInt64 {
        let d = take(while: IMAPChar.isDigit)
        guard !d.isEmpty, d.count <= 20 else { throw ParseFailure(message()) }
        var n: UInt64 = 0
        for c in d {
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2 else { throw ParseFailure(message()) }
            n = a
        }
        guard n <= max else { throw ParseFailure(message()) }
        return n
    }

    /// `number` (0 … 2^32-1).
    mutating func number(_ message: @autoclosure () -> String = "Invalid number") throws(ParseFailure) -> UInt32 {
        UInt32(try digits(max: UInt64(UInt32.max), message()))
    }
    /// `nz-number` (1 … 2^32-1).
    mutating func nzNumber(_ message: @autoclosure () -> String = "Invalid number") throws(ParseFailure) -> UInt32 {
        let n = try number(message())
        guard n > 0 else { throw ParseFailure(message()) }
        return n
    }
    /// `number64` / `mod-sequence-valzer` (0 … 2^63-1).
    mutating func number64(_ message: @autoclosure () -> String = "Invalid number") throws(ParseFailure) -> UInt64 {
        try digits(max: UInt64(Int64.max), message())
    }

    // MARK: sets, flags, dates

    /// `sequence-set` (with RFC 5182 `$`).
    mutating func sequenceSet() throws(ParseFailure) -> SequenceSet {
        var set = SequenceSet([])
        repeat {
            if skip(0x24) {  // "$"
                set.lastSearchResult = true
            } else {
                let a = try seqNumber()
                if skip(0x3A) {  // ":"
                    set.ranges.append(SequenceRange(a, try seqNumber()))
                } else {
                    set.ranges.append(SequenceRange(a))
                }
            }
            if set.ranges.count > limits.maxListItems { throw ParseFailure("Sequence set too long") }
        } while skip(0x2C)  // ","
        return set
    }

    private mutating func seqNumber() throws(ParseFailure) -> SequenceBound {
        if skip(0x2A) { return .star }
        return .number(try nzNumber("Invalid sequence set"))
    }

    /// `flag` (and `\*` / `\Recent` where the caller allows them; it checks).
    mutating func flag() throws(ParseFailure) -> IMAPFlag {
        if skip(IMAPChar.backslash) {
            if skip(0x2A) { return .wildcard }
            let name = try atom("Invalid flag")
            switch name.uppercased() {
            case "ANSWERED": return .answered
            case "FLAGGED": return .flagged
            case "DELETED": return .deleted
            case "SEEN": return .seen
            case "DRAFT": return .draft
            case "RECENT": return .recent
            default: return .extensionFlag(name)
            }
        }
        return .keyword(try atom("Invalid flag"))
    }

    /// A flag a client may set (no `\Recent`, no `\*`).
    mutating func storeFlag() throws(ParseFailure) -> IMAPFlag {
        let f = try flag()
        switch f {
        case .recent: throw ParseFailure("\\Recent cannot be set")
        case .wildcard: throw ParseFailure("Invalid flag \\*")
        default:
            try countItem()
            return f
        }
    }

    /// `flag-list = "(" [flag *(SP flag)] ")"`.
    mutating func flagList() throws(ParseFailure) -> [IMAPFlag] {
        try expect(IMAPChar.openParen, "Expected a flag list")
        var flags: [IMAPFlag] = []
        if skip(IMAPChar.closeParen) { return flags }
        repeat { flags.append(try storeFlag()) } while optionalSpace()
        try expect(IMAPChar.closeParen, "Invalid flag list")
        return flags
    }

    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `date-month`.
    mutating func month() throws(ParseFailure) -> Int {
        guard pos + 3 <= bytes.count else { throw ParseFailure("Invalid date") }
        let m = String(decoding: bytes[pos ..< pos + 3], as: UTF8.self).uppercased()
        guard let i = Self.months.firstIndex(of: m) else { throw ParseFailure("Invalid date") }
        pos += 3
        return i + 1
    }

    /// `date = date-text / DQUOTE date-text DQUOTE`; date-text = 1*2DIGIT "-" month "-" 4DIGIT.
    mutating func date() throws(ParseFailure) -> IMAPDate {
        let q = skip(IMAPChar.dquote)
        let dd = take(while: IMAPChar.isDigit)
        guard (1 ... 2).contains(dd.count) else { throw ParseFailure("Invalid date") }
        let day = dd.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        try expect(0x2D, "Invalid date")
        let month = try month()
        try expect(0x2D, "Invalid date")
        let yy = take(while: IMAPChar.isDigit)
        guard yy.count == 4 else { throw ParseFailure("Invalid date") }
        let year = yy.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard day >= 1, day <= Self.daysIn(month: month, year: year) else { throw ParseFailure("Invalid date") }
        if q { try expect(IMAPChar.dquote, "Invalid date") }
        return IMAPDate(year: year, month: month, day: day)
    }

    /// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`.
    mutating func dateTime() throws(ParseFailure) -> Date {
        let bad = "Invalid date-time"
        try expect(IMAPChar.dquote, bad)
        _ = skip(IMAPChar.space)  // date-day-fixed = (SP DIGIT) / 2DIGIT
        let dd = take(while: IMAPChar.isDigit)
        guard (1 ... 2).contains(dd.count) else { throw ParseFailure(bad) }
        let day = dd.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        try expect(0x2D, bad)
        let month = try month()
        try expect(0x2D, bad)
        let year = try fixedDigits(4, bad)
        try space(bad)
        let hour = try fixedDigits(2, bad)
        try expect(0x3A, bad)
        let minute = try fixedDigits(2, bad)
        try expect(0x3A, bad)
        let second = try fixedDigits(2, bad)
        try space(bad)
        let sign: Int
        if skip(0x2B) { sign = 1 } else if skip(0x2D) { sign = -1 } else { throw ParseFailure(bad) }
        let zh = try fixedDigits(2, bad), zm = try fixedDigits(2, bad)
        try expect(IMAPChar.dquote, bad)
        guard day >= 1, day <= Self.daysIn(month: month, year: year), hour < 24, minute < 60, second <= 60,
              zh < 24, zm < 60 else { throw ParseFailure(bad) }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - sign * (zh * 3600 + zm * 60)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private mutating func fixedDigits(_ count: Int, _ message: String) throws(ParseFailure) -> Int {
        guard pos + count <= bytes.count else { throw ParseFailure(message) }
        var n = 0
        for i in 0 ..< count {
            let b = bytes[pos + i]
            guard IMAPChar.isDigit(b) else { throw ParseFailure(message) }
            n = n * 10 + Int(b - 0x30)
        }
        pos += count
        return n
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

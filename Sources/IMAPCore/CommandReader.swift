import Foundation
import MIMEParser

/// A parse failure inside one command; becomes `IMAPParseError` with the command's tag.
struct ParseFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Cursor over one command's bytes with the RFC 3501 §9 building blocks. Every read checks its
/// bounds; numbers are range-checked; nesting is limited.
struct CommandReader {
    let bytes: [UInt8]
    var pos = 0
    let limits: IMAPLimits
    var depth = 0
    var items = 0
    /// Mailbox names are UTF-8 on the wire, not modified UTF-7: the client enabled UTF8=ACCEPT
    /// (RFC 9755) or IMAP4rev2 (RFC 9051 §5.1).
    var utf8Names = false

    init(_ bytes: [UInt8], limits: IMAPLimits, utf8Names: Bool = false) {
        self.bytes = bytes; self.limits = limits; self.utf8Names = utf8Names
    }

    var atEnd: Bool { pos >= bytes.count }
    func peek(_ offset: Int = 0) -> UInt8? { pos + offset < bytes.count ? bytes[pos + offset] : nil }

    mutating func take(_ c: UInt8) -> Bool {
        if peek() == c { pos += 1; return true }
        return false
    }
    mutating func expect(_ c: UInt8, _ what: String) throws(ParseFailure) {
        guard take(c) else { throw ParseFailure("Expected \(what)") }
    }
    mutating func sp() throws(ParseFailure) { try expect(32, "a space") }
    /// The space before a required argument: "Missing mailbox name" rather than "Expected a space".
    mutating func argument(_ what: String) throws(ParseFailure) {
        if atEnd || (peek() == 32 && pos + 1 >= bytes.count) { throw ParseFailure("Missing \(what)") }
        try sp()
    }
    mutating func end() throws(ParseFailure) {
        guard atEnd else { throw ParseFailure("Unexpected extra arguments") }
    }
    mutating func countItem() throws(ParseFailure) {
        items += 1
        if items > limits.maxListItems { throw ParseFailure("Too many items") }
    }
    mutating func enter() throws(ParseFailure) {
        depth += 1
        if depth > limits.maxNesting { throw ParseFailure("Too deeply nested") }
    }
    mutating func leave() { depth -= 1 }

    /// Case-insensitive match of an upper-case word, consumed when it matches.
    mutating func takeWord(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count else { return false }
        for (i, c) in w.enumerated() {
            var b = bytes[pos + i]
            if b >= 97 && b <= 122 { b -= 32 }
            if b != c { return false }
        }
        pos += w.count
        return true
    }

    /// 1*ATOM-CHAR, plus `]` when `allowBracket` (ASTRING-CHAR).
    mutating func atom(allowBracket: Bool = false) throws(ParseFailure) -> String {
        let start = pos
        while let c = peek(), allowBracket ? IMAPGrammar.isAStringChar(c) : IMAPGrammar.isAtomChar(c) { pos += 1 }
        guard pos > start else { throw ParseFailure("Expected an atom") }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    /// An atom-like word of letters, digits, `.`, `-`, `=` (command names, search keys, options), upper-cased.
    mutating func word() throws(ParseFailure) -> String {
        let start = pos
        while let c = peek(), (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "=") || c == UInt8(ascii: "_") {
            pos += 1
        }
        guard pos > start, pos - start <= 64 else { throw ParseFailure("Expected a keyword") }
        return String(decoding: bytes[start..<pos], as: UTF8.self).uppercased()
    }

    mutating func quoted() throws(ParseFailure) -> [UInt8] {
        try expect(UInt8(ascii: "\""), "a quoted string")
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw ParseFailure("Unterminated quoted string") }
            pos += 1
            switch c {
            case UInt8(ascii: "\""): return out
            case UInt8(ascii: "\\"):
                guard let e = peek(), e == UInt8(ascii: "\\") || e == UInt8(ascii: "\"") else {
                    throw ParseFailure("Invalid escape in quoted string")
                }
                pos += 1
                out.append(e)
            case 13, 10, 0: throw ParseFailure("Invalid character in quoted string")
            default: out.append(c)
            }
        }
    }

    /// `{n}` / `{n+}` / `~{n}` CRLF and n bytes (the framer keeps the CRLF after the marker).
    mutating func literal() throws(ParseFailure) -> [UInt8] {
        let binary = take(UInt8(ascii: "~"))
        try expect(UInt8(ascii: "{"), "a literal")
        var n = 0
        var digits = 0
        while let c = peek(), c >= 48, c <= 57 {
            n = n * 10 + Int(c - 48); digits += 1; pos += 1
            if digits > 12 { throw ParseFailure("Literal too large") }
        }
        guard digits > 0 else { throw ParseFailure("Invalid literal size") }
        _ = take(UInt8(ascii: "+"))
        try expect(UInt8(ascii: "}"), "}")
        _ = take(13)
        guard take(10) else { throw ParseFailure("Literal must be followed by CRLF") }
        guard pos + n <= bytes.count else { throw ParseFailure("Truncated literal") }
        let content = Array(bytes[pos..<(pos + n)])
        if !binary, content.contains(0) { throw ParseFailure("NUL in a literal (use ~{n} for binary data)") }
        pos += n
        return content
    }

    mutating func string() throws(ParseFailure) -> [UInt8] {
        switch peek() {
        case UInt8(ascii: "\""): return try quoted()
        case UInt8(ascii: "{"), UInt8(ascii: "~"): return try literal()
        default: throw ParseFailure("Expected a string")
        }
    }

    mutating func astring() throws(ParseFailure) -> [UInt8] {
        switch peek() {
        case UInt8(ascii: "\""), UInt8(ascii: "{"): return try string()
        default: return Array(try atom(allowBracket: true).utf8)
        }
    }
    mutating func astringText() throws(ParseFailure) -> String { String(decoding: try astring(), as: UTF8.self) }

    mutating func nstring() throws(ParseFailure) -> [UInt8]? {
        if peek() == UInt8(ascii: "N") || peek() == UInt8(ascii: "n"), takeWord("NIL") { return nil }
        return try string()
    }

    /// number (RFC 3501) or mod-sequence value (RFC 7162): at most 2^63-1.
    mutating func number() throws(ParseFailure) -> UInt64 {
        var n: UInt64 = 0
        var digits = 0
        while let c = peek(), c >= 48, c <= 57 {
            if digits >= 19 { throw ParseFailure("Number too large") }
            n = n * 10 + UInt64(c - 48); digits += 1; pos += 1
        }
        guard digits > 0 else { throw ParseFailure("Expected a number") }
        guard n <= UInt64(Int64.max) else { throw ParseFailure("Number too large") }
        return n
    }

    mutating func number32() throws(ParseFailure) -> UInt32 {
        let n = try number()
        guard n <= UInt64(UInt32.max) else { throw ParseFailure("Number too large") }
        return UInt32(n)
    }

    mutating func nzNumber32() throws(ParseFailure) -> UInt32 {
        let n = try number32()
        guard n > 0 else { throw ParseFailure("Expected a non-zero number") }
        return n
    }

    /// mailbox: INBOX (any case) or an astring, modified UTF-7 decoded (UTF-8 and NFC-normalised
    /// when `utf8Names`).
    mutating func mailbox() throws(ParseFailure) -> String {
        Self.mailboxName(try nameText())
    }

    static func mailboxName(_ decoded: String) -> String {
        if decoded.uppercased() == "INBOX" { return "INBOX" }
        if decoded.uppercased().hasPrefix("INBOX/") { return "INBOX" + decoded.dropFirst(5) }
        return decoded
    }

    /// A name as the client meant it: modified UTF-7 decoded (a name that is not valid modified
    /// UTF-7 is taken as written, as before), or, with `utf8Names`, valid UTF-8 in Unicode
    /// Normalization Form C (RFC 9051 §5.1: a de-normalised name opens the same mailbox).
    func decodedName(_ raw: [UInt8]) throws(ParseFailure) -> String {
        guard utf8Names else {
            let text = String(decoding: raw, as: UTF8.self)
            return ModifiedUTF7.decode(text) ?? text
        }
        guard let text = String(validating: raw, as: UTF8.self) else { throw ParseFailure("Mailbox name is not valid UTF-8") }
        return raw.allSatisfy({ $0 < 0x80 }) ? text : text.precomposedStringWithCanonicalMapping
    }

    /// A mailbox name's astring; with `utf8Names` an atom may hold UTF-8 too (clients such as
    /// Python's imaplib send `CREATE Entwürfe` unquoted once UTF-8 is on).
    mutating func nameText() throws(ParseFailure) -> String {
        guard utf8Names, let c = peek(), c != UInt8(ascii: "\""), c != UInt8(ascii: "{") else {
            return try decodedName(try astring())
        }
        let start = pos
        while let c = peek(), IMAPGrammar.isAStringChar(c) || c >= 0x80 { pos += 1 }
        guard pos > start else { throw ParseFailure("Expected an atom") }
        return try decodedName(Array(bytes[start..<pos]))
    }

    /// list-mailbox: 1*list-char or a string.
    mutating func listMailbox() throws(ParseFailure) -> String {
        if peek() == UInt8(ascii: "\"") || peek() == UInt8(ascii: "{") {
            return try decodedName(try string())
        }
        let start = pos
        while let c = peek(), IMAPGrammar.isListChar(c) || (utf8Names && c >= 0x80) { pos += 1 }
        guard pos > start else { throw ParseFailure("Expected a mailbox pattern") }
        return try decodedName(Array(bytes[start..<pos]))
    }

    // MARK: sequence sets

    mutating func sequenceSet() throws(ParseFailure) -> SequenceSet {
        if take(UInt8(ascii: "$")) { return .lastResult }
        var ranges: [SequenceRange] = []
        repeat {
            try countItem()
            let a = try sequenceBound()
            if take(UInt8(ascii: ":")) {
                ranges.append(SequenceRange(a, try sequenceBound()))
            } else {
                ranges.append(SequenceRange(a))
            }
        } while take(UInt8(ascii: ","))
        return SequenceSet(ranges)
    }

    mutating func sequenceBound() throws(ParseFailure) -> SequenceBound {
        if take(UInt8(ascii: "*")) { return .star }
        guard let c = peek(), c >= 48, c <= 57 else { throw ParseFailure("Invalid sequence set") }
        return .number(try nzNumber32())
    }

    var startsSequenceSet: Bool {
        guard let c = peek() else { return false }
        return (c >= 48 && c <= 57) || c == UInt8(ascii: "*") || c == UInt8(ascii: "$")
    }

    // MARK: flags

    mutating func flag() throws(ParseFailure) -> IMAPFlag {
        if take(UInt8(ascii: "\\")) {
            if take(UInt8(ascii: "*")) { return .wildcard }
            let name = try atom()
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
        return .keyword(try atom())
    }

    /// A flag a client may set (STORE, APPEND): not \Recent, not \*.
    mutating func storableFlag() throws(ParseFailure) -> IMAPFlag {
        let f = try flag()
        if f == .recent || f == .wildcard { throw ParseFailure("\(f.wire) cannot be set") }
        return f
    }

    mutating func storableFlagList() throws(ParseFailure) -> [IMAPFlag] {
        let flags = try flagList()
        if let bad = flags.first(where: { $0 == .recent || $0 == .wildcard }) { throw ParseFailure("\(bad.wire) cannot be set") }
        return flags
    }

    mutating func flagList() throws(ParseFailure) -> [IMAPFlag] {
        try expect(UInt8(ascii: "("), "(")
        var flags: [IMAPFlag] = []
        if take(UInt8(ascii: ")")) { return flags }
        repeat {
            try countItem()
            flags.append(try flag())
        } while take(32)
        try expect(UInt8(ascii: ")"), ")")
        return flags
    }

    // MARK: dates

    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    mutating func month() throws(ParseFailure) -> Int {
        guard pos + 3 <= bytes.count else { throw ParseFailure("Invalid date") }
        let m = String(decoding: bytes[pos..<(pos + 3)], as: UTF8.self).uppercased()
        guard let i = Self.months.firstIndex(of: m) else { throw ParseFailure("Invalid month") }
        pos += 3
        return i + 1
    }

    mutating func digits(_ min: Int, _ max: Int) throws(ParseFailure) -> Int {
        var n = 0, count = 0
        while count < max, let c = peek(), c >= 48, c <= 57 { n = n * 10 + Int(c - 48); count += 1; pos += 1 }
        guard count >= min else { throw ParseFailure("Invalid date") }
        return n
    }

    /// date = date-text / DQUOTE date-text DQUOTE; date-text = day "-" month "-" year.
    mutating func date() throws(ParseFailure) -> IMAPDate {
        let quotedDate = take(UInt8(ascii: "\""))
        let day = try digits(1, 2)
        try expect(UInt8(ascii: "-"), "-")
        let month = try month()
        try expect(UInt8(ascii: "-"), "-")
        let year = try digits(4, 4)
        if quotedDate { try expect(UInt8(ascii: "\""), "\"") }
        guard day >= 1, day <= Self.daysIn(month: month, year: year) else { throw ParseFailure("Invalid date") }
        return IMAPDate(year: year, month: month, day: day)
    }

    /// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE.
    mutating func dateTime() throws(ParseFailure) -> Date {
        try expect(UInt8(ascii: "\""), "a date-time")
        _ = take(32)
        let day = try digits(1, 2)
        try expect(UInt8(ascii: "-"), "-")
        let month = try month()
        try expect(UInt8(ascii: "-"), "-")
        let year = try digits(4, 4)
        try sp()
        let h = try digits(2, 2); try expect(UInt8(ascii: ":"), ":")
        let m = try digits(2, 2); try expect(UInt8(ascii: ":"), ":")
        let s = try digits(2, 2)
        try sp()
        let sign: Int
        if take(UInt8(ascii: "+")) { sign = 1 } else if take(UInt8(ascii: "-")) { sign = -1 } else { throw ParseFailure("Invalid zone") }
        let zone = try digits(4, 4)
        try expect(UInt8(ascii: "\""), "\"")
        guard day >= 1, day <= Self.daysIn(month: month, year: year), h < 24, m < 60, s < 61, zone % 100 < 60 else {
            throw ParseFailure("Invalid date-time")
        }
        let offset = sign * ((zone / 100) * 3600 + (zone % 100) * 60)
        let days = CivilDate.daysSinceEpoch(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: Double(days * 86400 + h * 3600 + m * 60 + s - offset))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

import Foundation

/// RFC 5322 date-time, including obsolete forms: optional day name, 2/3-digit years, optional seconds,
/// named zones (UT, GMT, EST…, military letters taken as +0000 per RFC 5322 §4.3), comments.
enum DateParser {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    static func parse(_ value: [UInt8]) -> Date? { parseZoned(value)?.date }

    /// The instant, and the calendar day as written in the value's own zone (days since
    /// 1970-01-01): `Mon, 1 Dec 2025 23:30:00 -0500` is 1 December, not 2 December as in UTC.
    static func parseZoned(_ value: [UInt8]) -> (date: Date, writtenDay: Int)? {
        parseWritten(value).map { ($0.date, $0.writtenDay) }
    }

    static func parseWritten(_ value: [UInt8]) -> MessageDate? {
        // tokenize into words: digits, letters, and the signs; comments dropped
        var lx = Lexer(value)
        var tokens: [String] = []
        while true {
            lx.skipCFWS()
            guard let c = lx.peek else { break }
            if c == 44 { lx.pos += 1; continue }
            let s = lx.pos
            if c == 43 || c == 45 { lx.pos += 1 }
            while let d = lx.peek, !isWSP(d), d != 44, d != 40, d != CR, d != LF { lx.pos += 1 }
            tokens.append(String(decoding: value[s..<lx.pos], as: UTF8.self))
            if tokens.count > 12 { break }
        }
        var i = 0
        if i < tokens.count, let f = tokens[i].first, f.isLetter { i += 1 }   // day-of-week
        // day month year  (also tolerate "month day year")
        guard i + 2 < tokens.count else { return nil }
        var day: Int? = Int(tokens[i])
        var monthIdx = monthIndex(tokens[i + 1])
        if day == nil, let m = monthIndex(tokens[i]), let d = Int(tokens[i + 1]) { monthIdx = m; day = d }
        guard let day, let month = monthIdx, (1...31).contains(day) else { return nil }
        // a year beyond 9999 would overflow the day arithmetic below (found by fuzzing)
        guard tokens[i + 2].count <= 4, var year = Int(tokens[i + 2]), year >= 0 else { return nil }
        let yearDigits = tokens[i + 2].count
        if yearDigits <= 2 { year += year < 50 ? 2000 : 1900 } else if yearDigits == 3 { year += 1900 }
        i += 3
        guard i < tokens.count else { return nil }
        let hms = tokens[i].split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 2 || hms.count == 3, let hh = Int(hms[0]), let mm = Int(hms[1]),
              (0...23).contains(hh), (0...59).contains(mm) else { return nil }
        let ss = hms.count == 3 ? Int(hms[2]) ?? -1 : 0
        guard (0...60).contains(ss) else { return nil }
        i += 1
        var offset = 0
        if i < tokens.count {
            let z = tokens[i]
            if let f = z.first, (f == "+" || f == "-"), z.count == 5, let v = Int(z.dropFirst()), v % 100 < 60 {
                let mins = (v / 100) * 60 + v % 100
                offset = f == "-" ? -mins : mins
            } else {
                switch z.uppercased() {
                case "UT", "UTC", "GMT", "Z": offset = 0
                case "EST": offset = -5 * 60
                case "EDT": offset = -4 * 60
                case "CST": offset = -6 * 60
                case "CDT": offset = -5 * 60
                case "MST": offset = -7 * 60
                case "MDT": offset = -6 * 60
                case "PST": offset = -8 * 60
                case "PDT": offset = -7 * 60
                default: offset = 0
                }
            }
        }
        let days = CivilDate.daysSinceEpoch(year: year, month: month, day: day)
        let secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset * 60
        return MessageDate(date: Date(timeIntervalSince1970: TimeInterval(secs)), offsetSeconds: offset * 60, writtenDay: days)
    }

    static func monthIndex(_ s: String) -> Int? {
        guard s.count >= 3 else { return nil }
        let p = s.prefix(3).lowercased()
        return months.firstIndex(of: p).map { $0 + 1 }
    }
}

/// An RFC 5322 date-time as it was written: the instant, and the zone it was written in.
public struct MessageDate: Sendable, Hashable {
    public var date: Date
    /// The written zone, east of UTC (`-0500` is -18 000; named zones as RFC 5322 §4.3 says).
    public var offsetSeconds: Int
    /// The calendar day as written, in that zone (days since 1970-01-01).
    public var writtenDay: Int

    /// Parses a Date:-style value, obsolete forms and comments included; nil when it is not one.
    public static func parse(_ value: [UInt8]) -> MessageDate? { DateParser.parseWritten(value) }
}

/// Calendar arithmetic without Calendar (proleptic Gregorian, UTC), shared by the date parsers.
public enum CivilDate {
    /// Days since 1970-01-01 (Howard Hinnant's days-from-civil algorithm).
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// (year, month, day) of a day count since 1970-01-01 (civil-from-days).
    public static func date(daysSinceEpoch z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

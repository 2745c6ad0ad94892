import Foundation

/// Dates in the directory: ISO 8601 UTC strings with milliseconds (`2026-11-22T08:15:00.123Z`).
///
/// Record initialisers and setters round their dates to the millisecond, so that a record read
/// back from the store is `==` to the record that was written.
public enum DirectoryDate {
    public static func normalized(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }

    public static func string(_ date: Date) -> String {
        let ms = milliseconds(date)
        let seconds = floorDiv(ms, 1000)
        let fraction = ms - seconds * 1000
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(style)  // "…T08:15:00Z"
        let digits = String(fraction)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Parses what `string(_:)` writes (and the same without a fraction).
    public static func date(_ text: String) -> Date? {
        guard text.hasSuffix("Z") else { return nil }
        var whole = Substring(text.dropLast())
        var fraction: Int64 = 0
        if let dot = whole.lastIndex(of: ".") {
            let digits = whole[whole.index(after: dot)...]
            guard (1...3).contains(digits.count), digits.allSatisfy(\.isASCII), let value = Int64(digits) else { return nil }
            fraction = value * [1, 100, 10, 1][digits.count]
            whole = whole[..<dot]
        }
        guard let seconds = try? style.parse(String(whole) + "Z") else { return nil }
        return Date(timeIntervalSince1970: Double(Int64(seconds.timeIntervalSince1970.rounded()) * 1000 + fraction) / 1000)
    }

    private static let style = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)

    private static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}

import Foundation

/// Human sizes for quotas and limits.
///
/// `parse` accepts a non-negative number with an optional fraction and an optional unit, any case,
/// optional space: `1024`, `1024B`, `500K`, `500M`, `10G`, `2T`, `10GiB`, `1.5GB`.
/// Single-letter units and IEC units (`KiB`, `MiB`, `GiB`, `TiB`, `PiB`) are binary (1 K = 1024 B),
/// as in Dovecot and Postfix sizes; `KB`, `MB`, `GB`, `TB`, `PB` are decimal SI (1 GB = 10⁹ B).
/// A fractional result is rounded to the nearest byte.
public enum ByteSize {
    public struct ParseError: Error, CustomStringConvertible, Sendable, Hashable {
        public let input: String
        public let reason: String
        public var description: String { "invalid size '\(AddressError.printable(input))': \(reason)" }
    }

    private static let units: [String: Int64] = [
        "": 1, "b": 1,
        "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50,
        "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
        "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000, "pb": 1_000_000_000_000_000,
    ]

    public static func parse(_ text: String) throws -> Int64 {
        func fail(_ reason: String) -> ParseError { ParseError(input: text, reason: reason) }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw fail("empty") }
        let scalars = Array(trimmed.unicodeScalars)
        var index = 0
        var integer = ""
        var fraction = ""
        while index < scalars.count, ("0"..."9").contains(scalars[index]) {
            integer.unicodeScalars.append(scalars[index]); index += 1
        }
        if index < scalars.count, scalars[index] == "." {
            index += 1
            while index < scalars.count, ("0"..."9").contains(scalars[index]) {
                fraction.unicodeScalars.append(scalars[index]); index += 1
            }
            guard !fraction.isEmpty else { throw fail("missing digits after the decimal point") }
        }
        guard !integer.isEmpty || !fraction.isEmpty else {
            throw fail(trimmed.hasPrefix("-") ? "negative" : "expected a number")
        }
        while index < scalars.count, scalars[index] == " " { index += 1 }
        let unit = String(String.UnicodeScalarView(scalars[index...])).lowercased()
        guard let multiplier = units[unit] else {
            throw fail("unknown unit '\(unit)' (use B, K, M, G, T, KiB…, or KB…)")
        }
        guard fraction.count <= 18 else { throw fail("too many decimal places") }
        guard let whole = Int64(integer.isEmpty ? "0" : integer) else { throw fail("too large") }
        let (wholeBytes, overflow) = whole.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw fail("too large") }
        var fractionBytes: Int64 = 0
        if !fraction.isEmpty {
            // Exact: digits × multiplier / 10^digits, rounded half up, in 128-bit arithmetic.
            let digits = Int64(fraction)!
            var scale: Int64 = 1
            for _ in 0..<fraction.count { scale *= 10 }
            let (high, low) = digits.multipliedFullWidth(by: multiplier)
            let (quotient, remainder) = scale.dividingFullWidth((high, low))
            fractionBytes = quotient + (remainder * 2 >= scale ? 1 : 0)
        }
        let (total, overflowTotal) = wholeBytes.addingReportingOverflow(fractionBytes)
        guard !overflowTotal else { throw fail("too large") }
        return total
    }

    /// Binary units with IEC names, at most two decimals, trailing zeros dropped:
    /// `0 B`, `1023 B`, `1 KiB`, `1.5 GiB`, `500 MiB`. `parse(format(n))` is `n` when `n` is an exact
    /// multiple of its unit, and within 0.5 % otherwise.
    public static func format(_ bytes: Int64) -> String {
        let sign = bytes < 0 ? "-" : ""
        let magnitude = bytes.magnitude
        let names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var unit = 0
        while unit + 1 < names.count, magnitude >= UInt64(1) << (10 * UInt64(unit + 1)) { unit += 1 }
        if unit == 0 { return "\(sign)\(magnitude) B" }
        let divisor = UInt64(1) << (10 * UInt64(unit))
        // Hundredths, rounded half up, in integers (no floating-point surprises).
        let wide = UInt128(magnitude), wideDivisor = UInt128(divisor)
        let hundredths = (wide * 100 + wideDivisor / 2) / wideDivisor
        var number = "\(hundredths / 100)"
        let cents = hundredths % 100
        if cents != 0 {
            number += cents % 10 == 0 ? ".\(cents / 10)" : (cents < 10 ? ".0\(cents)" : ".\(cents)")
        }
        return "\(sign)\(number) \(names[unit])"
    }
}

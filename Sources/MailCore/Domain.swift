import Foundation

/// A domain name as a mail server keys it: validated, lower-case, trailing dot removed, held in
/// both IDNA forms.
///
/// Accepts U-labels (`bücher.example`), A-labels (`xn--bcher-kva.example`) or a mix, in any case.
/// The mapping is the practical subset of IDNA2008 / UTS #46 that needs no Unicode tables beyond
/// what Foundation has: lower-case, then NFC; a label that would change under compatibility
/// normalisation (full-width letters, ligatures…) is refused rather than silently mapped.
/// Labels are LDH (letters, digits, hyphen; no hyphen first or last), at most 63 octets each in
/// A-label form, and the whole name is at most 253 octets. An `xn--` label must decode, and must
/// encode back to itself. Address literals (`[192.0.2.1]`) are not domains here.
///
/// Equality, hashing and ordering use `ascii`.
public struct Domain: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public static let maxLength = 253
    public static let maxLabelLength = 63

    /// Canonical lower-case A-label form (`xn--bcher-kva.example`): the storage and lookup key.
    public let ascii: String
    /// U-label form for display (`bücher.example`).
    public let unicode: String

    public init(_ text: String) throws(AddressError) {
        func fail(_ reason: String) -> AddressError { AddressError(.domain, text, reason) }

        // Refuse absurd input before any per-character work (a domain is at most 253 octets as
        // A-labels; a U-label form may be longer in UTF-8, but not 4 times longer).
        guard text.utf8.count <= 4 * Self.maxLength else { throw fail("longer than \(Self.maxLength) octets") }
        var name = text
        // UTS #46 treats the ideographic and full-width full stops as dots.
        for dot in ["\u{3002}", "\u{FF0E}", "\u{FF61}"] where name.contains(dot) {
            name = name.replacingOccurrences(of: dot, with: ".")
        }
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty else { throw fail("empty domain") }
        if name.hasPrefix("[") { throw fail("address literals are not supported") }

        var asciiLabels: [String] = []
        var unicodeLabels: [String] = []
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            let (a, u) = try Self.label(String(label), fail)
            asciiLabels.append(a)
            unicodeLabels.append(u)
        }
        if asciiLabels.count > 1, let top = asciiLabels.last, top.allSatisfy(\.isNumber) {
            throw fail("top-level label '\(top)' is all-numeric")
        }
        let ascii = asciiLabels.joined(separator: ".")
        guard ascii.utf8.count <= Self.maxLength else {
            throw fail("longer than \(Self.maxLength) octets")
        }
        self.ascii = ascii
        self.unicode = unicodeLabels.joined(separator: ".")
    }

    /// One label in (A-label, U-label) form.
    private static func label(_ raw: String, _ fail: (String) -> AddressError) throws(AddressError) -> (String, String) {
        guard !raw.isEmpty else { throw fail("empty label") }
        if raw.unicodeScalars.allSatisfy(\.isASCII) {
            let lower = raw.lowercased()
            try checkLDH(lower, fail)
            guard lower.hasPrefix("xn--") else { return (lower, lower) }
            // An A-label: it must decode to a valid U-label that encodes back to exactly this.
            guard let decoded = Punycode.decode(String(lower.dropFirst(4))), !decoded.isEmpty,
                  !decoded.allSatisfy(\.isASCII)
            else { throw fail("label '\(lower)' is not valid Punycode") }
            var unicode = String.UnicodeScalarView()
            unicode.append(contentsOf: decoded)
            let uLabel = String(unicode)
            guard let (again, _) = try? uLabelToASCII(uLabel, fail), again == lower else {
                throw fail("label '\(lower)' does not decode to a valid U-label")
            }
            return (lower, uLabel)
        }
        let mapped = raw.lowercased().precomposedStringWithCanonicalMapping
        return try uLabelToASCII(mapped, fail)
    }

    /// A lower-case NFC label with non-ASCII characters → its `xn--` form.
    private static func uLabelToASCII(_ label: String, _ fail: (String) -> AddressError) throws(AddressError) -> (String, String) {
        // Punycode writes at least one character per code point: more than 59 cannot fit in 63 octets.
        guard label.unicodeScalars.count <= maxLabelLength - 4 || label.unicodeScalars.allSatisfy(\.isASCII) else {
            throw fail("label '\(label.prefix(20))…' is longer than \(maxLabelLength) octets in A-label form")
        }
        guard label == label.lowercased().precomposedStringWithCanonicalMapping else {
            throw fail("label '\(label)' is not in lower-case NFC form")
        }
        guard label == label.precomposedStringWithCompatibilityMapping else {
            throw fail("label '\(label)' contains compatibility characters")
        }
        for (index, scalar) in label.unicodeScalars.enumerated() {
            if scalar.isASCII {
                guard isLDH(scalar) else { throw fail("label '\(label)' contains '\(scalar)'") }
                continue
            }
            let props = scalar.properties
            switch props.generalCategory {
            case .lowercaseLetter, .otherLetter, .modifierLetter, .decimalNumber:
                break
            case .nonspacingMark, .spacingMark, .enclosingMark:
                if index == 0 { throw fail("label '\(label)' starts with a combining mark") }
            default:
                // Symbols, punctuation, spaces, controls, unassigned: IDNA2008 disallows them.
                throw fail("label '\(label)' contains a disallowed character U+\(String(scalar.value, radix: 16, uppercase: true))")
            }
        }
        if label.unicodeScalars.allSatisfy(\.isASCII) {
            try checkLDH(label, fail)
            return (label, label)
        }
        let first = label.unicodeScalars.first!, last = label.unicodeScalars.last!
        if first == "-" || last == "-" { throw fail("label '\(label)' starts or ends with a hyphen") }
        let chars = Array(label.unicodeScalars)
        if chars.count >= 4, chars[2] == "-", chars[3] == "-" {
            throw fail("label '\(label)' has hyphens in the third and fourth positions")
        }
        guard let encoded = Punycode.encode(label) else { throw fail("label '\(label)' cannot be encoded") }
        let aLabel = "xn--" + encoded
        guard aLabel.utf8.count <= maxLabelLength else {
            throw fail("label '\(label)' is longer than \(maxLabelLength) octets in A-label form")
        }
        return (aLabel, label)
    }

    private static func isLDH(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-": true
        default: false
        }
    }

    private static func checkLDH(_ label: String, _ fail: (String) -> AddressError) throws(AddressError) {
        if let bad = label.unicodeScalars.first(where: { !isLDH($0) }) {
            throw fail(bad == " " ? "contains a space" : "label '\(label)' contains '\(bad)'")
        }
        if label.hasPrefix("-") || label.hasSuffix("-") {
            throw fail("label '\(label)' starts or ends with a hyphen")
        }
        guard label.utf8.count <= maxLabelLength else {
            throw fail("label '\(label.prefix(20))…' is longer than \(maxLabelLength) octets")
        }
    }

    public var description: String { unicode }

    public static func == (lhs: Domain, rhs: Domain) -> Bool { lhs.ascii == rhs.ascii }
    public func hash(into hasher: inout Hasher) { hasher.combine(ascii) }
    public static func < (lhs: Domain, rhs: Domain) -> Bool { lhs.ascii < rhs.ascii }

    /// Encoded as one string (the U-label form); decoding accepts either form.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try Domain(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(unicode)
    }
}

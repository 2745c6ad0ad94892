import Foundation

/// A mailbox address, `local-part@domain` (RFC 5321 §4.1.2, RFC 5322 §3.4.1, RFC 6531/6532 for
/// UTF-8 local parts).
///
/// - The local part is a dot-atom (`hello.world`, `a+tag`, `ünïcode`) or a quoted string
///   (`"john doe"`). It is kept NFC-normalised, case preserved, in its simplest wire form: a quoted
///   string whose content is a valid dot-atom loses its quotes (`"abc"@x` is `abc@x`, RFC 5321
///   §4.1.2), otherwise only `"` and `\` stay escaped. At most 64 octets of UTF-8.
/// - The whole address (local part, `@`, A-label domain) is at most 254 octets.
/// - Comments, display names, angle brackets, whitespace and address literals are not accepted:
///   this is the address, not a header field.
///
/// Equality and hashing use `canonical`, so `Hello@Example.COM == hello@example.com`.
public struct EmailAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let maxLocalPartLength = 64
    public static let maxLength = 254

    /// NFC, case preserved, in wire form (quoted only when it has to be).
    public let localPart: String
    public let domain: Domain

    public init(_ text: String) throws(AddressError) {
        func fail(_ reason: String) -> AddressError { AddressError(.address, text, reason) }
        guard !text.isEmpty else { throw fail("empty address") }
        // Refuse absurd input before any per-character work.
        guard text.utf8.count <= 4 * Self.maxLength else { throw fail("longer than \(Self.maxLength) octets") }

        let local: String
        let domainText: Substring
        if text.hasPrefix("\"") {
            let (content, rest) = try Self.quotedString(text, fail)
            guard rest.hasPrefix("@") else {
                throw fail(rest.isEmpty ? "missing @" : "unexpected text after the quoted local part")
            }
            domainText = rest.dropFirst()
            local = content
        } else {
            guard let at = text.lastIndex(of: "@") else { throw fail("missing @") }
            let raw = text[..<at].precomposedStringWithCanonicalMapping
            try Self.checkDotAtom(raw, fail)
            local = raw
            domainText = text[text.index(after: at)...]
        }
        guard !domainText.isEmpty else { throw fail("missing domain") }
        let domain: Domain
        do {
            domain = try Domain(String(domainText))
        } catch {
            throw fail("domain: \(error.reason)")
        }
        let wireLocal = Self.wireForm(local)
        guard wireLocal.utf8.count <= Self.maxLocalPartLength else {
            throw fail("local part longer than \(Self.maxLocalPartLength) octets")
        }
        guard wireLocal.utf8.count + 1 + domain.ascii.utf8.count <= Self.maxLength else {
            throw fail("longer than \(Self.maxLength) octets")
        }
        self.localPart = wireLocal
        self.domain = domain
        self.canonical = wireLocal.lowercased().precomposedStringWithCanonicalMapping + "@" + domain.ascii
    }

    /// The lookup key: case-folded local part + `@` + `domain.ascii`.
    ///
    /// Case folding is Unicode lower-casing followed by NFC. (RFC 5321 lets a server treat local
    /// parts case-sensitively; Sealbox, like nearly every server, does not.)
    public let canonical: String

    /// `localPart@domain.unicode`, for display.
    public var description: String { localPart + "@" + domain.unicode }

    /// `localPart@domain.ascii`: the form for a non-SMTPUTF8 peer (the local part may still be UTF-8).
    public var asciiDomainForm: String { localPart + "@" + domain.ascii }

    /// `hello+tag@x` → `hello@x`. `nil` when the local part has no `+`, starts with `+`, or is quoted.
    public var subaddressBase: EmailAddress? {
        guard !localPart.hasPrefix("\""), let plus = localPart.firstIndex(of: "+"),
              plus != localPart.startIndex
        else { return nil }
        return try? EmailAddress(String(localPart[..<plus]) + "@" + domain.ascii)
    }

    /// The `+tag` part without the `+`, when there is one (see `subaddressBase`).
    public var subaddressTag: String? {
        guard subaddressBase != nil, let plus = localPart.firstIndex(of: "+") else { return nil }
        return String(localPart[localPart.index(after: plus)...])
    }

    public static func == (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.canonical == rhs.canonical }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }

    /// Encoded as one string (`description`); decoding accepts any form `init(_:)` does.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try EmailAddress(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: - Grammar

    /// RFC 5322 atext, plus any non-ASCII scalar that is not a control, separator or surrogate (RFC 6532).
    static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9": return true
            default: return "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(scalar)
            }
        }
        return isAllowedUTF8(scalar)
    }

    static func isAllowedUTF8(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .unassigned, .privateUse,
             .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return false
        default:
            return !scalar.properties.isNoncharacterCodePoint
        }
    }

    private static func isDotAtom(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { atom in
            !atom.isEmpty && atom.unicodeScalars.allSatisfy(isAtext)
        }
    }

    private static func checkDotAtom(_ text: String, _ fail: (String) -> AddressError) throws(AddressError) {
        guard !text.isEmpty else { throw fail("empty local part") }
        if text.hasPrefix(".") || text.hasSuffix(".") { throw fail("local part starts or ends with a dot") }
        if text.contains("..") { throw fail("local part has consecutive dots") }
        if let bad = text.unicodeScalars.first(where: { $0 != "." && !isAtext($0) }) {
            switch bad {
            case "@": throw fail("more than one @ (quote the local part)")
            case " ", "\t", "\r", "\n": throw fail("contains whitespace")
            default:
                throw fail("local part contains \(bad.isASCII && bad.value >= 0x20 && bad.value < 0x7F ? "'\(bad)'" : "U+\(String(bad.value, radix: 16, uppercase: true))")")
            }
        }
    }

    /// Parses `"…"` at the start of `text`: returns the unescaped, NFC content and what follows.
    private static func quotedString(_ text: String, _ fail: (String) -> AddressError) throws(AddressError) -> (String, Substring) {
        var content = String.UnicodeScalarView()
        let scalars = text.unicodeScalars
        var index = scalars.index(after: scalars.startIndex)
        while index < scalars.endIndex {
            let scalar = scalars[index]
            switch scalar {
            case "\"":
                let rest = Substring(scalars[scalars.index(after: index)...])
                let value = String(content).precomposedStringWithCanonicalMapping
                guard !value.isEmpty else { throw fail("empty local part") }
                return (value, rest)
            case "\\":
                index = scalars.index(after: index)
                guard index < scalars.endIndex else { throw fail("unterminated quoted local part") }
                let escaped = scalars[index]
                // RFC 5321 quoted-pairSMTP: %d92 %d32-126.
                guard escaped.value >= 0x20 && escaped.value <= 0x7E else {
                    throw fail("invalid escape in quoted local part")
                }
                content.append(escaped)
            default:
                // qtextSMTP: %d32-33 / %d35-91 / %d93-126, plus UTF-8 (RFC 6531).
                if scalar.isASCII {
                    guard scalar.value >= 0x20 && scalar.value <= 0x7E else {
                        throw fail("control character in quoted local part")
                    }
                } else if !isAllowedUTF8(scalar) {
                    throw fail("quoted local part contains U+\(String(scalar.value, radix: 16, uppercase: true))")
                }
                content.append(scalar)
            }
            index = scalars.index(after: index)
        }
        throw fail("unterminated quoted local part")
    }

    /// The simplest wire form of an (unescaped) local part: bare when it is a dot-atom, else quoted.
    static func wireForm(_ local: String) -> String {
        if isDotAtom(local) { return local }
        var out = "\""
        for scalar in local.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }
}

/// An IMAP section specifier (RFC 3501 §6.4.5 / RFC 9051 §6.4.5): a part number and what of it.
public struct IMAPSection: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case full
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        case mime
    }

    public var part: [Int]
    public var kind: Kind

    public init(part: [Int] = [], kind: Kind = .full) {
        self.part = part; self.kind = kind
    }

    /// Parses what is between the brackets of BODY[...], e.g. "", "1.2", "HEADER",
    /// "1.HEADER.FIELDS (From To)", "2.MIME", "TEXT". Returns nil for invalid syntax.
    public init?(imapSpec: String) {
        var s = Substring(imapSpec)
        var part: [Int] = []
        while let c = s.first, c.isASCII, c.isNumber {
            let digits = s.prefix { $0.isASCII && $0.isNumber }
            guard digits.count <= 9, let n = Int(digits), n > 0 else { return nil }
            part.append(n)
            s = s.dropFirst(digits.count)
            if s.first == "." { s = s.dropFirst() } else { break }
        }
        if s.isEmpty {
            if imapSpec.hasSuffix(".") { return nil }
            self.init(part: part, kind: .full); return
        }
        if !part.isEmpty && imapSpec[imapSpec.index(before: s.startIndex)] != "." { return nil }
        let upper = s.uppercased()
        switch upper {
        case "HEADER": self.init(part: part, kind: .header); return
        case "TEXT": self.init(part: part, kind: .text); return
        case "MIME":
            guard !part.isEmpty else { return nil }
            self.init(part: part, kind: .mime); return
        default: break
        }
        let not = upper.hasPrefix("HEADER.FIELDS.NOT")
        guard upper.hasPrefix("HEADER.FIELDS") else { return nil }
        var rest = s.dropFirst(not ? 17 : 13).drop { $0 == " " }
        guard rest.first == "(", rest.last == ")" else { return nil }
        rest = rest.dropFirst().dropLast()
        var names: [String] = []
        var cur = ""
        var inQuote = false
        for ch in rest {
            if ch == "\"" { inQuote.toggle(); continue }
            if ch == " " && !inQuote { if !cur.isEmpty { names.append(cur); cur = "" }; continue }
            cur.append(ch)
        }
        if !cur.isEmpty { names.append(cur) }
        guard !names.isEmpty else { return nil }
        self.init(part: part, kind: not ? .headerFieldsNot(names) : .headerFields(names))
    }

    /// The section text as it appears in a FETCH response, e.g. "1.HEADER.FIELDS (FROM TO)".
    public var imapString: String {
        var s = part.map(String.init).joined(separator: ".")
        let suffix: String
        switch kind {
        case .full: suffix = ""
        case .header: suffix = "HEADER"
        case .text: suffix = "TEXT"
        case .mime: suffix = "MIME"
        case .headerFields(let n): suffix = "HEADER.FIELDS (" + n.joined(separator: " ") + ")"
        case .headerFieldsNot(let n): suffix = "HEADER.FIELDS.NOT (" + n.joined(separator: " ") + ")"
        }
        if !suffix.isEmpty && !s.isEmpty { s += "." }
        return s + suffix
    }
}

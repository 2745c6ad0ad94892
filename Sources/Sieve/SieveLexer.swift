/// Splits a script into tokens (RFC 5228 §8.1): comments, quoted and multi-line (`text:`)
/// strings, numbers with K/M/G, tags and identifiers. Errors carry Pigeonhole-style wording.
struct SieveLexer {
    private let b: [UInt8]
    private var i = 0
    private var line = 1
    private(set) var diagnostics: [SieveDiagnostic] = []

    init(_ text: String) { b = Array(text.utf8) }

    static func tokenize(_ text: String) -> (tokens: [SieveToken], diagnostics: [SieveDiagnostic]) {
        var lx = SieveLexer(text)
        var out = [SieveToken]()
        while true {
            let t = lx.next()
            out.append(t)
            if case .end = t.kind { break }
            if lx.diagnostics.count > 20 { out.append(SieveToken(kind: .end, line: lx.line)); break }
        }
        return (out, lx.diagnostics)
    }

    private mutating func error(_ message: String, line: Int? = nil) {
        diagnostics.append(SieveDiagnostic(line: line ?? self.line, severity: .error, message: message))
    }

    private static func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    mutating func next() -> SieveToken {
        skipWhitespaceAndComments()
        guard i < b.count else { return SieveToken(kind: .end, line: line) }
        let start = line
        let c = b[i]
        switch c {
        case UInt8(ascii: "["): i += 1; return SieveToken(kind: .leftBracket, line: start)
        case UInt8(ascii: "]"): i += 1; return SieveToken(kind: .rightBracket, line: start)
        case UInt8(ascii: "("): i += 1; return SieveToken(kind: .leftParen, line: start)
        case UInt8(ascii: ")"): i += 1; return SieveToken(kind: .rightParen, line: start)
        case UInt8(ascii: "{"): i += 1; return SieveToken(kind: .leftBrace, line: start)
        case UInt8(ascii: "}"): i += 1; return SieveToken(kind: .rightBrace, line: start)
        case UInt8(ascii: ","): i += 1; return SieveToken(kind: .comma, line: start)
        case UInt8(ascii: ";"): i += 1; return SieveToken(kind: .semicolon, line: start)
        case UInt8(ascii: "\""): return quotedString()
        case UInt8(ascii: ":"):
            i += 1
            guard i < b.count, Self.isAlpha(b[i]) else {
                error("unexpected character(s) starting with ':'")
                return next()
            }
            return SieveToken(kind: .tag(identifierText()), line: start)
        default:
            if Self.isDigit(c) { return number() }
            if Self.isAlpha(c) {
                let id = identifierText()
                if id.lowercased() == "text", i < b.count, b[i] == UInt8(ascii: ":") {
                    i += 1
                    return multiline(start: start)
                }
                return SieveToken(kind: .identifier(id), line: start)
            }
            let shown = c >= 0x20 && c < 0x7f ? String(UnicodeScalar(c)) : "0x" + String(c, radix: 16)
            error("unexpected character(s) starting with '\(shown)'")
            i += 1
            return next()
        }
    }

    private mutating func skipWhitespaceAndComments() {
        while i < b.count {
            let c = b[i]
            if c == 10 { line += 1; i += 1 }
            else if c == 32 || c == 9 || c == 13 { i += 1 }
            else if c == UInt8(ascii: "#") {
                while i < b.count && b[i] != 10 { i += 1 }
            } else if c == UInt8(ascii: "/"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "*") {
                let startLine = line
                i += 2
                var closed = false
                while i < b.count {
                    if b[i] == UInt8(ascii: "*"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "/") { i += 2; closed = true; break }
                    if b[i] == 10 { line += 1 }
                    i += 1
                }
                if !closed { error("end of file before end of bracket comment ('/* ... */') started at line \(startLine)") }
            } else { break }
        }
    }

    private mutating func identifierText() -> String {
        let s = i
        while i < b.count, Self.isAlpha(b[i]) || Self.isDigit(b[i]) { i += 1 }
        return String(decoding: b[s..<i], as: UTF8.self)
    }

    private mutating func number() -> SieveToken {
        let start = line
        var value = 0
        var overflow = false
        while i < b.count, Self.isDigit(b[i]) {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(b[i] - 48))
            if o1 || o2 { overflow = true } else { value = a }
            i += 1
        }
        if i < b.count {
            var shift = 0
            switch b[i] {
            case UInt8(ascii: "K"), UInt8(ascii: "k"): shift = 10
            case UInt8(ascii: "M"), UInt8(ascii: "m"): shift = 20
            case UInt8(ascii: "G"), UInt8(ascii: "g"): shift = 30
            default: break
            }
            if shift > 0 {
                i += 1
                let (m, o) = value.multipliedReportingOverflow(by: 1 << shift)
                if o { overflow = true } else { value = m }
            }
        }
        if overflow || value > SieveToken.maxNumber {
            error("number exceeds integer limit", line: start)
            value = SieveToken.maxNumber
        }
        return SieveToken(kind: .number(value), line: start)
    }

    private mutating func quotedString() -> SieveToken {
        let start = line
        i += 1
        var out = [UInt8]()
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return SieveToken(kind: .string(String(decoding: out, as: UTF8.self)), line: start) }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < b.count else { break }
                if b[i] == 10 { line += 1 }
                out.append(b[i]); i += 1
                continue
            }
            if c == 10 { line += 1 }
            out.append(c); i += 1
        }
        error("end of file before end of quoted string", line: start)
        return SieveToken(kind: .end, line: line)
    }

    private mutating func multiline(start: Int) -> SieveToken {
        // text: *(SP / HTAB) (hash-comment / CRLF)
        while i < b.count, b[i] == 32 || b[i] == 9 { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "#") { while i < b.count && b[i] != 10 { i += 1 } }
        if i < b.count, b[i] == 13 { i += 1 }
        guard i < b.count, b[i] == 10 else {
            error("invalid character after 'text:' in multiline string")
            return SieveToken(kind: .string(""), line: start)
        }
        i += 1; line += 1
        var out = [UInt8]()
        while i < b.count {
            var lineEnd = i
            while lineEnd < b.count && b[lineEnd] != 10 { lineEnd += 1 }
            var content = i..<lineEnd
            if content.count > 0, b[content.upperBound - 1] == 13 { content = content.lowerBound..<(content.upperBound - 1) }
            let hasLF = lineEnd < b.count
            if content.count == 1, b[content.lowerBound] == UInt8(ascii: ".") {
                i = hasLF ? lineEnd + 1 : lineEnd
                if hasLF { line += 1 }
                return SieveToken(kind: .string(String(decoding: out, as: UTF8.self)), line: start)
            }
            var from = content.lowerBound
            if content.count > 1, b[from] == UInt8(ascii: "."), b[from + 1] == UInt8(ascii: ".") { from += 1 }
            out.append(contentsOf: b[from..<lineEnd])   // the line ending as written (CRLF or LF)
            if hasLF { out.append(10) }
            i = hasLF ? lineEnd + 1 : lineEnd
            if hasLF { line += 1 }
        }
        error("end of file before end of multi-line string", line: start)
        return SieveToken(kind: .end, line: line)
    }
}

extension SieveToken {
    /// Largest number a script may write (Pigeonhole's sieve_number_t is 64-bit; we keep Int).
    static let maxNumber = Int.max
}

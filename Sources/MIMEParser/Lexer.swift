/// RFC 5322 / RFC 2045 structured-field lexer over an unfolded value.
struct Lexer {
    let b: [UInt8]
    var pos: Int = 0
    /// Text of the last comment skipped by `skipCFWS()` (without parentheses).
    var lastComment: [UInt8]? = nil
    /// False when the last quoted-string ran to the end of the value without its closing quote.
    var lastQuotedTerminated = true

    init(_ bytes: [UInt8]) { self.b = bytes }

    var atEnd: Bool { pos >= b.count }
    var peek: UInt8? { pos < b.count ? b[pos] : nil }

    mutating func skipCFWS() {
        while pos < b.count {
            let c = b[pos]
            if isWSP(c) || c == CR || c == LF { pos += 1; continue }
            if c == 40 { skipComment(); continue }   // '('
            break
        }
    }

    mutating func skipComment() {
        var depth = 0
        var text = [UInt8]()
        while pos < b.count {
            let c = b[pos]
            if c == 92 { // backslash
                if pos + 1 < b.count { text.append(b[pos + 1]) }
                pos += 2; continue
            }
            if c == 40 { depth += 1; if depth > 1 { text.append(c) }; pos += 1; continue }
            if c == 41 { depth -= 1; pos += 1; if depth == 0 { break }; text.append(c); continue }
            text.append(c); pos += 1
        }
        if pos > b.count { pos = b.count }
        lastComment = text
    }

    static func isMIMETokenChar(_ c: UInt8) -> Bool {
        if c <= 32 || c == 127 { return false }
        switch c {
        case 40, 41, 60, 62, 64, 44, 59, 58, 92, 34, 47, 91, 93, 63, 61: return false   // ()<>@,;:\"/[]?=
        default: return true
        }
    }

    static func isAtomChar(_ c: UInt8) -> Bool {
        if c <= 32 || c == 127 { return false }
        switch c {
        case 40, 41, 60, 62, 64, 44, 59, 58, 92, 34, 46, 91, 93: return false   // ()<>@,;:\".[]
        default: return true
        }
    }

    mutating func mimeToken() -> ArraySlice<UInt8>? {
        let s = pos
        while pos < b.count, Lexer.isMIMETokenChar(b[pos]) { pos += 1 }
        return pos > s ? b[s..<pos] : nil
    }

    mutating func atom() -> ArraySlice<UInt8>? {
        let s = pos
        while pos < b.count, Lexer.isAtomChar(b[pos]) { pos += 1 }
        return pos > s ? b[s..<pos] : nil
    }

    /// Parses a quoted-string at pos (which must be at '"'); returns the unescaped content.
    mutating func quotedString() -> [UInt8] {
        var out = [UInt8]()
        pos += 1
        while pos < b.count {
            let c = b[pos]
            if c == 92 {
                if pos + 1 < b.count { out.append(b[pos + 1]) }
                pos += 2; continue
            }
            if c == 34 { pos += 1; lastQuotedTerminated = true; return out }
            if c != CR && c != LF { out.append(c) }
            pos += 1
        }
        pos = b.count
        lastQuotedTerminated = false
        return out
    }

    /// Domain literal "[...]" including the brackets.
    mutating func domainLiteral() -> [UInt8] {
        var out: [UInt8] = [91]
        pos += 1
        while pos < b.count {
            let c = b[pos]
            if c == 92, pos + 1 < b.count { out.append(b[pos + 1]); pos += 2; continue }
            pos += 1
            if c == 93 { out.append(93); return out }
            if !isWSP(c) && c != CR && c != LF { out.append(c) }
        }
        out.append(93)
        return out
    }
}

/// A parameter as it appears in the header (RFC 2231 continuations merged, name lower-cased, a trailing
/// "*" on the name when the value is in RFC 2231 extended form), which is what IMAP sends.
struct RawParameter: Sendable, Hashable {
    var name: String
    var value: [UInt8]
}

enum ContentFields {
    /// Content-Type: "type/subtype; params". An invalid field gives an empty type and subtype, as
    /// Dovecot sends it (the part is still text/plain for decoding and search, RFC 2045 §5.2).
    static func parseContentType(_ value: [UInt8], limits: MIMELimits) -> (type: String, subtype: String, params: [RawParameter])? {
        var lx = Lexer(value)
        lx.skipCFWS()
        guard let t = lx.mimeToken() else { return ("", "", []) }
        lx.skipCFWS()
        if lx.atEnd {
            // Like Dovecot 2.3: a type alone ("text") is kept with an empty subtype ("text" "", with
            // the default charset and a line count when it is text); "multipart" alone cannot be a
            // multipart and goes out as application/octet-stream.
            if equalsLowercase(t, "multipart") { return ("application", "octet-stream", []) }
            return (String(decoding: t, as: UTF8.self), "", [])
        }
        // Like Dovecot: a type followed by anything but "/subtype" is an empty type and subtype, without parameters.
        guard lx.peek == 47 else { return ("", "", []) }
        lx.pos += 1
        lx.skipCFWS()
        guard let st = lx.mimeToken() else { return ("", "", []) }
        lx.skipCFWS()
        // anything but ";" after the subtype makes the whole field invalid (Dovecot: empty type)
        if let c = lx.peek, c != 59 { return ("", "", []) }
        let params = parseParameters(&lx, limits: limits)
        return (String(decoding: t, as: UTF8.self), String(decoding: st, as: UTF8.self), params)
    }

    /// A single token followed by parameters (Content-Disposition).
    static func parseTokenAndParams(_ value: [UInt8], limits: MIMELimits) -> (token: String, params: [RawParameter])? {
        var lx = Lexer(value)
        lx.skipCFWS()
        guard let t = lx.mimeToken() else { return nil }
        return (String(decoding: t, as: UTF8.self), parseParameters(&lx, limits: limits))
    }

    /// A single token (Content-Transfer-Encoding).
    static func parseToken(_ value: [UInt8]) -> String? {
        var lx = Lexer(value)
        lx.skipCFWS()
        guard let t = lx.mimeToken() else { return nil }
        return String(decoding: t, as: UTF8.self)
    }

    /// Content-Language: 1#language-tag.
    static func parseLanguages(_ value: [UInt8]) -> [String] {
        var lx = Lexer(value)
        var out = [String]()
        lx.skipCFWS()
        while let a = lx.mimeToken() {
            out.append(String(decoding: a, as: UTF8.self))
            lx.skipCFWS()
            guard lx.peek == 44 else { break }
            lx.pos += 1
            lx.skipCFWS()
        }
        return out
    }

    /// Parameters like Dovecot's RFC 2231 handling: plain parameters first in header order, then
    /// the "name*N[*]" / "name*" ones grouped by name (sorted), merged when their indexes run 0,1,2…
    /// (the merged name gets a "*" when any segment was extended), else listed one by one.
    static func parseParameters(_ lx: inout Lexer, limits: MIMELimits) -> [RawParameter] {
        var simple: [RawParameter] = []
        var ext: [(key: String, idx: Int, extended: Bool, value: [UInt8], order: Int)] = []
        var count = 0
        while true {
            lx.skipCFWS()
            guard let c = lx.peek else { break }
            guard c == 59 else { break }   // ';'
            lx.pos += 1
            lx.skipCFWS()
            guard let keyBytes = lx.mimeToken() else { if lx.atEnd { break }; continue }
            lx.skipCFWS()
            guard lx.peek == 61 else { break }
            lx.pos += 1
            lx.skipCFWS()
            var v: [UInt8]
            if lx.peek == 34 {
                v = lx.quotedString()
                if !lx.lastQuotedTerminated { break }   // unterminated quote: the parameter is invalid
            } else if let tok = lx.mimeToken() {
                v = Array(tok)
            } else if lx.atEnd || lx.peek == 59 {
                v = []   // "charset=" keeps its empty value, as Dovecot does (and as `charset=""` does)
            } else {
                break
            }
            count += 1
            if count > limits.maxParameters { break }
            let key = String(decoding: keyBytes, as: UTF8.self)
            if let star = key.firstIndex(of: "*") {
                let base = String(key[..<star])
                var rest = Substring(key[key.index(after: star)...])
                var idx = 0
                var ok = true
                if !rest.isEmpty {
                    let digits = rest.prefix { $0 >= "0" && $0 <= "9" }
                    idx = Int(digits.prefix(6)) ?? 0
                    rest = rest.dropFirst(digits.count)
                    ok = !digits.isEmpty || rest.isEmpty
                }
                var extended = false
                if rest.first == "*" { extended = true; rest = rest.dropFirst() } else if rest.isEmpty && key.hasSuffix("*") && idx == 0 && key.count == base.count + 1 { extended = true }
                if ok && rest.isEmpty {
                    ext.append((base, idx, extended, v, ext.count))
                    continue
                }
            }
            simple.append(RawParameter(name: key, value: v))
        }
        if ext.isEmpty { return simple }
        ext.sort { $0.key.lowercased() != $1.key.lowercased() ? $0.key.lowercased() < $1.key.lowercased() : ($0.idx != $1.idx ? $0.idx < $1.idx : $0.order < $1.order) }
        var i = 0
        while i < ext.count {
            var j = i
            var ok = true
            var haveExtended = false
            var nextIdx = 0
            while j < ext.count && ext[j].key.lowercased() == ext[i].key.lowercased() {
                if ext[j].idx != nextIdx { ok = false }
                if ext[j].extended { haveExtended = true }
                nextIdx += 1
                j += 1
            }
            if !ok {
                for k in i..<j {
                    simple.append(RawParameter(name: ext[k].key + "*\(ext[k].idx)" + (ext[k].extended ? "*" : ""), value: ext[k].value))
                }
            } else {
                var value = [UInt8]()
                if !ext[i].extended && haveExtended { value.append(contentsOf: [39, 39]) }
                for k in i..<j {
                    if !ext[k].extended && haveExtended { value.append(contentsOf: rfc2231Escape(ext[k].value)) }
                    else { value.append(contentsOf: ext[k].value) }
                }
                simple.append(RawParameter(name: haveExtended ? ext[i].key + "*" : ext[i].key, value: value))
            }
            i = j
        }
        return simple
    }

    static func rfc2231Escape(_ v: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        let hex = Array("0123456789ABCDEF".utf8)
        for c in v {
            if c == 37 {   // only "%" is escaped (what Dovecot does; the value stays readable)
                out.append(37); out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 15)])
            } else { out.append(c) }
        }
        return out
    }

    /// Decodes a parameter value to Unicode: RFC 2231 "charset'lang'%XX" when the name ends with "*",
    /// RFC 2047 encoded-words otherwise (widespread non-standard practice for filenames).
    static func decodedValue(_ p: RawParameter) -> String {
        if p.name.hasSuffix("*") {
            let v = p.value
            if let q1 = v.firstIndex(of: 39), let q2 = v[(q1 + 1)...].firstIndex(of: 39) {
                let charset = String(decoding: v[..<q1], as: UTF8.self)
                var out = [UInt8]()
                var i = q2 + 1
                while i < v.count {
                    if v[i] == 37, i + 2 < v.count, let h = hexValue(v[i + 1]), let l = hexValue(v[i + 2]) {
                        out.append(h << 4 | l); i += 3
                    } else { out.append(v[i]); i += 1 }
                }
                return Charset.decode(out, charset: charset.isEmpty ? nil : charset)
            }
            return String(decoding: v, as: UTF8.self)
        }
        return RFC2047.decode(p.value)
    }
}

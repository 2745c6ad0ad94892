/// Text of a message for full-text search.
public struct SearchText: Sendable, Hashable {
    public var subject: String
    /// Display names and addresses of From, Sender, Reply-To, To, Cc, Bcc.
    public var addresses: String
    /// Decoded text of text/plain and text/html (converted to text) parts that are not attachments.
    public var body: String
    /// Decoded file names of attachment parts.
    public var attachmentNames: [String]
}

extension MIMEMessage {
    /// Full text extraction: charset-decoded text/plain and text/html (tags removed, entities
    /// decoded) of non-attachment parts, including those of encapsulated messages.
    public func searchText() -> SearchText {
        var addrs: [String] = []
        for list in [from, sender, replyTo, to, cc, bcc] {
            for a in list {
                if let n = a.name, !n.isEmpty { addrs.append(n) }
                if let ad = a.address { addrs.append(ad) }
            }
        }
        var body = ""
        var names: [String] = []
        var budget = limits.maxSearchTextBytes
        for p in leafParts {
            if let f = p.filename, !f.isEmpty { names.append(f) }
            guard p.contentType == "text", p.disposition != "attachment", budget > 0 else { continue }
            guard p.subtype == "plain" || p.subtype == "html" || p.subtype == "enriched" else { continue }
            var raw = decodedBody(p)
            if raw.count > budget { raw = Array(raw[0..<budget]) }
            budget -= raw.count
            let charset = p.parameter("charset")
            var text = Charset.decode(raw, charset: charset)
            if p.subtype == "html" { text = HTMLText.toText(text) }
            if !body.isEmpty { body += "\n" }
            body += text
        }
        return SearchText(subject: subject ?? "", addresses: addrs.joined(separator: " "), body: body, attachmentNames: names)
    }

    /// The part's body with the transfer encoding removed (unknown encodings: raw bytes).
    public func decodedBody(_ p: MIMEPart) -> [UInt8] {
        let body = bytes[p.bodyRange]
        switch p.transferEncoding ?? "7bit" {
        case "base64": return TransferDecoding.base64(body)
        case "quoted-printable": return TransferDecoding.quotedPrintable(body)
        default: return Array(body)
        }
    }
}

/// HTML to plain text for indexing: tags dropped (block tags become line breaks), script/style/head
/// content dropped, character references decoded.
enum HTMLText {
    static let blockTags: Set<String> = ["p", "br", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                                         "table", "ul", "ol", "blockquote", "pre", "hr", "td", "th", "title"]
    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©",
        "reg": "®", "trade": "™", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’",
        "ldquo": "“", "rdquo": "”", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "sect": "§",
        "deg": "°", "plusmn": "±", "times": "×", "divide": "÷", "middot": "·", "bull": "•",
        "laquo": "«", "raquo": "»", "eacute": "é", "egrave": "è", "ecirc": "ê", "agrave": "à",
        "aacute": "á", "acirc": "â", "auml": "ä", "ouml": "ö", "uuml": "ü", "Auml": "Ä", "Ouml": "Ö",
        "Uuml": "Ü", "szlig": "ß", "ccedil": "ç", "ntilde": "ñ", "oacute": "ó", "iacute": "í", "uacute": "ú",
        "Eacute": "É", "aring": "å", "Aring": "Å", "oslash": "ø", "Oslash": "Ø", "aelig": "æ", "AElig": "Æ",
        "zwnj": "", "zwj": "", "shy": "",
    ]

    static func toText(_ html: String) -> String {
        let s = Array(html.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var skipUntil: String? = nil
        while i < s.count {
            let c = s[i]
            if c == "<", i + 1 < s.count, s[i + 1].properties.isAlphabetic || s[i + 1] == "/" || s[i + 1] == "!" {
                // comment
                if i + 3 < s.count, s[i + 1] == "!", s[i + 2] == "-", s[i + 3] == "-" {
                    var j = i + 4
                    while j + 2 < s.count, !(s[j] == "-" && s[j + 1] == "-" && s[j + 2] == ">") { j += 1 }
                    i = min(s.count, j + 3); continue
                }
                var j = i + 1
                while j < s.count, s[j] != ">" { j += 1 }
                if j == s.count {   // unterminated tag: the rest is text
                    if skipUntil == nil { out.append(contentsOf: s[i...]) }
                    break
                }
                var name = ""
                var k = i + 1
                let closing = k < s.count && s[k] == "/"
                if closing { k += 1 }
                while k < j, s[k].properties.isAlphabetic || ("0"..."9").contains(s[k]) { name.unicodeScalars.append(s[k]); k += 1 }
                name = name.lowercased()
                i = min(s.count, j + 1)
                if let stop = skipUntil {
                    if closing && name == stop { skipUntil = nil }
                    continue
                }
                if !closing && (name == "script" || name == "style" || name == "head") { skipUntil = name; continue }
                if blockTags.contains(name) { out.append("\n") } else if !name.isEmpty { out.append(" ") }
                continue
            }
            if skipUntil != nil { i += 1; continue }
            if c == "&" {
                var j = i + 1
                var ent = ""
                while j < s.count, j - i < 12, s[j] != ";", s[j] != "&", s[j] != "<", !s[j].properties.isWhitespace {
                    ent.unicodeScalars.append(s[j]); j += 1
                }
                if j < s.count, s[j] == ";" {
                    if ent.hasPrefix("#") {
                        let num = ent.dropFirst()
                        let v = num.lowercased().hasPrefix("x") ? UInt32(num.dropFirst(), radix: 16) : UInt32(num)
                        if let v, let sc = Unicode.Scalar(v) { out.append(sc); i = j + 1; continue }
                    } else if let r = entities[ent] ?? entities[ent.lowercased()] {
                        out.append(contentsOf: r.unicodeScalars); i = j + 1; continue
                    }
                }
            }
            out.append(c)
            i += 1
        }
        // collapse blank runs
        let text = String(out)
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let l = collapseWhitespace(String(line))
            if !l.isEmpty { lines.append(l) }
        }
        return lines.joined(separator: "\n")
    }
}

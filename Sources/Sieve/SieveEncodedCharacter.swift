/// RFC 5228 §2.4.2.4 `encoded-character`: `${hex:…}` and `${unicode:…}` in strings, decoded
/// at compile time. Malformed sequences stay as written.
enum SieveEncodedCharacter {
    static func decode(_ text: String) -> String {
        guard text.contains("${") else { return text }
        let u = Array(text.utf8)
        var out = [UInt8]()
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "$"), i + 1 < u.count, u[i + 1] == UInt8(ascii: "{"),
               let close = u[(i + 2)...].firstIndex(of: UInt8(ascii: "}")),
               let bytes = decodeBody(Array(u[(i + 2)..<close])) {
                out.append(contentsOf: bytes)
                i = close + 1
                continue
            }
            out.append(u[i]); i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func decodeBody(_ body: [UInt8]) -> [UInt8]? {
        guard let colon = body.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let kind = String(decoding: body[..<colon], as: UTF8.self).lowercased()
        let rest = body[(colon + 1)...]
        // blank = SP / TAB / CRLF, allowed around and between the hex groups
        var groups = [String]()
        var cur = ""
        for c in rest {
            if c == 32 || c == 9 || c == 13 || c == 10 {
                if !cur.isEmpty { groups.append(cur); cur = "" }
            } else if (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) {
                cur.append(Character(UnicodeScalar(c)))
            } else { return nil }
        }
        if !cur.isEmpty { groups.append(cur) }
        if groups.isEmpty { return nil }
        switch kind {
        case "hex":
            var out = [UInt8]()
            for g in groups {
                guard g.count % 2 == 0 else { return nil }
                var idx = g.startIndex
                while idx < g.endIndex {
                    let next = g.index(idx, offsetBy: 2)
                    guard let v = UInt8(g[idx..<next], radix: 16) else { return nil }
                    out.append(v); idx = next
                }
            }
            return out
        case "unicode":
            var out = [UInt8]()
            for g in groups {
                guard let v = UInt32(g.count > 8 ? String(g.drop { $0 == "0" }) : g, radix: 16),
                      let scalar = UnicodeScalar(v) else { return nil }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            return out
        default:
            return nil
        }
    }
}

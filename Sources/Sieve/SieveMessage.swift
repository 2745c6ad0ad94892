import Foundation
import MIMEParser

/// The message as a run sees it: its header fields (editable by `editheader`, RFC 5293) and body.
struct SieveMessage {
    struct Field {
        var name: String
        /// The raw value after the colon (leading white space skipped, folding kept, no final CRLF).
        var raw: [UInt8]
    }

    let original: [UInt8]
    var fields: [Field]
    let bodyStart: Int
    /// False when the header is not followed by an empty line (RFC 5173 §5: no body at all).
    let hasBody: Bool
    private(set) var edited = false
    private var parsedCache: MIMEMessage?

    init(_ bytes: [UInt8]) {
        original = bytes
        var fields = [Field]()
        var i = 0
        var bodyStart = bytes.count
        var hasBody = false
        var current: (name: String, start: Int)? = nil
        var valueEnd = 0
        func flush(_ fields: inout [Field]) {
            if let c = current {
                fields.append(Field(name: c.name, raw: Array(bytes[c.start..<max(c.start, valueEnd)])))
            }
            current = nil
        }
        while i < bytes.count {
            var lf = i
            while lf < bytes.count && bytes[lf] != 10 { lf += 1 }
            var end = lf
            if end > i && bytes[end - 1] == 13 { end -= 1 }
            let next = min(lf + 1, bytes.count)
            if end == i {   // blank line: end of header
                flush(&fields)
                bodyStart = next
                hasBody = true
                break
            }
            if bytes[i] == 32 || bytes[i] == 9 {
                if current != nil { valueEnd = end }
            } else {
                flush(&fields)
                if let colon = bytes[i..<end].firstIndex(of: 58) {
                    var nameEnd = colon
                    while nameEnd > i && (bytes[nameEnd - 1] == 32 || bytes[nameEnd - 1] == 9) { nameEnd -= 1 }
                    var v = colon + 1
                    while v < end && (bytes[v] == 32 || bytes[v] == 9) { v += 1 }
                    current = (String(decoding: bytes[i..<nameEnd], as: UTF8.self), v)
                    valueEnd = end
                } else {
                    // not a header line: the header ends here (the rest is body)
                    bodyStart = i
                    hasBody = true
                    break
                }
            }
            i = next
            if i >= bytes.count { flush(&fields); bodyStart = bytes.count }
        }
        self.fields = fields
        self.bodyStart = bodyStart
        self.hasBody = hasBody
    }

    /// The size as RFC 5228 §5.9 counts it: CRLF line ends (a bare LF counts two octets, as stored).
    var size: Int {
        let bytes = edited ? serialized() : original
        var n = bytes.count
        var prev: UInt8 = 0
        for b in bytes { if b == 10 && prev != 13 { n += 1 }; prev = b }
        return n
    }

    static func unfold(_ raw: [UInt8]) -> [UInt8] { raw.filter { $0 != 13 && $0 != 10 } }

    /// Unfolded raw values of the fields named `name` (case-insensitive), in order.
    func rawValues(_ name: String) -> [[UInt8]] {
        let lname = name.lowercased()
        return fields.filter { $0.name.lowercased() == lname }.map { Self.unfold($0.raw) }
    }

    /// Decoded values (RFC 2047), trailing white space removed, for `header`/`exists`/`date`.
    func values(_ name: String) -> [String] {
        rawValues(name).map { raw in
            var r = raw[...]
            while let l = r.last, l == 32 || l == 9 { r = r.dropLast() }
            return RFC2047.decode(Array(r))
        }
    }

    func exists(_ name: String) -> Bool {
        let lname = name.lowercased()
        return fields.contains { $0.name.lowercased() == lname }
    }

    /// The message body bytes (after the blank line).
    var body: ArraySlice<UInt8> { original[bodyStart...] }

    /// The MIME tree of the original message (parsed once per run, on first use).
    mutating func parsed() -> MIMEMessage {
        if let p = parsedCache { return p }
        let p = MIMEMessage.parse(original)
        parsedCache = p
        return p
    }

    // MARK: editheader

    mutating func add(name: String, value: String, last: Bool) {
        let field = Field(name: name, raw: Self.encodeValue(value, nameLength: name.utf8.count))
        if last { fields.append(field) } else { fields.insert(field, at: 0) }
        edited = true
    }

    mutating func delete(where predicate: (Int, Field) -> Bool) -> Int {
        var removed = 0
        var keep = [Field]()
        for (i, f) in fields.enumerated() {
            if predicate(i, f) { removed += 1 } else { keep.append(f) }
        }
        if removed > 0 { fields = keep; edited = true }
        return removed
    }

    /// A header value as written by `addheader`: RFC 2047 encoded when not ASCII, folded.
    static func encodeValue(_ value: String, nameLength: Int) -> [UInt8] {
        let v = value.replacingOccurrences(of: "\r\n", with: "").replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "\r", with: "")
        if v.utf8.allSatisfy({ $0 < 0x80 }) { return fold(Array(v.utf8), first: nameLength + 2) }
        // encoded-words of at most 75 characters, base64 of UTF-8 without splitting characters
        var words = [String]()
        var chunk = [UInt8]()
        for ch in v {
            let b = Array(String(ch).utf8)
            if chunk.count + b.count > 39 { words.append(encodedWord(chunk)); chunk = [] }
            chunk.append(contentsOf: b)
        }
        if !chunk.isEmpty { words.append(encodedWord(chunk)) }
        return Array(words.joined(separator: "\r\n ").utf8)
    }

    static func encodedWord(_ bytes: [UInt8]) -> String { "=?UTF-8?B?" + SieveBase64.encode(bytes) + "?=" }

    /// Folds at white space so lines stay under 78 characters where possible.
    static func fold(_ v: [UInt8], first: Int) -> [UInt8] {
        guard v.count + first > 78 else { return v }
        var out = [UInt8]()
        var lineLen = first
        var i = 0
        while i < v.count {
            var j = i
            if v[j] == 32 || v[j] == 9 { j += 1 }
            while j < v.count && v[j] != 32 && v[j] != 9 { j += 1 }
            let word = v[i..<j]
            if lineLen + word.count > 78 && lineLen > 1 && (word.first == 32 || word.first == 9) {
                out.append(contentsOf: [13, 10]); lineLen = 0
            }
            out.append(contentsOf: word); lineLen += word.count
            i = j
        }
        return out
    }

    /// The whole message with the edited header.
    func serialized() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(original.count + 256)
        for f in fields {
            out.append(contentsOf: Array(f.name.utf8)); out.append(58); out.append(32)
            out.append(contentsOf: f.raw); out.append(13); out.append(10)
        }
        out.append(13); out.append(10)
        out.append(contentsOf: original[bodyStart...])
        return out
    }
}

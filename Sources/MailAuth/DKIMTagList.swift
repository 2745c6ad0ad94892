/// A DKIM tag=value list (RFC 6376 §3.2), the syntax of DKIM-Signature, ARC-Message-Signature and
/// ARC-Seal fields and of key records. Pure and bounded (`DKIMLimits`), fuzzed (Fuzz/DKIMFuzz).
///
///     tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
///     tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
///     tag-name  =  ALPHA *ALNUMPUNC                 ; ALNUMPUNC = ALPHA / DIGIT / "_"
///     tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
///     tval      =  1*VALCHAR                        ; VALCHAR = %x21-3A / %x3C-7E
///
/// Tag names are case-sensitive; a name that occurs twice makes the whole list invalid. Bytes of
/// 0x80 and above are taken as VALCHAR (UTF-8 in `i=`, RFC 8616); other controls are refused.
struct DKIMTagList: Sendable, Equatable {
    struct Tag: Sendable, Equatable {
        var name: String
        /// The value without the white space around it; folding inside it is kept as written.
        var value: [UInt8]
        /// Offset (in the parsed bytes) just after the tag's "=": where the white space before the
        /// value starts.
        var afterEquals: Int
        /// Offset just after the value's last non-white-space byte (`afterEquals` for an empty value).
        var valueEnd: Int
    }

    var tags: [Tag]

    subscript(name: String) -> [UInt8]? { tags.first { $0.name == name }?.value }

    /// The value as text (UTF-8, invalid sequences replaced).
    func text(_ name: String) -> String? { self[name].map { String(decoding: $0, as: UTF8.self) } }

    func tag(_ name: String) -> Tag? { tags.first { $0.name == name } }

    static func isWhiteSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }

    static func parse(_ bytes: [UInt8]) throws(DKIMProblem) -> DKIMTagList {
        guard bytes.count <= DKIMLimits.maxTagListLength else { throw .permerror("tag list longer than \(DKIMLimits.maxTagListLength) bytes") }
        var tags: [Tag] = []
        var i = 0
        let n = bytes.count
        func skipSpace() { while i < n, isWhiteSpace(bytes[i]) { i += 1 } }
        while true {
            skipSpace()
            if i == n { break }
            // tag-name
            let nameStart = i
            guard isAlpha(bytes[i]) else {
                throw .permerror(bytes[i] == UInt8(ascii: ";") ? "empty tag in tag list" : "invalid tag name in tag list")
            }
            i += 1
            while i < n, isAlpha(bytes[i]) || isDigit(bytes[i]) || bytes[i] == UInt8(ascii: "_") { i += 1 }
            let name = String(decoding: bytes[nameStart..<i], as: UTF8.self)
            skipSpace()
            guard i < n, bytes[i] == UInt8(ascii: "=") else { throw .permerror("tag \(name) without \"=\"") }
            i += 1
            let afterEquals = i
            skipSpace()
            let valueStart = i
            var valueEnd = i
            while i < n, bytes[i] != UInt8(ascii: ";") {
                let byte = bytes[i]
                if isWhiteSpace(byte) {
                    // ok inside the value
                } else if byte < 0x21 || byte == 0x7F {
                    throw .permerror("control character in tag \(name)")
                } else {
                    valueEnd = i + 1
                }
                i += 1
            }
            guard !tags.contains(where: { $0.name == name }) else { throw .permerror("tag \(name) appears twice") }
            guard tags.count < DKIMLimits.maxTags else { throw .permerror("more than \(DKIMLimits.maxTags) tags") }
            let value = valueEnd > valueStart ? Array(bytes[valueStart..<valueEnd]) : []
            tags.append(Tag(name: name, value: value, afterEquals: afterEquals, valueEnd: valueEnd > valueStart ? valueEnd : afterEquals))
            if i < n { i += 1 }  // the ";"
        }
        return DKIMTagList(tags: tags)
    }

    static func isAlpha(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
    static func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }

    /// A value with all white space (and folding) removed: `b=`, `bh=`, `p=`, `h=`.
    static func compact(_ value: [UInt8]) -> [UInt8] { value.filter { !isWhiteSpace($0) } }

    /// A colon-separated list (`h=`, `q=`, key `h=`/`s=`/`t=`), each entry without white space.
    static func list(_ value: [UInt8]) -> [String] {
        compact(value).split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A decimal number of 1…`maxDigits` digits, saturating at `Int64.max`; nil for anything else.
    static func number(_ value: [UInt8], maxDigits: Int = 76) -> Int64? {
        guard !value.isEmpty, value.count <= maxDigits, value.allSatisfy(isDigit) else { return nil }
        var n: Int64 = 0
        for digit in value {
            let (times, o1) = n.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int64(digit - 0x30))
            if o1 || o2 { return .max }
            n = plus
        }
        return n
    }
}

/// Base64 (RFC 4648) as DKIM writes it: white space and folding anywhere are ignored (RFC 6376
/// §3.5, `b=`; §3.6.1, `p=`), padding optional at the end only.
enum DKIMBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// The bytes, or nil when a character is not base64 or the length does not fit.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        var count = 0
        for c in text {
            if DKIMTagList.isWhiteSpace(c) { continue }
            if c == UInt8(ascii: "=") { padding += 1; count += 1; continue }
            guard padding == 0 else { return nil }  // data after padding
            let v = table[Int(c)]
            guard v != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(v)
            bits += 6
            count += 1
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        guard padding <= 2 else { return nil }
        if padding > 0 { guard count % 4 == 0 else { return nil } }
        guard count % 4 != 1 else { return nil }  // a lone 6 bits encodes nothing
        return out
    }

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(v >> 18 & 63)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let v = UInt32(bytes[i]) << 16
            out += [alphabet[Int(v >> 18 & 63)], alphabet[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(v >> 18 & 63)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], UInt8(ascii: "=")]
        }
        return out
    }
}

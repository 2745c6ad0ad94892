/// Comparators and match types over strings (RFC 5228 §2.7, RFC 5229 §3.2 match values,
/// RFC 5231 relational, RFC 4790 i;ascii-numeric).
enum SieveMatcher {
    @inline(__always) static func lower(_ v: UInt32) -> UInt32 { v >= 65 && v <= 90 ? v + 32 : v }

    /// Whether two scalars are equal under the comparator (numeric is not used for substrings).
    @inline(__always) static func same(_ a: Unicode.Scalar, _ b: Unicode.Scalar, _ c: SieveComparator) -> Bool {
        c == .asciiCasemap ? lower(a.value) == lower(b.value) : a == b
    }

    /// Ordering of `a` vs `b`: negative, zero or positive.
    static func order(_ a: String, _ b: String, _ c: SieveComparator) -> Int {
        switch c {
        case .octet: return compareBytes(Array(a.utf8), Array(b.utf8))
        case .asciiCasemap:
            return compareBytes(a.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, b.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 })
        case .asciiNumeric:
            let x = numericKey(a), y = numericKey(b)
            switch (x, y) {
            case (nil, nil): return 0
            case (nil, _): return 1
            case (_, nil): return -1
            case let (x?, y?):
                if x.count != y.count { return x.count < y.count ? -1 : 1 }
                return compareBytes(x, y)
            }
        }
    }

    /// The leading digits without leading zeros; nil when the string does not start with a digit (= infinity).
    static func numericKey(_ s: String) -> [UInt8]? {
        var digits = [UInt8]()
        for c in s.utf8 { if c >= 48 && c <= 57 { digits.append(c) } else { break } }
        if digits.isEmpty { return nil }
        while digits.count > 1 && digits[0] == 48 { digits.removeFirst() }
        return digits
    }

    static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        for i in 0..<n where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    static func isEqual(_ a: String, _ b: String, _ c: SieveComparator) -> Bool {
        switch c {
        case .octet: return a.utf8.elementsEqual(b.utf8)
        case .asciiCasemap:
            return a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { x, y in
                (x >= 65 && x <= 90 ? x + 32 : x) == (y >= 65 && y <= 90 ? y + 32 : y)
            }
        case .asciiNumeric: return order(a, b, c) == 0
        }
    }

    static func contains(_ a: String, _ key: String, _ c: SieveComparator) -> Bool {
        if key.isEmpty { return true }
        // bytes, never Swift's grapheme/canonical-equivalence comparison
        if c == .octet { return Array(a.utf8).firstRange(of: Array(key.utf8)) != nil }
        let h = Array(a.utf8).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        let n = Array(key.utf8).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        return h.firstRange(of: n) != nil
    }

    private enum GlobToken { case literal(Unicode.Scalar), one, many }

    /// `:matches` (RFC 5228 §2.7.1): `*` and `?` wildcards, `\` escapes. Returns the match values
    /// (the whole string, then one per wildcard; each `*` as short as possible) or nil.
    static func glob(_ value: String, _ pattern: String, _ c: SieveComparator) -> [String]? {
        var toks = [GlobToken]()
        var it = pattern.unicodeScalars.makeIterator()
        while let ch = it.next() {
            switch ch {
            case "\\": if let n = it.next() { toks.append(.literal(n)) }
            case "*": if case .many? = toks.last { toks.append(.many) } else { toks.append(.many) }
            case "?": toks.append(.one)
            default: toks.append(.literal(ch))
            }
        }
        let s = Array(value.unicodeScalars)
        var wc = [Int](repeating: -1, count: toks.count)   // wildcard index of each token
        var nwc = 0
        for (i, t) in toks.enumerated() { if case .literal = t { continue }; wc[i] = nwc; nwc += 1 }
        var capStart = [Int](repeating: 0, count: nwc), capEnd = [Int](repeating: 0, count: nwc)
        var p = 0, i = 0, starP = -1, starS = 0
        while i < s.count {
            if p < toks.count, case .literal(let l) = toks[p], same(l, s[i], c) { p += 1; i += 1; continue }
            if p < toks.count, case .one = toks[p] { capStart[wc[p]] = i; capEnd[wc[p]] = i + 1; p += 1; i += 1; continue }
            if p < toks.count, case .many = toks[p] {
                starP = p; starS = i; capStart[wc[p]] = i; capEnd[wc[p]] = i; p += 1; continue
            }
            if starP >= 0 {
                starS += 1
                capEnd[wc[starP]] = starS
                p = starP + 1; i = starS
                continue
            }
            return nil
        }
        while p < toks.count, case .many = toks[p] { capStart[wc[p]] = i; capEnd[wc[p]] = i; p += 1 }
        guard p == toks.count else { return nil }
        var out = [value]
        for k in 0..<nwc {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[capStart[k]..<capEnd[k]])
            out.append(String(v))
        }
        return out
    }
}

/// A SEARCH string matched case-insensitively (RFC 3501 §6.4.4) against many haystacks: the
/// needle is folded once; an ASCII haystack is compared byte by byte with ASCII folding, without
/// copying it; any other is lowercased, then searched as UTF-8 (a match of whole UTF-8 sequences
/// starts and ends on character boundaries). Foundation's `contains` on lowercased copies was
/// a third of a `SEARCH SUBJECT` on 500 messages.
struct CaseFoldedNeedle {
    let bytes: [UInt8]
    let isASCII: Bool

    init(_ needle: String) {
        bytes = Array(needle.lowercased().utf8)
        isASCII = bytes.allSatisfy { $0 < 0x80 }
    }

    func found(in haystack: String) -> Bool {
        if bytes.isEmpty { return true }
        var haystack = haystack
        let ascii: Bool? = haystack.withUTF8 { h in
            guard h.allSatisfy({ $0 < 0x80 }) else { return nil }
            return isASCII && Self.search(h, bytes, fold: true)
        }
        if let ascii { return ascii }
        return Array(haystack.lowercased().utf8).withUnsafeBufferPointer { Self.search($0, bytes, fold: false) }
    }

    private static func search(_ h: UnsafeBufferPointer<UInt8>, _ n: [UInt8], fold: Bool) -> Bool {
        guard n.count <= h.count else { return false }
        let first = n[0]
        var i = 0
        let last = h.count - n.count
        while i <= last {
            let c = fold && h[i] &- 65 < 26 ? h[i] | 0x20 : h[i]
            if c == first {
                var j = 1
                while j < n.count {
                    let d = fold && h[i + j] &- 65 < 26 ? h[i + j] | 0x20 : h[i + j]
                    if d != n[j] { break }
                    j += 1
                }
                if j == n.count { return true }
            }
            i += 1
        }
        return false
    }
}

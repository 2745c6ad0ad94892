/// RFC 2047 encoded-words (B and Q), with adjacent encoded-words joined (whitespace between them is
/// dropped, and adjacent words in the same charset are decoded together so that multi-byte
/// characters split across words survive). Text outside encoded-words is taken as UTF-8 (RFC 6532).
public enum RFC2047 {
    public static func decode<C: Collection>(_ input: C) -> String where C.Element == UInt8 {
        let b = Array(input)
        // fast path: nothing encoded and nothing to unfold
        if !b.contains(where: { $0 == 61 || $0 == CR || $0 == LF }) { return String(decoding: b, as: UTF8.self) }
        var result = ""
        var plain = [UInt8]()            // pending literal bytes
        var pendingWS = [UInt8]()        // whitespace after an encoded-word, dropped if another follows
        var pendingEncoded = [UInt8]()   // decoded bytes of adjacent encoded-words in one charset
        var pendingCharset: String? = nil
        var lastWasEncoded = false

        func flushEncoded() {
            if let cs = pendingCharset {
                result += Charset.decode(pendingEncoded, charset: cs)
                pendingEncoded.removeAll(keepingCapacity: true)
                pendingCharset = nil
            }
        }
        func flushPlain() {
            if !plain.isEmpty { result += String(decoding: plain, as: UTF8.self); plain.removeAll(keepingCapacity: true) }
        }
        var i = 0
        let n = b.count
        var noTerminatorBefore = 0   // no "?=" in b[..<this] after a failed scan: keeps this linear
        while i < n {
            if b[i] == 61, i + 1 < n, b[i + 1] == 63, let w = parseWord(b, at: i, noTerminatorBefore: &noTerminatorBefore) {   // "=?"
                if lastWasEncoded {
                    pendingWS.removeAll()
                } else {
                    plain.append(contentsOf: pendingWS); pendingWS.removeAll()
                    flushPlain()
                }
                if pendingCharset != nil && pendingCharset != w.charset { flushEncoded() }
                pendingCharset = w.charset
                pendingEncoded.append(contentsOf: w.bytes)
                lastWasEncoded = true
                i = w.end
                continue
            }
            let c = b[i]
            if isWSP(c) || c == CR || c == LF {
                if c != CR && c != LF { pendingWS.append(c) }
                i += 1
                continue
            }
            if lastWasEncoded { flushEncoded(); lastWasEncoded = false }
            plain.append(contentsOf: pendingWS); pendingWS.removeAll()
            plain.append(c)
            i += 1
        }
        flushEncoded()
        plain.append(contentsOf: pendingWS)
        flushPlain()
        return result
    }

    struct Word { var charset: String; var bytes: [UInt8]; var end: Int }

    /// Parses "=?charset?E?text?=" at `i`.
    static func parseWord(_ b: [UInt8], at start: Int, noTerminatorBefore: inout Int) -> Word? {
        let n = b.count
        var i = start + 2
        let csStart = i
        while i < n, b[i] != 63 {
            if b[i] <= 32 || b[i] >= 127 { return nil }
            i += 1
            if i - csStart > MIMELimits.maxEncodedWordCharsetLength { return nil }
        }
        guard i < n, i > csStart else { return nil }
        let charset = String(decoding: b[csStart..<i], as: UTF8.self)
        i += 1
        guard i + 1 < n, b[i + 1] == 63 else { return nil }
        let enc = lowerASCII(b[i])
        guard enc == 98 || enc == 113 else { return nil }   // b / q
        i += 2
        let textStart = i
        if textStart < noTerminatorBefore { return nil }   // an earlier scan saw no "?=" up to there
        while i + 1 < n, !(b[i] == 63 && b[i + 1] == 61) {
            if b[i] == CR || b[i] == LF || b[i] == SP || b[i] == TAB { noTerminatorBefore = i; return nil }
            i += 1
            if i - textStart > MIMELimits.maxEncodedWordTextLength { noTerminatorBefore = i; return nil }
        }
        guard i + 1 < n else { noTerminatorBefore = n; return nil }
        let text = b[textStart..<i]
        let bytes: [UInt8]
        if enc == 98 {
            bytes = TransferDecoding.base64(text)
        } else {
            var out = [UInt8](); out.reserveCapacity(text.count)
            var j = text.startIndex
            while j < text.endIndex {
                let c = text[j]
                if c == 95 { out.append(SP); j += 1; continue }
                if c == 61, j + 2 < text.endIndex, let h = hexValue(text[j + 1]), let l = hexValue(text[j + 2]) {
                    out.append(h << 4 | l); j += 3; continue
                }
                out.append(c); j += 1
            }
            bytes = out
        }
        return Word(charset: charset, bytes: bytes, end: i + 2)
    }
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: return c - 48
    case 65...70: return c - 55
    case 97...102: return c - 87
    default: return nil
    }
}

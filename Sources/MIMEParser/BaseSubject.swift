import Foundation

/// The "base subject" of RFC 5256 §2.1, which SORT SUBJECT orders by and THREAD groups by: the
/// subject without reply and forward artifacts (`Re:`, `Fwd:`, `[list]` blobs, a `(fwd)` trailer,
/// `[fwd: …]` wrapping). Pure; the steps are numbered as in the RFC.
public struct BaseSubject: Sendable, Hashable {
    /// The base subject, decoded (RFC 2047), in its original case.
    public var text: String
    /// The extraction removed a subj-refwd (`Re:`, `Fw:`, `Fwd:`), a `(fwd)` subj-trailer or a
    /// subj-fwd-hdr/subj-fwd-trl pair: the message is a reply or forward (THREAD=REFERENCES step 5).
    public var isReplyOrForward: Bool

    public init(text: String, isReplyOrForward: Bool) { self.text = text; self.isReplyOrForward = isReplyOrForward }

    /// The base subject of a raw Subject: value (encoded-words kept, folding allowed).
    public init(raw: some Collection<UInt8>) {
        self.init(decoded: RFC2047.decode(raw))
    }

    /// The base subject of a subject already decoded from RFC 2047 (steps 2 to 7 after step 1's
    /// whitespace rules).
    public init(decoded: String) {
        // (1) Tabs and continuations become a space; runs of spaces become one space.
        var s: [Unicode.Scalar] = []
        s.reserveCapacity(decoded.unicodeScalars.count)
        for c in decoded.unicodeScalars {
            switch c {
            case "\r", "\n": continue   // unfolding: the WSP after the line break stays
            case "\t", " ": if s.last != " " { s.append(" ") }
            default: s.append(c)
            }
        }
        var lo = 0, hi = s.count
        var replyOrForward = false

        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            (c.value >= 65 && c.value <= 90) ? Unicode.Scalar(c.value | 0x20)! : c
        }
        /// `word` (lower-case ASCII) at `i`, case-insensitively.
        func matches(_ word: String, at i: Int) -> Bool {
            var j = i
            for w in word.unicodeScalars {
                guard j < hi, lower(s[j]) == w else { return false }
                j += 1
            }
            return true
        }
        /// subj-blob = "[" *BLOBCHAR "]" *WSP: the index after it, or nil.
        func blob(at i: Int) -> Int? {
            guard i < hi, s[i] == "[" else { return nil }
            var j = i + 1
            while j < hi, s[j] != "]" {
                if s[j] == "[" { return nil }
                j += 1
            }
            guard j < hi else { return nil }
            j += 1
            while j < hi, s[j] == " " { j += 1 }
            return j
        }
        /// subj-leader = (*subj-blob subj-refwd) / WSP: the index after it, or nil.
        func leader(at i: Int) -> (end: Int, refwd: Bool)? {
            if i < hi, s[i] == " " { return (i + 1, false) }
            var j = i
            while let next = blob(at: j) { j = next }
            // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
            if matches("re", at: j) { j += 2 } else if matches("fwd", at: j) { j += 3 } else if matches("fw", at: j) { j += 2 } else { return nil }
            while j < hi, s[j] == " " { j += 1 }
            if let next = blob(at: j) { j = next }
            guard j < hi, s[j] == ":" else { return nil }
            return (j + 1, true)
        }

        while true {
            // (2) Remove subj-trailer ("(fwd)" / WSP) at the end until none is left.
            while hi > lo {
                if s[hi - 1] == " " { hi -= 1; continue }
                if hi - lo >= 5, matches("(fwd)", at: hi - 5) { hi -= 5; replyOrForward = true; continue }
                break
            }
            // (3), (4), (5): leaders, then a blob when something is left after it, until neither applies.
            var changed = true
            while changed {
                changed = false
                while let l = leader(at: lo) {
                    lo = l.end; changed = true
                    if l.refwd { replyOrForward = true }
                }
                if let end = blob(at: lo), end < hi {
                    lo = end; changed = true
                }
            }
            // (6) "[fwd:" … "]": unwrap and go again from (2).
            if hi - lo >= 6, matches("[fwd:", at: lo), s[hi - 1] == "]" {
                lo += 5; hi -= 1
                replyOrForward = true
                continue
            }
            break
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s[lo..<max(lo, hi)])
        self.text = String(out)
        self.isReplyOrForward = replyOrForward
    }

    /// The sort key of this base subject (`UnicodeCasemap`).
    public var key: [UInt8] { UnicodeCasemap.key(text) }
}

/// The i;unicode-casemap collation (RFC 5051), which RFC 5256 SORT and RFC 5957 DISPLAY sort with:
/// each character to its (simple) titlecase form, the result decomposed (NFKD); keys compare as
/// UTF-8 octets (`[UInt8].lexicographicallyPrecedes`).
public enum UnicodeCasemap {
    public static func key(_ text: String) -> [UInt8] {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return text.utf8.map { ($0 >= 97 && $0 <= 122) ? $0 - 32 : $0 }
        }
        var mapped = String.UnicodeScalarView()
        for c in text.unicodeScalars {
            // Simple (one-to-one) titlecase mapping: a character whose titlecase form is several
            // characters (ß → Ss) stays as it is.
            let t = c.properties.titlecaseMapping.unicodeScalars
            if t.count == 1, let m = t.first { mapped.append(m) } else { mapped.append(c) }
        }
        return Array(String(mapped).decomposedStringWithCompatibilityMapping.utf8)
    }
}

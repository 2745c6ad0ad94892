// Small byte helpers. The parser works on [UInt8] with indices; no String until a value is needed.

@usableFromInline let CR: UInt8 = 13
@usableFromInline let LF: UInt8 = 10
@usableFromInline let SP: UInt8 = 32
@usableFromInline let TAB: UInt8 = 9

@inline(__always) func isWSP(_ b: UInt8) -> Bool { b == SP || b == TAB }
@inline(__always) func lowerASCII(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b | 0x20 : b }

extension Array where Element == UInt8 {
    /// Index of the next LF at or after `from` (before `end`), or nil.
    @inline(__always)
    func indexOfLF(from: Int, end: Int) -> Int? {
        if from >= end { return nil }
        return self.withUnsafeBufferPointer { buf -> Int? in
            guard let base = buf.baseAddress else { return nil }
            guard let p = memchr(base + from, Int32(LF), end - from) else { return nil }
            return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
        }
    }
}

/// ASCII case-insensitive comparison of a byte slice with a lower-case ASCII literal.
@inline(__always)
func equalsLowercase(_ bytes: ArraySlice<UInt8>, _ lower: StaticString) -> Bool {
    guard bytes.count == lower.utf8CodeUnitCount else { return false }
    let p = lower.utf8Start
    var i = 0
    for b in bytes {
        if lowerASCII(b) != p[i] { return false }
        i += 1
    }
    return true
}

func lowercasedASCII<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    String(decoding: bytes.map(lowerASCII), as: UTF8.self)
}

func trimmedWSP(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var lo = s.startIndex, hi = s.endIndex
    while lo < hi, isWSP(s[lo]) || s[lo] == CR || s[lo] == LF { lo += 1 }
    while hi > lo, isWSP(s[hi - 1]) || s[hi - 1] == CR || s[hi - 1] == LF { hi -= 1 }
    return s[lo..<hi]
}

/// Removes CR and LF bytes (unfolding keeps the folding whitespace, as RFC 5322 §2.2.3 says).
func unfold(_ s: ArraySlice<UInt8>) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(s.count)
    for b in s where b != CR && b != LF { out.append(b) }
    return out
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

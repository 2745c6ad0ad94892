#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Charset conversion to Unicode through the C library's iconv (glibc covers ISO-2022-JP, GB18030,
/// Big5, KOI8-R, windows-125x, ISO-8859-x…). Invalid sequences become U+FFFD and decoding goes on.
public enum Charset {
    /// Decodes `bytes` labelled with `charset` (case-insensitive; nil or unknown → UTF-8 with
    /// replacement, which is also right for RFC 6532 headers and plain ASCII).
    public static func decode<C: Collection>(_ bytes: C, charset: String?) -> String where C.Element == UInt8 {
        let name = normalize(charset ?? "utf-8")
        switch name {
        case "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "", "unknown-8bit", "x-unknown", "default":
            return String(decoding: bytes, as: UTF8.self)
        case "iso-8859-1", "latin1", "iso8859-1", "l1":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default:
            if let s = iconvDecode(Array(bytes), from: iconvName(name)) { return s }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func normalize(_ s: String) -> String {
        var s = s.lowercased()
        s.removeAll { $0 == " " || $0 == "\"" || $0 == "\t" }
        if let star = s.firstIndex(of: "*") { s = String(s[..<star]) }   // RFC 2231 language suffix
        return s
    }

    static func iconvName(_ n: String) -> String {
        switch n {
        case "gb2312", "gbk", "x-gbk", "cp936", "euc-cn": return "GB18030"   // superset, what mail clients do
        case "ks_c_5601-1987", "ks_c_5601", "euc-kr", "x-windows-949": return "CP949"
        case "iso-8859-8-i": return "ISO-8859-8"
        case "shift-jis", "x-sjis", "sjis", "shift_jis": return "CP932"
        case "big5", "x-big5": return "BIG5-HKSCS"
        case "tis-620", "windows-874": return "CP874"
        case "utf-7", "unicode-1-1-utf-7": return "UTF-7"
        default: return n.uppercased()
        }
    }

    /// iconv with EILSEQ/EINVAL → U+FFFD, skipping one byte. Returns nil if the charset is unknown.
    static func iconvDecode(_ input: [UInt8], from charset: String) -> String? {
        let cd = iconv_open("UTF-8", charset)
        if cd == iconv_t(bitPattern: -1) { return nil }
        defer { iconv_close(cd) }
        var out = [UInt8]()
        out.reserveCapacity(input.count * 2 + 16)
        var chunk = [UInt8](repeating: 0, count: 4096)
        input.withUnsafeBufferPointer { inBuf in
            var inPtr = UnsafeMutablePointer<CChar>(mutating: UnsafeRawPointer(inBuf.baseAddress ?? UnsafePointer<UInt8>(bitPattern: 1)!).assumingMemoryBound(to: CChar.self))
            var inLeft = inBuf.count
            var guardCount = 0
            while true {
                let (rc, produced, err): (Int, Int, Int32) = chunk.withUnsafeMutableBufferPointer { ob in
                    var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(ob.baseAddress!).assumingMemoryBound(to: CChar.self)
                    var outLeft = ob.count
                    var ip: UnsafeMutablePointer<CChar>? = inPtr
                    let r = inLeft == 0 ? iconv(cd, nil, nil, &outPtr, &outLeft) : iconv(cd, &ip, &inLeft, &outPtr, &outLeft)
                    let e = r == -1 ? errno : 0
                    if let ip { inPtr = ip }
                    return (r, ob.count - outLeft, e)
                }
                out.append(contentsOf: chunk[0..<produced])
                if rc != -1 { if inLeft == 0 { break } else { continue } }
                if err == E2BIG { continue }
                // EILSEQ or EINVAL (truncated): substitute and skip one input byte
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                if inLeft == 0 { break }
                inPtr += 1; inLeft -= 1
                guardCount += 1
                if guardCount > input.count + 8 { break }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

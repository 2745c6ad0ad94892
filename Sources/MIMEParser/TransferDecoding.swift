/// Content-Transfer-Encoding decoders. Both are lenient like mainstream servers: invalid base64
/// characters are skipped, a broken quoted-printable escape is kept literally.
public enum TransferDecoding {
    static let base64Table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8).enumerated() {
            t[Int(c)] = UInt8(i)
        }
        return t
    }()

    public static func base64<C: Collection>(_ input: C) -> [UInt8] where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(input.count * 3 / 4 + 3)
        var acc: UInt32 = 0
        var bits = 0
        let table = base64Table
        for c in input {
            if c == 61 { break }      // '=' padding: end of data
            let v = table[Int(c)]
            if v == 0xFF { continue }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }

    public static func quotedPrintable<C: BidirectionalCollection>(_ input: C) -> [UInt8] where C.Element == UInt8, C.Index == Int {
        var out = [UInt8]()
        out.reserveCapacity(input.count)
        var i = input.startIndex
        let end = input.endIndex
        var lineStartOut = 0
        while i < end {
            let c = input[i]
            if c == 61 {   // '='
                if i + 2 < end + 0, i + 2 <= end - 1, let h = hexValue(input[i + 1]), let l = hexValue(input[i + 2]) {
                    out.append(h << 4 | l); i += 3; continue
                }
                // soft line break: "=" followed by optional whitespace then CRLF / LF / end
                var j = i + 1
                while j < end, isWSP(input[j]) { j += 1 }
                if j == end { i = j; continue }
                if input[j] == LF { i = j + 1; lineStartOut = out.count; continue }
                if input[j] == CR, j + 1 < end, input[j + 1] == LF { i = j + 2; lineStartOut = out.count; continue }
                out.append(c); i += 1; continue
            }
            if c == CR, i + 1 < end, input[i + 1] == LF {
                // strip trailing whitespace of the line (RFC 2045 §6.7 rule 3)
                while out.count > lineStartOut, isWSP(out[out.count - 1]) { out.removeLast() }
                out.append(CR); out.append(LF); i += 2; lineStartOut = out.count; continue
            }
            if c == LF {
                while out.count > lineStartOut, isWSP(out[out.count - 1]) { out.removeLast() }
                out.append(LF); i += 1; lineStartOut = out.count; continue
            }
            out.append(c); i += 1
        }
        return out
    }
}

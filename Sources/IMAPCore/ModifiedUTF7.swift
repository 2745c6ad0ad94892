/// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    public static func encode(_ name: String) -> String {
        var out: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            var bytes: [UInt8] = []
            for u in pending { bytes.append(UInt8(u >> 8)); bytes.append(UInt8(u & 0xFF)) }
            out.append(0x26)  // "&"
            var i = 0
            while i < bytes.count {
                let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
                let n = bytes.count - i
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                if n > 1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
                if n > 2 { out.append(alphabet[Int(b2 & 0x3F)]) }
                i += 3
            }
            out.append(0x2D)  // "-"
            pending.removeAll()
        }
        for scalar in name.unicodeScalars {
            let v = scalar.value
            if v >= 0x20 && v <= 0x7E {
                flush()
                out.append(UInt8(v))
                if v == 0x26 { out.append(0x2D) }
            } else {
                pending.append(contentsOf: Character(scalar).utf16)
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `wire` is not valid modified UTF-7.
    public static func decode(_ wire: String) -> String? {
        let bytes = Array(wire.utf8)
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b >= 0x20, b <= 0x7E else { return nil }
            if b != 0x26 {
                scalars.append(Unicode.Scalar(b))
                i += 1
                continue
            }
            i += 1
            guard let end = bytes[i...].firstIndex(of: 0x2D) else { return nil }
            if end == i {  // "&-"
                scalars.append("&")
                i += 1
                continue
            }
            // modified base64 of UTF-16BE
            var bits: UInt32 = 0, bitCount = 0
            var units: [UInt16] = []
            var byteBuffer: [UInt8] = []
            for c in bytes[i ..< end] {
                guard let v = alphabet.firstIndex(of: c) else { return nil }
                bits = (bits << 6) | UInt32(v)
                bitCount += 6
                if bitCount >= 8 {
                    bitCount -= 8
                    byteBuffer.append(UInt8((bits >> UInt32(bitCount)) & 0xFF))
                    bits &= (1 << UInt32(bitCount)) - 1
                }
            }
            // leftover bits must be zero padding (< 6 bits)
            guard bits == 0, bitCount < 6, byteBuffer.count % 2 == 0, !byteBuffer.isEmpty else { return nil }
            for j in stride(from: 0, to: byteBuffer.count, by: 2) {
                units.append(UInt16(byteBuffer[j]) << 8 | UInt16(byteBuffer[j + 1]))
            }
            var decoded = String.UnicodeScalarView()
            var it = units.makeIterator()
            var utf16 = UTF16()
            loop: while true {
                switch utf16.decode(&it) {
                case .scalarValue(let s):
                    // printable ASCII must not be encoded (RFC 3501 §5.1.3)
                    if s.value >= 0x20 && s.value <= 0x7E { return nil }
                    decoded.append(s)
                case .emptyInput: break loop
                case .error: return nil
                }
            }
            scalars.append(contentsOf: decoded)
            i = end + 1
        }
        return String(scalars)
    }
}

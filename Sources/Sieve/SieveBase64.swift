/// Base64 (RFC 4648) for the encoded words `addheader` writes.
enum SieveBase64 {
    private static let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static func encode(_ b: [UInt8]) -> String {
        var out = [UInt8]()
        var i = 0
        while i + 2 < b.count {
            let n = (UInt32(b[i]) << 16) | (UInt32(b[i + 1]) << 8) | UInt32(b[i + 2])
            out += [table[Int(n >> 18)], table[Int((n >> 12) & 63)], table[Int((n >> 6) & 63)], table[Int(n & 63)]]
            i += 3
        }
        if b.count - i == 1 {
            let n = UInt32(b[i]) << 16
            out += [table[Int(n >> 18)], table[Int((n >> 12) & 63)], 61, 61]
        } else if b.count - i == 2 {
            let n = (UInt32(b[i]) << 16) | (UInt32(b[i + 1]) << 8)
            out += [table[Int(n >> 18)], table[Int((n >> 12) & 63)], table[Int((n >> 6) & 63)], 61]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

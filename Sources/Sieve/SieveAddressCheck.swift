/// Checks and normalises an RFC 5322 addr-spec as `redirect`, `vacation :from/:addresses` and
/// `envelope` use it (RFC 5228 §4.2): `local@domain`, local part a dot-atom or quoted string.
enum SieveAddressCheck {
    private static let atext: Set<UInt8> = Set(Array("!#$%&'*+-/=?^_`{|}~".utf8))

    static func isAtext(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 0x80 || atext.contains(c)
    }

    /// The address without angle brackets or surrounding white space, or nil when it is not one.
    static func normalize(_ text: String) -> String? {
        var s = Substring(text).drop { $0 == " " || $0 == "\t" }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        if s.first == "<" && s.last == ">" { s = s.dropFirst().dropLast() }
        let u = Array(s.utf8)
        guard let at = u.lastIndex(of: UInt8(ascii: "@")), at > 0, at < u.count - 1 else { return nil }
        let local = u[..<at], domain = u[(at + 1)...]
        if local.first == UInt8(ascii: "\"") {
            guard local.count >= 2, local.last == UInt8(ascii: "\"") else { return nil }
        } else {
            let parts = local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            for p in parts { guard !p.isEmpty, p.allSatisfy(isAtext) else { return nil } }
        }
        if domain.first == UInt8(ascii: "[") {
            guard domain.last == UInt8(ascii: "]") else { return nil }
        } else {
            let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            for l in labels {
                guard !l.isEmpty, l.allSatisfy({ isAtext($0) && $0 != UInt8(ascii: "@") }) else { return nil }
            }
        }
        return String(s)
    }

    /// Splits `local@domain` (the last `@`); nil parts when absent.
    static func split(_ address: String) -> (local: String, domain: String?) {
        guard let at = address.lastIndex(of: "@") else { return (address, nil) }
        return (String(address[..<at]), String(address[address.index(after: at)...]))
    }
}

import Foundation
import MIMEParser

/// Checks and normalises an address as `redirect`, `vacation :from/:addresses` and `envelope`
/// use it (RFC 5228 §4.2): a mailbox (`local@domain` or `Name <local@domain>`, RFC 5322), parsed
/// with MIMEParser; the result is the bare `local@domain`, the local part quoted only when it
/// is not a dot-atom.
enum SieveAddressCheck {
    private static let atext: Set<UInt8> = Set(Array("!#$%&'*+-/=?^_`{|}~".utf8))

    static func isAtext(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || atext.contains(c)
    }

    static func isDotAtom(_ s: String) -> Bool {
        let parts = s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(isAtext) }
    }

    /// The address as `local@domain`, or nil when `text` is not exactly one valid mailbox.
    static func normalize(_ text: String) -> String? {
        let list = MailAddress.parseList(Array(text.utf8))
        guard list.count == 1, let local = list[0].mailbox, !local.isEmpty, let domain = list[0].host, !domain.isEmpty else {
            return nil
        }
        // the domain: dot-atom labels or a domain literal
        if domain.hasPrefix("[") {
            guard domain.hasSuffix("]") else { return nil }
        } else {
            guard isDotAtom(domain), domain.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        }
        guard local.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { return nil }
        let shownLocal = isDotAtom(local) ? local
            : "\"" + local.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        return shownLocal + "@" + domain
    }

    /// Splits `local@domain` (the last `@`); nil parts when absent.
    static func split(_ address: String) -> (local: String, domain: String?) {
        guard let at = address.lastIndex(of: "@") else { return (address, nil) }
        return (String(address[..<at]), String(address[address.index(after: at)...]))
    }
}

import Foundation

/// A Sieve script (RFC 5228) of an alias, as ManageSieve (RFC 5804) and `sealbox sieve` store it.
/// At most one script of an alias is active: the one the MX runs for its mail.
public struct SieveScriptRecord: Sendable, Hashable {
    public var aliasID: String
    /// RFC 5804 §1.6: UTF-8 (NFC), no control characters, 1…`SieveScriptRecord.maxNameLength` characters.
    public var name: String
    public var content: String
    public var active: Bool
    public var updated: Date

    public init(aliasID: String, name: String, content: String, active: Bool, updated: Date) {
        self.aliasID = aliasID; self.name = name; self.content = content; self.active = active; self.updated = updated
    }

    /// Characters in a script name (Dovecot's managesieved allows 256 bytes; names here count characters).
    public static let maxNameLength = 128
    /// Bytes of one script (Pigeonhole's `sieve_max_script_size` default).
    public static let maxScriptBytes = 1 << 20
    /// Scripts per alias (`sieve_quota_max_scripts`).
    public static let maxScripts = 32
    /// Bytes of all of an alias's scripts together (`sieve_quota_max_storage`).
    public static let maxStorageBytes = 4 << 20

    /// Why `name` is not a valid script name (RFC 5804 §1.6), or nil.
    public static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "script name is empty" }
        if name.count > maxNameLength { return "script name is longer than \(maxNameLength) characters" }
        for scalar in name.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 {
                return "script name contains a control character"
            }
        }
        if name.precomposedStringWithCanonicalMapping != name { return "script name is not in Unicode normalization form C" }
        return nil
    }
}

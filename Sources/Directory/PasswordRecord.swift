import Foundation

/// One password of a mailbox: it wraps the mailbox's data key. The directory stores the record and
/// never interprets `kdf`, `salt` or `wrappedKey`.
public struct PasswordRecord: Sendable, Hashable {
    /// Short random lower-case hex id shown to the admin (`DirectoryID.randomPasswordID()`),
    /// unique per alias.
    public var id: String
    public var aliasID: String
    public var label: String?
    /// Millisecond precision, like `lastUsed` (see `DirectoryDate`).
    public var created: Date { didSet { created = DirectoryDate.normalized(created) } }
    public var lastUsed: Date? { didSet { lastUsed = lastUsed.map(DirectoryDate.normalized) } }
    /// e.g. `scrypt:N=32768,r=8,p=1`.
    public var kdf: String
    public var salt: [UInt8]
    public var wrappedKey: [UInt8]
    /// Where this password finds the mailbox's backups (`KeyHierarchy.backupLocator`): a keyed
    /// hash of the address under a key only the password gives; nil until computed (the node sees
    /// the password when it is made, and at a login for older entries).
    public var backupLocator: String?

    /// At most one write a minute per password (as for admin tokens): a client that logs in for
    /// every check of new mail, or many sessions at once, is not a directory write each.
    public static func shouldRecordUse(_ record: PasswordRecord, now: Date) -> Bool {
        record.lastUsed.map { now.timeIntervalSince($0) >= 60 } ?? true
    }

    public init(
        id: String = DirectoryID.randomPasswordID(), aliasID: String, label: String? = nil, created: Date = Date(),
        lastUsed: Date? = nil, kdf: String, salt: [UInt8], wrappedKey: [UInt8], backupLocator: String? = nil
    ) {
        self.id = id
        self.aliasID = aliasID
        self.label = label
        self.created = DirectoryDate.normalized(created)
        self.lastUsed = lastUsed.map(DirectoryDate.normalized)
        self.kdf = kdf
        self.salt = salt
        self.wrappedKey = wrappedKey
        self.backupLocator = backupLocator
    }
}

extension PasswordRecord: CustomStringConvertible {
    /// Never shows the salt or the wrapped key.
    public var description: String {
        "PasswordRecord(id: \(id), aliasID: \(aliasID), label: \(label.map { "\"\($0)\"" } ?? "nil"), kdf: \(kdf))"
    }
}

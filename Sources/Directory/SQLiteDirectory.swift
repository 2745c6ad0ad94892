import Foundation
import GRDB
import MailCore
import SQLiteCipher

/// The directory in one SQLite file encrypted with SQLite3 Multiple Ciphers (`EncryptedDatabase`),
/// for a single machine. Schema versioned with `DatabaseMigrator` and upgraded at open.
///
/// Every lookup column is indexed: `domain.name`, `alias.id`, `alias.canonical` (UNIQUE),
/// `alias.domain`, `alias.mailbox_id` (UNIQUE), `password(alias_id, id)`.
/// The file is created with mode 0600.
public final class SQLiteDirectory: MailDirectory {
    let pool: DatabasePool

    /// Opens (creating if missing) and migrates the directory at `path`.
    /// Throws `EncryptedDatabase.Failure` for a wrong key (or a damaged file),
    /// `DirectoryError(.schemaTooNew)` for a file written by a newer Sealbox.
    public init(path: String, key: SecretBytes) throws {
        pool = try EncryptedDatabase.openPool(path: path, key: key, label: "sealbox.directory")
        _ = chmod(path, 0o600)
        let migrator = Self.migrator
        if try pool.read({ db in try migrator.hasBeenSuperseded(db) }) {
            throw DirectoryError(.schemaTooNew, "the directory was written by a newer version of Sealbox; refusing to open it")
        }
        try migrator.migrate(pool)
    }

    /// Checkpoints the WAL into the file (best effort) and closes the database; the instance is
    /// unusable afterwards. Optional: deinit closes too, leaving the WAL for the next open.
    public func close() throws {
        _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try pool.close()
    }

    // MARK: Domains

    public func addDomain(_ domain: Domain) async throws -> DomainRecord {
        let record = DomainRecord(domain: domain)
        try await pool.write { db in
            if try Self.domainExists(db, domain) { throw DirectoryError.domainExists(domain) }
            try db.execute(sql: "INSERT INTO domain (name, created) VALUES (?, ?)",
                           arguments: [domain.ascii, DirectoryDate.string(record.created)])
        }
        return record
    }

    public func domains() async throws -> [DomainRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, created, default_quota_bytes FROM domain ORDER BY name").map(Self.domainRecord)
        }
    }

    public func domain(_ domain: Domain) async throws -> DomainRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT name, created, default_quota_bytes FROM domain WHERE name = ?", arguments: [domain.ascii])
                .map(Self.domainRecord)
        }
    }

    public func setDefaultQuota(_ domain: Domain, bytes: Int64?) async throws {
        if let bytes, bytes < 0 { throw DirectoryError(.invalidQuota, "a quota cannot be negative") }
        try await pool.write { db in
            guard try Self.domainExists(db, domain) else { throw DirectoryError.noSuchDomain(domain) }
            try db.execute(sql: "UPDATE domain SET default_quota_bytes = ? WHERE name = ?", arguments: [bytes, domain.ascii])
        }
    }

    public func removeDomain(_ domain: Domain) async throws {
        try await pool.write { db in
            guard try Self.domainExists(db, domain) else { throw DirectoryError.noSuchDomain(domain) }
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM alias WHERE domain = ?", arguments: [domain.ascii]) ?? 0
            if count > 0 {
                throw DirectoryError(.domainHasAliases, "domain \(domain) still has \(count) alias\(count == 1 ? "" : "es"); remove them first")
            }
            try db.execute(sql: "DELETE FROM domain WHERE name = ?", arguments: [domain.ascii])
        }
    }

    // MARK: Aliases

    public func addAlias(
        _ address: EmailAddress, store: Bool, forwardTo: [EmailAddress], webhooks: [String], quotaBytes: Int64?
    ) async throws -> AliasRecord {
        try await insertAlias(AliasRecord(address: address, store: store, forwardTo: forwardTo, webhooks: webhooks, quotaBytes: quotaBytes))
    }

    public func restoreAlias(_ restored: AliasRecord) async throws -> AliasRecord {
        try await DirectoryRules.restoreAlias(restored, in: self, insert: insertAlias)
    }

    /// Validates and inserts an alias with the record's id and creation date (no mailbox yet).
    private func insertAlias(_ proposed: AliasRecord) async throws -> AliasRecord {
        let record = try DirectoryRules.validatedAlias(proposed)
        let address = record.address, store = record.store, quotaBytes = record.quotaBytes
        let forwards = record.forwardTo, hooks = record.webhooks
        if try await alias(id: record.id) != nil { throw DirectoryError(.aliasExists, "an alias with this id already exists") }
        let forwardJSON = try Self.json(forwards.map(\.asciiDomainForm))
        let hooksJSON = try Self.json(hooks)
        try await pool.write { db in
            guard try Self.domainExists(db, address.domain) else { throw DirectoryError.noSuchDomain(address.domain) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM alias WHERE canonical = ?", arguments: [address.canonical]) != nil {
                throw DirectoryError(.aliasExists, "alias \(address) already exists")
            }
            try db.execute(
                sql: """
                    INSERT INTO alias (id, canonical, local_part, domain, store, forward_to, webhooks, quota_bytes, created)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [record.id, address.canonical, address.localPart, address.domain.ascii, store,
                            forwardJSON, hooksJSON, quotaBytes, DirectoryDate.string(record.created)])
        }
        return record
    }

    public func alias(id: String) async throws -> AliasRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alias WHERE id = ?", arguments: [id]).map(Self.aliasRecord)
        }
    }

    public func alias(address: EmailAddress) async throws -> AliasRecord? {
        let canonical = address.canonical
        return try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alias WHERE canonical = ?", arguments: [canonical]).map(Self.aliasRecord)
        }
    }

    public func resolveRecipient(_ address: EmailAddress) async throws -> AliasRecord? {
        let exact = address.canonical
        let base = address.subaddressBase?.canonical
        return try await pool.read { db in
            // Once per RCPT: the statement is prepared once per reader connection, not at each call.
            let statement = try db.cachedStatement(sql: "SELECT * FROM alias WHERE canonical = ?")
            if let row = try Row.fetchOne(statement, arguments: [exact]) {
                return try Self.aliasRecord(row)
            }
            guard let base else { return nil }
            return try Row.fetchOne(statement, arguments: [base]).map(Self.aliasRecord)
        }
    }

    public func aliases(domain: Domain?) async throws -> [AliasRecord] {
        try await pool.read { db in
            if let domain {
                guard try Self.domainExists(db, domain) else { throw DirectoryError.noSuchDomain(domain) }
                return try Row.fetchAll(db, sql: "SELECT * FROM alias WHERE domain = ? ORDER BY canonical",
                                        arguments: [domain.ascii]).map(Self.aliasRecord)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM alias ORDER BY domain, canonical").map(Self.aliasRecord)
        }
    }

    public func removeAlias(id: String) async throws {
        try await pool.write { db in
            // Passwords go with it (ON DELETE CASCADE; deleted explicitly too, to not depend on the pragma).
            try db.execute(sql: "DELETE FROM password WHERE alias_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM sieve_script WHERE alias_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM alias WHERE id = ?", arguments: [id])
            if db.changesCount == 0 { throw DirectoryError.noSuchAlias(id) }
        }
    }

    public func setMailbox(aliasID: String, mailboxID: String, publicKey: [UInt8]) async throws {
        try DirectoryRules.validateMailbox(mailboxID: mailboxID, publicKey: publicKey)
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT store, mailbox_id, canonical FROM alias WHERE id = ?",
                                             arguments: [aliasID])
            else { throw DirectoryError.noSuchAlias(aliasID) }
            let canonical: String = row["canonical"]
            guard row["store"] as Bool else {
                throw DirectoryError(.aliasDoesNotStore, "alias \(canonical) does not store mail, so it has no mailbox")
            }
            if let current: String = row["mailbox_id"], current != mailboxID {
                throw DirectoryError(.mailboxAlreadySet, "alias \(canonical) already has mailbox \(current)")
            }
            if let other = try String.fetchOne(db, sql: "SELECT canonical FROM alias WHERE mailbox_id = ? AND id != ?",
                                               arguments: [mailboxID, aliasID]) {
                throw DirectoryError(.mailboxInUse, "mailbox \(mailboxID) already belongs to alias \(other)")
            }
            try db.execute(sql: "UPDATE alias SET mailbox_id = ?, public_key = ? WHERE id = ?",
                           arguments: [mailboxID, Data(publicKey), aliasID])
        }
    }

    // MARK: Passwords

    public func addPassword(_ record: PasswordRecord) async throws {
        try DirectoryRules.validatePassword(record)
        try await pool.write { db in
            guard try Self.aliasExists(db, record.aliasID) else { throw DirectoryError.noSuchAlias(record.aliasID) }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM password WHERE alias_id = ? AND id = ?",
                                 arguments: [record.aliasID, record.id]) != nil {
                throw DirectoryError(.passwordExists, "alias \(record.aliasID) already has a password \(record.id)")
            }
            try db.execute(
                sql: """
                    INSERT INTO password (alias_id, id, label, created, last_used, kdf, salt, wrapped_key, backup_locator)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [record.aliasID, record.id, record.label, DirectoryDate.string(record.created),
                            record.lastUsed.map(DirectoryDate.string), record.kdf, Data(record.salt), Data(record.wrappedKey),
                            record.backupLocator])
        }
    }

    public func passwords(aliasID: String) async throws -> [PasswordRecord] {
        try await pool.read { db in
            guard try Self.aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
            return try Row.fetchAll(db, sql: "SELECT * FROM password WHERE alias_id = ? ORDER BY created, id",
                                    arguments: [aliasID]).map(Self.passwordRecord)
        }
    }

    public func updatePassword(_ record: PasswordRecord) async throws {
        try DirectoryRules.validatePassword(record)
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE password SET label = ?, kdf = ?, salt = ?, wrapped_key = ?, backup_locator = ? WHERE alias_id = ? AND id = ?",
                arguments: [record.label, record.kdf, Data(record.salt), Data(record.wrappedKey), record.backupLocator, record.aliasID, record.id])
            if db.changesCount == 0 { throw DirectoryError.noSuchPassword(record.aliasID, record.id) }
        }
    }

    public func removePassword(aliasID: String, passwordID: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM password WHERE alias_id = ? AND id = ?", arguments: [aliasID, passwordID])
            if db.changesCount == 0 { throw DirectoryError.noSuchPassword(aliasID, passwordID) }
        }
    }

    public func recordPasswordUse(aliasID: String, passwordID: String, at date: Date) async throws {
        let stamp = DirectoryDate.string(date)
        try await pool.write { db in
            try db.execute(sql: "UPDATE password SET last_used = ? WHERE alias_id = ? AND id = ?",
                           arguments: [stamp, aliasID, passwordID])
            if db.changesCount == 0 { throw DirectoryError.noSuchPassword(aliasID, passwordID) }
        }
    }

    public func setBackupLocator(aliasID: String, passwordID: String, locator: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE password SET backup_locator = ? WHERE alias_id = ? AND id = ?",
                           arguments: [locator, aliasID, passwordID])
            if db.changesCount == 0 { throw DirectoryError.noSuchPassword(aliasID, passwordID) }
        }
    }

    // MARK: DKIM keys

    public func dkimKeys(domain: Domain) async throws -> [DKIMKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT domain, selector, algorithm, private_key, created, retired FROM dkim_key
                WHERE domain = ? ORDER BY created, selector
                """, arguments: [domain.ascii]).map(Self.dkimKeyRecord)
        }
    }

    public func rotateDKIMKeys(domain: Domain, adding records: [DKIMKeyRecord], retiring: Date, removingRetiredBefore: Date) async throws {
        for record in records {
            guard record.domain == domain, DKIMKeyRecord.isValidSelector(record.selector),
                  ["ed25519", "rsa"].contains(record.algorithm), !record.privateKey.isEmpty, record.retired == nil
            else { throw DirectoryError(.invalidDKIMKey, "invalid DKIM key record for \(domain)") }
        }
        try await pool.write { db in
            guard try Self.domainExists(db, domain) else { throw DirectoryError.noSuchDomain(domain) }
            try db.execute(sql: "DELETE FROM dkim_key WHERE domain = ? AND retired IS NOT NULL AND retired < ?",
                           arguments: [domain.ascii, DirectoryDate.string(removingRetiredBefore)])
            try db.execute(sql: "UPDATE dkim_key SET retired = ? WHERE domain = ? AND retired IS NULL",
                           arguments: [DirectoryDate.string(retiring), domain.ascii])
            for record in records {
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM dkim_key WHERE domain = ? AND selector = ?",
                                     arguments: [domain.ascii, record.selector]) == true {
                    throw DirectoryError(.invalidDKIMKey, "DKIM selector \(record.selector) of \(domain) is already in use")
                }
                try db.execute(sql: """
                    INSERT INTO dkim_key (domain, selector, algorithm, private_key, created, retired) VALUES (?, ?, ?, ?, ?, NULL)
                    """, arguments: [domain.ascii, record.selector, record.algorithm, Data(record.privateKey), DirectoryDate.string(record.created)])
            }
        }
    }

    // MARK: Rows

    static func domainExists(_ db: Database, _ domain: Domain) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM domain WHERE name = ?", arguments: [domain.ascii]) != nil
    }

    static func aliasExists(_ db: Database, _ id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM alias WHERE id = ?", arguments: [id]) != nil
    }

    private static func json(_ strings: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(strings), as: UTF8.self)
    }

    private static func strings(_ json: String, _ column: String) throws -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(json.utf8))
        } catch {
            throw DirectoryError(.corruptRecord, "unreadable \(column) in the directory")
        }
    }

    private static func date(_ text: String, _ column: String) throws -> Date {
        guard let date = DirectoryDate.date(text) else {
            throw DirectoryError(.corruptRecord, "unreadable date in \(column) of the directory")
        }
        return date
    }

    private static func domainRecord(_ row: Row) throws -> DomainRecord {
        let name: String = row["name"]
        do {
            return DomainRecord(domain: try Domain(name), created: try date(row["created"], "domain.created"),
                                defaultQuotaBytes: row["default_quota_bytes"])
        } catch let error as AddressError {
            throw DirectoryError(.corruptRecord, "stored domain is invalid: \(error)")
        }
    }

    private static func aliasRecord(_ row: Row) throws -> AliasRecord {
        do {
            let address = try EmailAddress((row["local_part"] as String) + "@" + (row["domain"] as String))
            let forwards = try strings(row["forward_to"], "alias.forward_to").map { text throws(AddressError) in
                try EmailAddress(text)
            }
            let publicKey: Data? = row["public_key"]
            return AliasRecord(
                id: row["id"], address: address, store: row["store"], forwardTo: forwards,
                webhooks: try strings(row["webhooks"], "alias.webhooks"), quotaBytes: row["quota_bytes"],
                mailboxID: row["mailbox_id"], publicKey: publicKey.map { [UInt8]($0) },
                created: try date(row["created"], "alias.created"))
        } catch let error as AddressError {
            throw DirectoryError(.corruptRecord, "stored address is invalid: \(error)")
        }
    }

    private static func dkimKeyRecord(_ row: Row) throws -> DKIMKeyRecord {
        let name: String = row["domain"]
        guard let domain = try? Domain(name) else { throw DirectoryError(.corruptRecord, "unreadable domain in a DKIM key record") }
        let key: Data = row["private_key"]
        let retired: String? = row["retired"]
        return DKIMKeyRecord(domain: domain, selector: row["selector"], algorithm: row["algorithm"], privateKey: Array(key),
                             created: try date(row["created"], "dkim_key.created"), retired: try retired.map { try date($0, "dkim_key.retired") })
    }

    private static func passwordRecord(_ row: Row) throws -> PasswordRecord {
        let salt: Data = row["salt"]
        let wrapped: Data = row["wrapped_key"]
        let lastUsed: String? = row["last_used"]
        return PasswordRecord(
            id: row["id"], aliasID: row["alias_id"], label: row["label"],
            created: try date(row["created"], "password.created"),
            lastUsed: try lastUsed.map { try date($0, "password.last_used") },
            kdf: row["kdf"], salt: [UInt8](salt), wrappedKey: [UInt8](wrapped), backupLocator: row["backup_locator"])
    }
}

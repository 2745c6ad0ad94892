import Directory
import Foundation
import MailCore
import PostgresNIO

/// What `sealbox directory copy` moved (or found already there).
public struct DirectoryCopySummary: Sendable, Hashable, CustomStringConvertible {
    public var domains = 0
    public var aliases = 0
    public var passwords = 0
    public var sendAs = 0
    public var dkimKeys = 0
    public var sieveScripts = 0
    public var adminTokens = 0
    /// The target already held exactly this directory: nothing was written.
    public var alreadyCopied = false

    public init() {}

    public var description: String {
        "\(domains) domain\(domains == 1 ? "" : "s"), \(aliases) alias\(aliases == 1 ? "" : "es"), \(passwords) password\(passwords == 1 ? "" : "s"), "
            + "\(sendAs) send-as address\(sendAs == 1 ? "" : "es"), \(dkimKeys) DKIM key\(dkimKeys == 1 ? "" : "s"), "
            + "\(sieveScripts) Sieve script\(sieveScripts == 1 ? "" : "s"), \(adminTokens) admin token\(adminTokens == 1 ? "" : "s")"
    }
}

extension PostgresDirectory {
    /// Everything of a directory that outlives a message: read through `MailDirectory` from any backend.
    struct Snapshot: Sendable {
        var domains: [DomainRecord] = []
        var aliases: [AliasRecord] = []
        var passwords: [PasswordRecord] = []
        var sendAs: [(aliasID: String, address: String)] = []
        var dkimKeys: [DKIMKeyRecord] = []
        var sieveScripts: [SieveScriptRecord] = []
        var adminTokens: [AdminTokenRecord] = []

        var summary: DirectoryCopySummary {
            var s = DirectoryCopySummary()
            s.domains = domains.count; s.aliases = aliases.count; s.passwords = passwords.count; s.sendAs = sendAs.count
            s.dkimKeys = dkimKeys.count; s.sieveScripts = sieveScripts.count; s.adminTokens = adminTokens.count
            return s
        }

        static func read(_ source: any MailDirectory) async throws -> Snapshot {
            var snapshot = Snapshot()
            snapshot.domains = try await source.domains()
            snapshot.aliases = try await source.aliases(domain: nil)
            for alias in snapshot.aliases {
                snapshot.passwords += try await source.passwords(aliasID: alias.id)
                snapshot.sendAs += try await source.sendAs(aliasID: alias.id).map { (alias.id, $0) }
                snapshot.sieveScripts += try await source.sieveScripts(aliasID: alias.id)
            }
            for domain in snapshot.domains { snapshot.dkimKeys += try await source.dkimKeys(domain: domain.domain) }
            snapshot.adminTokens = try await source.adminTokens()
            return snapshot
        }
    }

    /// The directory tables, children first (the order `--force` empties them in).
    static let directoryTables = ["sieve_run_error", "sieve_memory", "sieve_script", "submission_log", "alias_send_as", "password",
                                  "dkim_key", "alias", "domain", "admin_token"]

    /// Row counts of the tables a copy fills.
    func counts() async throws -> DirectoryCopySummary {
        let row = try await query("""
            SELECT (SELECT count(*) FROM domain), (SELECT count(*) FROM alias), (SELECT count(*) FROM password),
                   (SELECT count(*) FROM alias_send_as), (SELECT count(*) FROM dkim_key), (SELECT count(*) FROM sieve_script),
                   (SELECT count(*) FROM admin_token)
            """).first
        var s = DirectoryCopySummary()
        if let row {
            (s.domains, s.aliases, s.passwords, s.sendAs, s.dkimKeys, s.sieveScripts, s.adminTokens) =
                try row.decode((Int, Int, Int, Int, Int, Int, Int).self)
        }
        return s
    }

    /// Copies `source` (the single-machine directory) into this one, keeping every id, date,
    /// mailbox, public key, password entry (with its backup locator), send-as address, DKIM key,
    /// Sieve script (and which is active) and admin token, in one transaction; then checks the
    /// counts. Sieve memories and submission counters are not copied (they only say what happened
    /// lately). A non-empty target is refused unless `force` (which empties it first), except
    /// when it already holds exactly this directory (same aliases, same counts): then nothing is
    /// written and `alreadyCopied` is set.
    public func copy(from source: any MailDirectory, force: Bool) async throws -> DirectoryCopySummary {
        let snapshot = try await Snapshot.read(source)
        let expected = snapshot.summary
        let present = try await counts()
        let targetEmpty = present == DirectoryCopySummary()
        if !targetEmpty && !force {
            let targetIDs = Set(try await query("SELECT id FROM alias").map { try $0.decode(String.self) })
            if present == expected && targetIDs == Set(snapshot.aliases.map(\.id)) {
                var same = expected
                same.alreadyCopied = true
                return same
            }
            throw PostgresDirectoryError("the PostgreSQL directory at \(configuration.url) is not empty (\(present)); "
                                         + "copy into an empty database, or give --force to replace what it holds")
        }
        try await transaction { tx in
            if force {
                for table in Self.directoryTables { try await tx.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table)")) }
            }
            for d in snapshot.domains {
                try await tx.query("INSERT INTO domain (name, created, default_quota_bytes) VALUES (\(d.domain.ascii), \(d.created), \(d.defaultQuotaBytes))")
            }
            for a in snapshot.aliases {
                _ = try DirectoryRules.validateAlias(a.address, store: a.store, forwardTo: a.forwardTo, webhooks: a.webhooks, quotaBytes: a.quotaBytes)
                let forwards = a.forwardTo.map(\.asciiDomainForm)
                try await tx.query("""
                    INSERT INTO alias (id, canonical, local_part, domain, store, forward_to, webhooks, quota_bytes, mailbox_id, public_key, created)
                    VALUES (\(a.id), \(a.address.canonical), \(a.address.localPart), \(a.address.domain.ascii), \(a.store), \(forwards), \(a.webhooks),
                            \(a.quotaBytes), \(a.mailboxID), \(a.publicKey.map { Data($0) }), \(a.created))
                    """)
            }
            for p in snapshot.passwords {
                try DirectoryRules.validatePassword(p)
                try await tx.query("""
                    INSERT INTO password (\(unescaped: Self.passwordColumns))
                    VALUES (\(p.aliasID), \(p.id), \(p.label), \(p.created), \(p.lastUsed), \(p.kdf), \(Data(p.salt)), \(Data(p.wrappedKey)), \(p.backupLocator))
                    """)
            }
            for entry in snapshot.sendAs {
                try await tx.query("INSERT INTO alias_send_as (alias_id, address) VALUES (\(entry.aliasID), \(entry.address))")
            }
            for k in snapshot.dkimKeys {
                try await tx.query("""
                    INSERT INTO dkim_key (domain, selector, algorithm, private_key, created, retired)
                    VALUES (\(k.domain.ascii), \(k.selector), \(k.algorithm), \(Data(k.privateKey)), \(k.created), \(k.retired))
                    """)
            }
            for s in snapshot.sieveScripts {
                try await tx.query("""
                    INSERT INTO sieve_script (alias_id, name, content, active, updated)
                    VALUES (\(s.aliasID), \(s.name), \(s.content), \(s.active), \(DirectoryDate.normalized(s.updated)))
                    """)
            }
            for t in snapshot.adminTokens {
                try await tx.query("""
                    INSERT INTO admin_token (id, label, hash, created, last_used) VALUES (\(t.id), \(t.label), \(Data(t.hash)), \(t.created), \(t.lastUsed))
                    """)
            }
        }
        let copied = try await counts()
        guard copied == expected else {
            throw PostgresDirectoryError("the copy does not match its source: expected \(expected), found \(copied)")
        }
        return copied
    }
}

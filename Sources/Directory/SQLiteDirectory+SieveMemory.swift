import Crypto
import Foundation
import GRDB

/// What a Sieve memory entry remembers: a vacation reply sent to a sender (RFC 5230 §4.2), or an
/// id the `duplicate` test saw (RFC 7352).
public enum SieveMemoryKind: Int, Sendable, Hashable, CaseIterable {
    case vacation = 1
    case duplicate = 2
}

/// One remembered key, as stored: its keyed hash (`SieveMemoryHasher`) and when it is forgotten.
public struct SieveMemoryEntry: Sendable, Hashable {
    public var digest: [UInt8]
    public var expires: Date
    public init(digest: [UInt8], expires: Date) { self.digest = digest; self.expires = expires }
}

/// A run-time failure of an alias's active script, kept where the user can see it (the message
/// was kept in INBOX instead). Only the script's name and the diagnostic: never the message.
public struct SieveRunErrorRecord: Sendable, Hashable {
    public var at: Date
    public var script: String
    public var message: String
    public init(at: Date, script: String, message: String) { self.at = at; self.script = script; self.message = message }
}

/// Keys the Sieve memories with a secret of the node: HMAC-SHA256 over the alias id, the kind and
/// the key (a sender address and a vacation handle, or a `duplicate` id). The directory stores
/// only the 32-byte result: whoever reads the directory learns neither addresses nor message
/// ids, and cannot test a guessed address without the secret; the alias id in the input makes
/// the same sender under two aliases two unrelated rows.
public struct SieveMemoryHasher: Sendable {
    private let key: SymmetricKey

    /// `secret`: at least 32 bytes of a node secret (the node derives it from its node key).
    public init(secret: [UInt8]) { key = SymmetricKey(data: secret) }

    public func digest(aliasID: String, kind: SieveMemoryKind, key text: String) -> [UInt8] {
        var input = Array("sealbox.sieve.memory.v1".utf8)
        input.append(0); input += Array(aliasID.utf8)
        input.append(0); input.append(UInt8(kind.rawValue))
        input.append(0); input += Array(text.utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: input, using: key))
    }
}

extension SQLiteDirectory {
    /// Rows kept per alias and kind: past it, the entries closest to expiry go first (a flood of
    /// senders cannot grow the directory; it can only make a vacation answer someone again early).
    public static let maxSieveMemoriesPerAlias = 5_000
    /// Run errors kept per alias (the newest).
    public static let maxSieveRunErrors = 20
    /// Bytes of one recorded diagnostic.
    public static let maxSieveRunErrorBytes = 1_000

    static func registerSieveMemoryMigration(_ migrator: inout DatabaseMigrator) {
        // Sieve's memories (vacation "already answered", `duplicate` ids) as keyed hashes with an
        // expiry, and the last run-time errors of each alias's script.
        migrator.registerMigration("v4-sieve-memory") { db in
            try db.execute(sql: """
                CREATE TABLE sieve_memory (
                    alias_id TEXT NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                    kind INTEGER NOT NULL CHECK (kind IN (1, 2)),  -- SieveMemoryKind
                    digest BLOB NOT NULL,                    -- HMAC-SHA256 (SieveMemoryHasher), never the key
                    expires TEXT NOT NULL,                   -- ISO 8601 UTC
                    PRIMARY KEY (alias_id, kind, digest)
                ) WITHOUT ROWID;
                CREATE INDEX sieve_memory_expires ON sieve_memory(expires);
                CREATE INDEX sieve_memory_alias_expires ON sieve_memory(alias_id, kind, expires);

                CREATE TABLE sieve_run_error (
                    id INTEGER PRIMARY KEY,
                    alias_id TEXT NOT NULL REFERENCES alias(id) ON DELETE CASCADE,
                    at TEXT NOT NULL,                        -- ISO 8601 UTC
                    script TEXT NOT NULL,
                    message TEXT NOT NULL
                );
                CREATE INDEX sieve_run_error_alias ON sieve_run_error(alias_id, id);
                """)
        }
    }

    public func sieveMemories(aliasID: String, kind: SieveMemoryKind, now: Date) async throws -> Set<[UInt8]> {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT digest FROM sieve_memory WHERE alias_id = ? AND kind = ? AND expires > ?",
                                        arguments: [aliasID, kind.rawValue, DirectoryDate.string(now)])
            return Set(rows.map { [UInt8]($0["digest"] as Data) })
        }
    }

    public func claimSieveMemory(aliasID: String, kind: SieveMemoryKind, entry: SieveMemoryEntry, now: Date) async throws -> Bool {
        try await pool.write { db in
            let live = try Bool.fetchOne(db, sql: """
                SELECT 1 FROM sieve_memory WHERE alias_id = ? AND kind = ? AND digest = ? AND expires > ?
                """, arguments: [aliasID, kind.rawValue, Data(entry.digest), DirectoryDate.string(now)]) != nil
            if live { return false }
            try Self.remember(db, aliasID: aliasID, kind: kind, entries: [entry], now: now)
            return true
        }
    }

    public func rememberSieve(aliasID: String, kind: SieveMemoryKind, entries: [SieveMemoryEntry], now: Date) async throws {
        guard !entries.isEmpty else { return }
        try await pool.write { db in try Self.remember(db, aliasID: aliasID, kind: kind, entries: entries, now: now) }
    }

    public func forgetSieveMemory(aliasID: String, kind: SieveMemoryKind, digest: [UInt8]) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sieve_memory WHERE alias_id = ? AND kind = ? AND digest = ?",
                           arguments: [aliasID, kind.rawValue, Data(digest)])
        }
    }

    /// Drops expired rows (of every alias: the expiry index makes it cheap), writes `entries` (a
    /// row already there keeps the later expiry), and trims the alias to its bound.
    static func remember(_ db: Database, aliasID: String, kind: SieveMemoryKind, entries: [SieveMemoryEntry], now: Date) throws {
        guard try aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
        try db.execute(sql: "DELETE FROM sieve_memory WHERE expires <= ?", arguments: [DirectoryDate.string(now)])
        for entry in entries where entry.expires > now {
            try db.execute(sql: """
                INSERT INTO sieve_memory (alias_id, kind, digest, expires) VALUES (?, ?, ?, ?)
                ON CONFLICT (alias_id, kind, digest) DO UPDATE SET expires = max(expires, excluded.expires)
                """, arguments: [aliasID, kind.rawValue, Data(entry.digest), DirectoryDate.string(entry.expires)])
        }
        try db.execute(sql: """
            DELETE FROM sieve_memory WHERE alias_id = ?1 AND kind = ?2 AND digest IN (
                SELECT digest FROM sieve_memory WHERE alias_id = ?1 AND kind = ?2
                ORDER BY expires DESC LIMIT -1 OFFSET ?3)
            """, arguments: [aliasID, kind.rawValue, maxSieveMemoriesPerAlias])
    }

    public func recordSieveRunError(aliasID: String, _ record: SieveRunErrorRecord) async throws {
        let message = record.message.utf8.count > Self.maxSieveRunErrorBytes
            ? String(decoding: Array(record.message.utf8.prefix(Self.maxSieveRunErrorBytes)), as: UTF8.self) : record.message
        try await pool.write { db in
            guard try Self.aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
            try db.execute(sql: "INSERT INTO sieve_run_error (alias_id, at, script, message) VALUES (?, ?, ?, ?)",
                           arguments: [aliasID, DirectoryDate.string(record.at), record.script, message])
            try db.execute(sql: """
                DELETE FROM sieve_run_error WHERE alias_id = ?1 AND id NOT IN (
                    SELECT id FROM sieve_run_error WHERE alias_id = ?1 ORDER BY id DESC LIMIT ?2)
                """, arguments: [aliasID, Self.maxSieveRunErrors])
        }
    }

    public func sieveRunErrors(aliasID: String) async throws -> [SieveRunErrorRecord] {
        try await pool.read { db in
            guard try Self.aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
            return try Row.fetchAll(db, sql: "SELECT at, script, message FROM sieve_run_error WHERE alias_id = ? ORDER BY id DESC",
                                    arguments: [aliasID]).map { row in
                guard let at = DirectoryDate.date(row["at"]) else {
                    throw DirectoryError(.corruptRecord, "unreadable Sieve run error date in the directory")
                }
                return SieveRunErrorRecord(at: at, script: row["script"], message: row["message"])
            }
        }
    }
}

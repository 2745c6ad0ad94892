import Foundation
import GRDB

extension SQLiteDirectory {
    public func sieveScripts(aliasID: String) async throws -> [SieveScriptRecord] {
        try await pool.read { db in
            guard try Self.aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
            return try Row.fetchAll(db, sql: "SELECT * FROM sieve_script WHERE alias_id = ? ORDER BY name",
                                    arguments: [aliasID]).map(Self.sieveRecord)
        }
    }

    public func sieveScript(aliasID: String, name: String) async throws -> SieveScriptRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sieve_script WHERE alias_id = ? AND name = ?",
                             arguments: [aliasID, name]).map(Self.sieveRecord)
        }
    }

    public func activeSieveScript(aliasID: String) async throws -> SieveScriptRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sieve_script WHERE alias_id = ? AND active = 1",
                             arguments: [aliasID]).map(Self.sieveRecord)
        }
    }

    public func putSieveScript(aliasID: String, name: String, content: String, at: Date) async throws {
        if let problem = SieveScriptRecord.nameProblem(name) { throw DirectoryError(.invalidSieveScript, problem) }
        guard content.utf8.count <= SieveScriptRecord.maxScriptBytes else {
            throw DirectoryError(.invalidSieveScript, "script is larger than \(SieveScriptRecord.maxScriptBytes) bytes")
        }
        try await pool.write { db in
            guard try Self.aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
            let others = try Row.fetchOne(db, sql: """
                SELECT count(*) AS n, coalesce(sum(length(CAST(content AS BLOB))), 0) AS bytes
                FROM sieve_script WHERE alias_id = ? AND name != ?
                """, arguments: [aliasID, name])
            let count: Int = others?["n"] ?? 0, bytes: Int = others?["bytes"] ?? 0
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM sieve_script WHERE alias_id = ? AND name = ?",
                                           arguments: [aliasID, name]) != nil
            if !exists && count + 1 > SieveScriptRecord.maxScripts {
                throw DirectoryError(.sieveQuota, "at most \(SieveScriptRecord.maxScripts) Sieve scripts per address")
            }
            if bytes + content.utf8.count > SieveScriptRecord.maxStorageBytes {
                throw DirectoryError(.sieveQuota, "Sieve scripts of an address take at most \(SieveScriptRecord.maxStorageBytes) bytes")
            }
            try db.execute(sql: """
                INSERT INTO sieve_script (alias_id, name, content, active, updated) VALUES (?, ?, ?, 0, ?)
                ON CONFLICT (alias_id, name) DO UPDATE SET content = excluded.content, updated = excluded.updated
                """, arguments: [aliasID, name, content, DirectoryDate.string(at)])
        }
    }

    public func renameSieveScript(aliasID: String, from name: String, to newName: String) async throws {
        if let problem = SieveScriptRecord.nameProblem(newName) { throw DirectoryError(.invalidSieveScript, problem) }
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM sieve_script WHERE alias_id = ? AND name = ?",
                                    arguments: [aliasID, name]) != nil else { throw DirectoryError.noSuchSieveScript(name) }
            if name == newName { return }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM sieve_script WHERE alias_id = ? AND name = ?",
                                 arguments: [aliasID, newName]) != nil {
                throw DirectoryError(.sieveScriptExists, "a Sieve script named \"\(newName)\" already exists")
            }
            try db.execute(sql: "UPDATE sieve_script SET name = ? WHERE alias_id = ? AND name = ?", arguments: [newName, aliasID, name])
        }
    }

    public func deleteSieveScript(aliasID: String, name: String) async throws {
        try await pool.write { db in
            guard let active = try Bool.fetchOne(db, sql: "SELECT active FROM sieve_script WHERE alias_id = ? AND name = ?",
                                                 arguments: [aliasID, name]) else { throw DirectoryError.noSuchSieveScript(name) }
            if active { throw DirectoryError(.sieveScriptActive, "the active Sieve script cannot be deleted; deactivate it first") }
            try db.execute(sql: "DELETE FROM sieve_script WHERE alias_id = ? AND name = ?", arguments: [aliasID, name])
        }
    }

    public func activateSieveScript(aliasID: String, name: String?) async throws {
        try await pool.write { db in
            if let name, try Bool.fetchOne(db, sql: "SELECT 1 FROM sieve_script WHERE alias_id = ? AND name = ?",
                                           arguments: [aliasID, name]) == nil {
                throw DirectoryError.noSuchSieveScript(name)
            }
            try db.execute(sql: "UPDATE sieve_script SET active = 0 WHERE alias_id = ? AND active = 1", arguments: [aliasID])
            if let name {
                try db.execute(sql: "UPDATE sieve_script SET active = 1 WHERE alias_id = ? AND name = ?", arguments: [aliasID, name])
            }
        }
    }

    static func sieveRecord(_ row: Row) throws -> SieveScriptRecord {
        guard let updated = DirectoryDate.date(row["updated"]) else {
            throw DirectoryError(.corruptRecord, "unreadable Sieve script date in the directory")
        }
        return SieveScriptRecord(aliasID: row["alias_id"], name: row["name"], content: row["content"],
                                 active: (row["active"] as Int) == 1, updated: updated)
    }
}

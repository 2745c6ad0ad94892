import Foundation
import GRDB
import MailCore

extension SQLiteDirectory {
    static func registerAdminTokenMigration(_ migrator: inout DatabaseMigrator) {
        // Admin API tokens (`sealbox admin token create`): only the SHA-256 of each secret.
        migrator.registerMigration("v5-admin-tokens") { db in
            try db.execute(sql: """
                CREATE TABLE admin_token (
                    id TEXT NOT NULL PRIMARY KEY,
                    label TEXT,
                    hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),   -- SHA-256 of the token
                    created TEXT NOT NULL,                   -- ISO 8601 UTC
                    last_used TEXT
                ) WITHOUT ROWID;
                """)
        }
    }

    public func addAdminToken(_ record: AdminTokenRecord) async throws {
        try DirectoryRules.validateAdminToken(record)
        try await pool.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM admin_token") ?? 0
            guard count < AdminToken.maxTokens else {
                throw DirectoryError(.tooManyAdminTokens, "there are already \(AdminToken.maxTokens) admin tokens; revoke some first")
            }
            try db.execute(sql: "INSERT INTO admin_token (id, label, hash, created, last_used) VALUES (?, ?, ?, ?, ?)",
                           arguments: [record.id, record.label, Data(record.hash), DirectoryDate.string(record.created),
                                       record.lastUsed.map(DirectoryDate.string)])
        }
    }

    public func adminTokens() async throws -> [AdminTokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM admin_token ORDER BY created, id").map(Self.adminTokenRecord)
        }
    }

    public func adminToken(matching token: String, now: Date) async throws -> AdminTokenRecord? {
        let hash = AdminToken.hash(token)
        let tokens = try await adminTokens()
        var found: AdminTokenRecord?
        for record in tokens where AdminToken.constantTimeEqual(record.hash, hash) { found = record }
        guard var record = found else { return nil }
        if AdminToken.shouldRecordUse(record, now: now) {
            record.lastUsed = now
            let id = record.id, used = DirectoryDate.string(now)
            try await pool.write { db in
                try db.execute(sql: "UPDATE admin_token SET last_used = ? WHERE id = ?", arguments: [used, id])
            }
        }
        return record
    }

    public func removeAdminToken(id: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM admin_token WHERE id = ?", arguments: [id])
            if db.changesCount == 0 { throw DirectoryError(.noSuchAdminToken, "no admin token \(id)") }
        }
    }

    private static func adminTokenRecord(_ row: Row) throws -> AdminTokenRecord {
        guard let created = DirectoryDate.date(row["created"]) else {
            throw DirectoryError(.corruptRecord, "unreadable admin token date in the directory")
        }
        let lastUsed: String? = row["last_used"]
        return AdminTokenRecord(id: row["id"], label: row["label"], created: created, lastUsed: lastUsed.flatMap(DirectoryDate.date),
                                hash: [UInt8](row["hash"] as Data))
    }
}

extension SQLiteDirectory {
    public func setTargets(aliasID: String, forwardTo: [EmailAddress], webhooks: [String]) async throws -> AliasRecord {
        guard var alias = try await alias(id: aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
        let (forwards, hooks) = try DirectoryRules.validateAlias(alias.address, store: alias.store, forwardTo: forwardTo, webhooks: webhooks,
                                                                 quotaBytes: alias.quotaBytes)
        let forwardJSON = String(decoding: try JSONEncoder().encode(forwards.map(\.asciiDomainForm)), as: UTF8.self)
        let hooksJSON = String(decoding: try JSONEncoder().encode(hooks), as: UTF8.self)
        try await pool.write { db in
            try db.execute(sql: "UPDATE alias SET forward_to = ?, webhooks = ? WHERE id = ?", arguments: [forwardJSON, hooksJSON, aliasID])
            if db.changesCount == 0 { throw DirectoryError.noSuchAlias(aliasID) }
        }
        alias.forwardTo = forwards
        alias.webhooks = hooks
        return alias
    }
}

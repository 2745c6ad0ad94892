import Directory
import Foundation
import MailCore
import PostgresNIO

// Submission, Sieve scripts and memories, admin tokens, alias targets: as in SQLiteDirectory's
// extensions, each write that reads first locking the alias's row.

extension PostgresDirectory {
    /// Locks the alias's row for the rest of the transaction; `noSuchAlias`.
    static func lockAlias(_ tx: Transaction, _ aliasID: String) async throws {
        guard try await tx.exists("SELECT 1 FROM alias WHERE id = \(aliasID) FOR UPDATE") else {
            throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)")
        }
    }

    func requireAlias(_ aliasID: String) async throws {
        if try await query("SELECT 1 FROM alias WHERE id = \(aliasID)").isEmpty {
            throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)")
        }
    }

    // MARK: Submission

    public func sendAs(aliasID: String) async throws -> [String] {
        try await transaction { tx in
            guard try await tx.exists("SELECT 1 FROM alias WHERE id = \(aliasID)") else { throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)") }
            return try await tx.query("SELECT address FROM alias_send_as WHERE alias_id = \(aliasID) ORDER BY address").map { try $0.decode(String.self) }
        }
    }

    public func setSendAs(aliasID: String, addresses: [String]) async throws {
        guard addresses.count <= SubmissionPolicy.maxSendAs else {
            throw DirectoryError(.invalidSendAs, "at most \(SubmissionPolicy.maxSendAs) send-as addresses")
        }
        try await transaction { tx in
            try await Self.lockAlias(tx, aliasID)
            let hosted = Set(try await tx.query("SELECT name FROM domain").map { try $0.decode(String.self) })
            var stored: [String] = []
            for text in addresses {
                let entry = try SubmissionPolicy.normalizedSendAs(text, hostedDomains: hosted)
                if !stored.contains(entry) { stored.append(entry) }
            }
            try await tx.query("DELETE FROM alias_send_as WHERE alias_id = \(aliasID)")
            for entry in stored {
                try await tx.query("INSERT INTO alias_send_as (alias_id, address) VALUES (\(aliasID), \(entry))")
            }
        }
    }

    public func submissionUsage(aliasID: String, now: Date) async throws -> SubmissionUsage {
        try await transaction { tx in try await Self.usage(tx, aliasID: aliasID, now: now) }
    }

    public func recordSubmission(aliasID: String, recipients: Int, at now: Date, limits: SubmissionLimits) async throws -> Int64? {
        try await transaction { tx in
            // Two frontends counting the same alias wait for each other here.
            try await Self.lockAlias(tx, aliasID)
            try await tx.query("DELETE FROM submission_log WHERE alias_id = \(aliasID) AND at < \(now.addingTimeInterval(-86_400))")
            guard limits.allows(try await Self.usage(tx, aliasID: aliasID, now: now), recipients: recipients) else { return nil }
            let row = try await tx.query("""
                INSERT INTO submission_log (alias_id, at, recipients) VALUES (\(aliasID), \(DirectoryDate.normalized(now)), \(recipients)) RETURNING id
                """).first
            return try row?.decode(Int64.self)
        }
    }

    public func cancelSubmission(id: Int64) async throws {
        try await query("DELETE FROM submission_log WHERE id = \(id)")
    }

    static func usage(_ tx: Transaction, aliasID: String, now: Date) async throws -> SubmissionUsage {
        let hour = now.addingTimeInterval(-3600), day = now.addingTimeInterval(-86_400)
        let row = try await tx.query("""
            SELECT count(*) FILTER (WHERE at >= \(hour)), coalesce(sum(recipients), 0)
            FROM submission_log WHERE alias_id = \(aliasID) AND at >= \(day)
            """).first
        let (messages, recipients) = try row?.decode((Int, Int).self) ?? (0, 0)
        return SubmissionUsage(messagesLastHour: messages, recipientsLastDay: recipients)
    }

    // MARK: Sieve scripts

    static let sieveColumns = "alias_id, name, content, active, updated"

    public func sieveScripts(aliasID: String) async throws -> [SieveScriptRecord] {
        try await transaction { tx in
            guard try await tx.exists("SELECT 1 FROM alias WHERE id = \(aliasID)") else { throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)") }
            return try await tx.query("SELECT \(unescaped: Self.sieveColumns) FROM sieve_script WHERE alias_id = \(aliasID) ORDER BY name")
                .map(Self.sieveRecord)
        }
    }

    public func sieveScript(aliasID: String, name: String) async throws -> SieveScriptRecord? {
        try await query("SELECT \(unescaped: Self.sieveColumns) FROM sieve_script WHERE alias_id = \(aliasID) AND name = \(name)")
            .first.map(Self.sieveRecord)
    }

    public func activeSieveScript(aliasID: String) async throws -> SieveScriptRecord? {
        try await query("SELECT \(unescaped: Self.sieveColumns) FROM sieve_script WHERE alias_id = \(aliasID) AND active")
            .first.map(Self.sieveRecord)
    }

    public func putSieveScript(aliasID: String, name: String, content: String, at: Date) async throws {
        if let problem = SieveScriptRecord.nameProblem(name) { throw DirectoryError(.invalidSieveScript, problem) }
        guard content.utf8.count <= SieveScriptRecord.maxScriptBytes else {
            throw DirectoryError(.invalidSieveScript, "script is larger than \(SieveScriptRecord.maxScriptBytes) bytes")
        }
        guard !content.utf8.contains(0) else { throw DirectoryError(.invalidSieveScript, "script contains a NUL character") }
        try await transaction { tx in
            try await Self.lockAlias(tx, aliasID)
            let others = try await tx.query("""
                SELECT count(*), coalesce(sum(octet_length(content)), 0)::BIGINT
                FROM sieve_script WHERE alias_id = \(aliasID) AND name <> \(name)
                """).first
            let (count, bytes) = try others?.decode((Int, Int).self) ?? (0, 0)
            let exists = try await tx.exists("SELECT 1 FROM sieve_script WHERE alias_id = \(aliasID) AND name = \(name)")
            if !exists && count + 1 > SieveScriptRecord.maxScripts {
                throw DirectoryError(.sieveQuota, "at most \(SieveScriptRecord.maxScripts) Sieve scripts per address")
            }
            if bytes + content.utf8.count > SieveScriptRecord.maxStorageBytes {
                throw DirectoryError(.sieveQuota, "Sieve scripts of an address take at most \(SieveScriptRecord.maxStorageBytes) bytes")
            }
            try await tx.query("""
                INSERT INTO sieve_script (alias_id, name, content, active, updated) VALUES (\(aliasID), \(name), \(content), FALSE, \(DirectoryDate.normalized(at)))
                ON CONFLICT (alias_id, name) DO UPDATE SET content = excluded.content, updated = excluded.updated
                """)
        }
    }

    public func renameSieveScript(aliasID: String, from name: String, to newName: String) async throws {
        if let problem = SieveScriptRecord.nameProblem(newName) { throw DirectoryError(.invalidSieveScript, problem) }
        try await transaction { tx in
            guard try await tx.exists("SELECT 1 FROM sieve_script WHERE alias_id = \(aliasID) AND name = \(name) FOR UPDATE") else {
                throw DirectoryError(.noSuchSieveScript, "no Sieve script named \"\(name)\"")
            }
            if name == newName { return }
            if try await tx.exists("SELECT 1 FROM sieve_script WHERE alias_id = \(aliasID) AND name = \(newName)") {
                throw DirectoryError(.sieveScriptExists, "a Sieve script named \"\(newName)\" already exists")
            }
            try await tx.query("UPDATE sieve_script SET name = \(newName) WHERE alias_id = \(aliasID) AND name = \(name)")
        }
    }

    public func deleteSieveScript(aliasID: String, name: String) async throws {
        try await transaction { tx in
            guard let row = try await tx.query("SELECT active FROM sieve_script WHERE alias_id = \(aliasID) AND name = \(name) FOR UPDATE").first else {
                throw DirectoryError(.noSuchSieveScript, "no Sieve script named \"\(name)\"")
            }
            if try row.decode(Bool.self) {
                throw DirectoryError(.sieveScriptActive, "the active Sieve script cannot be deleted; deactivate it first")
            }
            try await tx.query("DELETE FROM sieve_script WHERE alias_id = \(aliasID) AND name = \(name)")
        }
    }

    public func activateSieveScript(aliasID: String, name: String?) async throws {
        try await transaction { tx in
            if let name, !(try await tx.exists("SELECT 1 FROM sieve_script WHERE alias_id = \(aliasID) AND name = \(name)")) {
                throw DirectoryError(.noSuchSieveScript, "no Sieve script named \"\(name)\"")
            }
            try await tx.query("UPDATE sieve_script SET active = FALSE WHERE alias_id = \(aliasID) AND active")
            if let name {
                try await tx.query("UPDATE sieve_script SET active = TRUE WHERE alias_id = \(aliasID) AND name = \(name)")
            }
        }
    }

    static func sieveRecord(_ row: PostgresRow) throws -> SieveScriptRecord {
        let (aliasID, name, content, active, updated) = try row.decode((String, String, String, Bool, Date).self)
        return SieveScriptRecord(aliasID: aliasID, name: name, content: content, active: active, updated: DirectoryDate.normalized(updated))
    }

    // MARK: Sieve memories and run errors

    public func sieveMemories(aliasID: String, kind: SieveMemoryKind, now: Date) async throws -> Set<[UInt8]> {
        let rows = try await query("""
            SELECT digest FROM sieve_memory WHERE alias_id = \(aliasID) AND kind = \(Int16(kind.rawValue)) AND expires > \(now)
            """)
        return Set(try rows.map { [UInt8](try $0.decode(Data.self)) })
    }

    public func claimSieveMemory(aliasID: String, kind: SieveMemoryKind, entry: SieveMemoryEntry, now: Date) async throws -> Bool {
        try await transaction { tx in
            try await Self.lockAlias(tx, aliasID)
            let live = try await tx.exists("""
                SELECT 1 FROM sieve_memory WHERE alias_id = \(aliasID) AND kind = \(Int16(kind.rawValue)) AND digest = \(Data(entry.digest))
                AND expires > \(now)
                """)
            if live { return false }
            try await Self.remember(tx, aliasID: aliasID, kind: kind, entries: [entry], now: now)
            return true
        }
    }

    public func rememberSieve(aliasID: String, kind: SieveMemoryKind, entries: [SieveMemoryEntry], now: Date) async throws {
        guard !entries.isEmpty else { return }
        try await transaction { tx in
            try await Self.lockAlias(tx, aliasID)
            try await Self.remember(tx, aliasID: aliasID, kind: kind, entries: entries, now: now)
        }
    }

    public func forgetSieveMemory(aliasID: String, kind: SieveMemoryKind, digest: [UInt8]) async throws {
        try await query("DELETE FROM sieve_memory WHERE alias_id = \(aliasID) AND kind = \(Int16(kind.rawValue)) AND digest = \(Data(digest))")
    }

    /// As SQLiteDirectory's: drops expired rows, writes `entries` (the later expiry wins), trims the alias to its bound.
    static func remember(_ tx: Transaction, aliasID: String, kind: SieveMemoryKind, entries: [SieveMemoryEntry], now: Date) async throws {
        let kindValue = Int16(kind.rawValue)
        try await tx.query("DELETE FROM sieve_memory WHERE expires <= \(now)")
        for entry in entries where entry.expires > now {
            try await tx.query("""
                INSERT INTO sieve_memory (alias_id, kind, digest, expires) VALUES (\(aliasID), \(kindValue), \(Data(entry.digest)), \(entry.expires))
                ON CONFLICT (alias_id, kind, digest) DO UPDATE SET expires = greatest(sieve_memory.expires, excluded.expires)
                """)
        }
        try await tx.query("""
            DELETE FROM sieve_memory WHERE alias_id = \(aliasID) AND kind = \(kindValue) AND digest IN (
                SELECT digest FROM sieve_memory WHERE alias_id = \(aliasID) AND kind = \(kindValue)
                ORDER BY expires DESC OFFSET \(SQLiteDirectory.maxSieveMemoriesPerAlias))
            """)
    }

    public func recordSieveRunError(aliasID: String, _ record: SieveRunErrorRecord) async throws {
        let limit = SQLiteDirectory.maxSieveRunErrorBytes
        let message = (record.message.utf8.count > limit ? String(decoding: Array(record.message.utf8.prefix(limit)), as: UTF8.self) : record.message)
            .replacingOccurrences(of: "\0", with: "")
        let script = record.script.replacingOccurrences(of: "\0", with: "")
        try await transaction { tx in
            try await Self.lockAlias(tx, aliasID)
            try await tx.query("""
                INSERT INTO sieve_run_error (alias_id, at, script, message) VALUES (\(aliasID), \(DirectoryDate.normalized(record.at)), \(script), \(message))
                """)
            try await tx.query("""
                DELETE FROM sieve_run_error WHERE alias_id = \(aliasID) AND id NOT IN (
                    SELECT id FROM sieve_run_error WHERE alias_id = \(aliasID) ORDER BY id DESC LIMIT \(SQLiteDirectory.maxSieveRunErrors))
                """)
        }
    }

    public func sieveRunErrors(aliasID: String) async throws -> [SieveRunErrorRecord] {
        try await transaction { tx in
            guard try await tx.exists("SELECT 1 FROM alias WHERE id = \(aliasID)") else { throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)") }
            return try await tx.query("SELECT at, script, message FROM sieve_run_error WHERE alias_id = \(aliasID) ORDER BY id DESC").map { row in
                let (at, script, message) = try row.decode((Date, String, String).self)
                return SieveRunErrorRecord(at: DirectoryDate.normalized(at), script: script, message: message)
            }
        }
    }

    // MARK: Alias targets

    public func setTargets(aliasID: String, forwardTo: [EmailAddress], webhooks: [String]) async throws -> AliasRecord {
        guard var alias = try await alias(id: aliasID) else { throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)") }
        let (forwards, hooks) = try DirectoryRules.validateAlias(alias.address, store: alias.store, forwardTo: forwardTo, webhooks: webhooks,
                                                                 quotaBytes: alias.quotaBytes)
        let texts = forwards.map(\.asciiDomainForm)
        let rows = try await query("UPDATE alias SET forward_to = \(texts), webhooks = \(hooks) WHERE id = \(aliasID) RETURNING 1")
        if rows.isEmpty { throw DirectoryError(.noSuchAlias, "no such alias: \(aliasID)") }
        alias.forwardTo = forwards
        alias.webhooks = hooks
        return alias
    }

    // MARK: Admin tokens

    /// The advisory lock key that serialises admin token inserts (the count limit).
    static let adminTokenLockKey: Int64 = 0x7365_616c_626f_79

    public func addAdminToken(_ record: AdminTokenRecord) async throws {
        try DirectoryRules.validateAdminToken(record)
        try await transaction { tx in
            try await tx.query("SELECT pg_advisory_xact_lock(\(Self.adminTokenLockKey))")
            let count = try await tx.query("SELECT count(*) FROM admin_token").first?.decode(Int.self) ?? 0
            guard count < AdminToken.maxTokens else {
                throw DirectoryError(.tooManyAdminTokens, "there are already \(AdminToken.maxTokens) admin tokens; revoke some first")
            }
            try await tx.query("""
                INSERT INTO admin_token (id, label, hash, created, last_used)
                VALUES (\(record.id), \(record.label), \(Data(record.hash)), \(record.created), \(record.lastUsed))
                """)
        }
    }

    public func adminTokens() async throws -> [AdminTokenRecord] {
        try await query("SELECT id, label, hash, created, last_used FROM admin_token ORDER BY created, id").map { row in
            let (id, label, hash, created, lastUsed) = try row.decode((String, String?, Data, Date, Date?).self)
            return AdminTokenRecord(id: id, label: label, created: DirectoryDate.normalized(created), lastUsed: lastUsed.map(DirectoryDate.normalized),
                                    hash: [UInt8](hash))
        }
    }

    public func adminToken(matching token: String, now: Date) async throws -> AdminTokenRecord? {
        let hash = AdminToken.hash(token)
        var found: AdminTokenRecord?
        for record in try await adminTokens() where AdminToken.constantTimeEqual(record.hash, hash) { found = record }
        guard var record = found else { return nil }
        if AdminToken.shouldRecordUse(record, now: now) {
            record.lastUsed = now
            try await query("UPDATE admin_token SET last_used = \(record.lastUsed) WHERE id = \(record.id)")
        }
        return record
    }

    public func removeAdminToken(id: String) async throws {
        if try await query("DELETE FROM admin_token WHERE id = \(id) RETURNING 1").isEmpty {
            throw DirectoryError(.noSuchAdminToken, "no admin token \(id)")
        }
    }
}

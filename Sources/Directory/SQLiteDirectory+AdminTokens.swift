import Crypto
import Foundation
import GRDB
import MailCore

/// An admin API token as stored: its id, label and dates, and the SHA-256 of the secret (never the
/// secret itself: `sealbox admin token create` prints it once).
public struct AdminTokenRecord: Sendable, Hashable {
    /// Short random lower-case hex, shown by `admin token list` and used by `revoke`.
    public var id: String
    public var label: String?
    public var created: Date { didSet { created = DirectoryDate.normalized(created) } }
    public var lastUsed: Date? { didSet { lastUsed = lastUsed.map(DirectoryDate.normalized) } }
    /// SHA-256 of the token's bytes (32 bytes).
    public var hash: [UInt8]

    public init(id: String = DirectoryID.randomPasswordID(), label: String?, created: Date = Date(), lastUsed: Date? = nil, hash: [UInt8]) {
        self.id = id
        self.label = label
        self.created = DirectoryDate.normalized(created)
        self.lastUsed = lastUsed.map(DirectoryDate.normalized)
        self.hash = hash
    }
}

extension AdminTokenRecord: CustomStringConvertible {
    /// Never shows the hash.
    public var description: String { "AdminTokenRecord(id: \(id), label: \(label.map { "\"\($0)\"" } ?? "nil"))" }
}

/// Admin tokens: 32 random bytes, base64url, prefixed `sbx_` so that a leaked one is recognisable.
public enum AdminToken {
    public static let prefix = "sbx_"
    /// At most this many tokens (an admin who needs more has lost track of them).
    public static let maxTokens = 100
    public static let maxLabelLength = 100

    /// A new token's secret and its record (to store); the secret is shown once.
    public static func generate(label: String?, now: Date = Date()) -> (token: String, record: AdminTokenRecord) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = prefix + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (token, AdminTokenRecord(label: label, created: now, hash: hash(token)))
    }

    /// SHA-256 of the token text.
    public static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    /// Compares two hashes in time independent of where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

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

    /// `invalidAdminToken` for a malformed record or a label over `AdminToken.maxLabelLength`;
    /// `tooManyAdminTokens` past `AdminToken.maxTokens`.
    public func addAdminToken(_ record: AdminTokenRecord) async throws {
        guard record.hash.count == 32, !record.id.isEmpty, record.id.count <= 32,
              (record.label?.count ?? 0) <= AdminToken.maxLabelLength,
              !(record.label ?? "").unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DirectoryError(.invalidAdminToken, "an admin token needs a 32-byte hash and a label of at most \(AdminToken.maxLabelLength) printable characters")
        }
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

    /// Oldest first.
    public func adminTokens() async throws -> [AdminTokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM admin_token ORDER BY created, id").map(Self.adminTokenRecord)
        }
    }

    /// The token whose hash is `SHA-256(token)`, compared in constant time over every stored
    /// hash; nil when none. Records the use.
    public func adminToken(matching token: String, now: Date = Date()) async throws -> AdminTokenRecord? {
        let hash = AdminToken.hash(token)
        let tokens = try await adminTokens()
        var found: AdminTokenRecord?
        for record in tokens where AdminToken.constantTimeEqual(record.hash, hash) { found = record }
        guard var record = found else { return nil }
        // At most one write a minute per token: an API client's every request is not a write.
        if record.lastUsed.map({ now.timeIntervalSince($0) >= 60 }) ?? true {
            record.lastUsed = now
            let id = record.id, used = DirectoryDate.string(now)
            try await pool.write { db in
                try db.execute(sql: "UPDATE admin_token SET last_used = ? WHERE id = ?", arguments: [used, id])
            }
        }
        return record
    }

    /// `noSuchAdminToken` if absent.
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
    /// Replaces an alias's forward addresses and webhooks (the owner's API and web page), under
    /// the same rules as `addAlias` (`DirectoryRules.validateAlias`). `noSuchAlias`.
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

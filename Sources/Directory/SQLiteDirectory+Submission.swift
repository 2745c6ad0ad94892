import Foundation
import GRDB
import MailCore

extension SQLiteDirectory {
    public func sendAs(aliasID: String) async throws -> [String] {
        try await pool.read { db in
            guard try Self.aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
            return try String.fetchAll(db, sql: "SELECT address FROM alias_send_as WHERE alias_id = ? ORDER BY address", arguments: [aliasID])
        }
    }

    public func setSendAs(aliasID: String, addresses: [String]) async throws {
        guard addresses.count <= SubmissionPolicy.maxSendAs else {
            throw DirectoryError(.invalidSendAs, "at most \(SubmissionPolicy.maxSendAs) send-as addresses")
        }
        try await pool.write { db in
            guard try Self.aliasExists(db, aliasID) else { throw DirectoryError.noSuchAlias(aliasID) }
            let hosted = Set(try String.fetchAll(db, sql: "SELECT name FROM domain"))
            var stored: [String] = []
            for text in addresses {
                let entry = try SubmissionPolicy.normalizedSendAs(text, hostedDomains: hosted)
                if !stored.contains(entry) { stored.append(entry) }
            }
            try db.execute(sql: "DELETE FROM alias_send_as WHERE alias_id = ?", arguments: [aliasID])
            for entry in stored {
                try db.execute(sql: "INSERT INTO alias_send_as (alias_id, address) VALUES (?, ?)", arguments: [aliasID, entry])
            }
        }
    }

    public func submissionUsage(aliasID: String, now: Date) async throws -> SubmissionUsage {
        try await pool.read { db in try Self.usage(db, aliasID: aliasID, now: now) }
    }

    public func recordSubmission(aliasID: String, recipients: Int, at now: Date, limits: SubmissionLimits) async throws -> Int64? {
        try await pool.write { db in
            // Older than a day counts for nothing: dropped as the alias sends.
            try db.execute(sql: "DELETE FROM submission_log WHERE alias_id = ? AND at < ?",
                           arguments: [aliasID, DirectoryDate.string(now.addingTimeInterval(-86_400))])
            guard limits.allows(try Self.usage(db, aliasID: aliasID, now: now), recipients: recipients) else { return nil }
            try db.execute(sql: "INSERT INTO submission_log (alias_id, at, recipients) VALUES (?, ?, ?)",
                           arguments: [aliasID, DirectoryDate.string(now), recipients])
            return db.lastInsertedRowID
        }
    }

    public func cancelSubmission(id: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM submission_log WHERE id = ?", arguments: [id]) }
    }

    static func usage(_ db: Database, aliasID: String, now: Date) throws -> SubmissionUsage {
        let hour = DirectoryDate.string(now.addingTimeInterval(-3600)), day = DirectoryDate.string(now.addingTimeInterval(-86_400))
        let row = try Row.fetchOne(db, sql: """
            SELECT count(CASE WHEN at >= ? THEN 1 END) AS messages, coalesce(sum(recipients), 0) AS recipients
            FROM submission_log WHERE alias_id = ? AND at >= ?
            """, arguments: [hour, aliasID, day])
        let messages: Int = row?["messages"] ?? 0
        let recipients: Int = row?["recipients"] ?? 0
        return SubmissionUsage(messagesLastHour: messages, recipientsLastDay: recipients)
    }
}

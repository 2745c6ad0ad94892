import Foundation
import GRDB
import MailboxAPI
import MIMEParser

extension MailboxDatabase {
    /// RFC 8508 REPLACE: appends `request` to its folder and expunges message `uid` of
    /// `sourcePath` in one transaction (both or neither). The quota is checked against the
    /// mailbox's usage after both. The new message takes the next MODSEQ of its folder; the
    /// expunge, the next MODSEQ of the source (after the append's when it is the same folder).
    public func replace(in sourcePath: String, uid: UID, with request: AppendRequest, quotaBytes: Int64? = nil,
                        origin: UUID? = nil) async throws -> AppendResult {
        let source = try Self.normalizePath(sourcePath), target = try Self.normalizePath(request.folder)
        let prepared = PreparedMessage(request.message)
        let (result, changes) = try await pool.write { db -> (AppendResult, [MailboxChange]) in
            guard let from = try Self.fetchFolder(db, source), let to = try Self.fetchFolder(db, target) else {
                throw MailStoreError(.noSuchFolder, "no such folder")
            }
            let rows = try Self.fetchRows(db, sql: "SELECT id, uid, size, content_id FROM messages WHERE folder_id = ?", arguments: [from.id],
                                          uids: UIDSet([uid]), column: "uid", order: "uid")
            guard let old = rows.first else { throw MailStoreError(.noSuchMessage, "no such message") }
            try Self.checkQuota(db, adding: Int64(prepared.size) - (old["size"] as Int64), quota: quotaBytes)
            let (contentID, threadID) = try Self.storeContentAndThread(db, prepared)
            let appendModseq = to.highestModSeq + 1
            let newUID = try Self.insertMessage(db, folder: to, contentID: contentID, threadID: threadID, size: prepared.size,
                                                flags: request.flags, keywords: request.keywords,
                                                internalDate: request.internalDate ?? Date(), modseq: appendModseq)
            let expungeModseq = (source == target ? appendModseq : from.highestModSeq) + 1
            try Self.removeMessages(db, rows, folderID: from.id, modseq: expungeModseq)
            try db.cachedStatement(sql: "UPDATE folders SET highest_modseq = ? WHERE id = ?").execute(arguments: [expungeModseq, from.id])
            return (AppendResult(uidValidity: to.uidValidity, uid: newUID), [
                MailboxChange(folder: target, kind: .appended(uids: [newUID]), modSeq: appendModseq, origin: origin),
                MailboxChange(folder: source, kind: .expunged(uids: [uid]), modSeq: expungeModseq, origin: origin),
            ])
        }
        publish(changes)
        noteStored([prepared])  // starts the pass (the expunged content goes in it too)
        return result
    }
}

import Foundation
import MailboxAPI

// Messages of `MailboxState`: the `contents`, `messages`, `message_keywords` and `expunged`
// tables and the operations of `MailboxDatabase` on them, one lock-held call each.

extension MailboxState {
    // MARK: - Contents

    func checkQuota(adding: Int64, quota: Int64?) throws {
        guard let quota else { return }
        if usageBytes + adding > quota { throw MailStoreError(.overQuota, "mailbox is over its storage quota") }
    }

    /// The content of `p` with one more reference (stored once per distinct message).
    mutating func storeContent(_ p: PreparedMessage) -> Int64 {
        if let id = contentIDByBytes[p.bytes] {
            contents[id]?.refcount += 1
            return id
        }
        let thread = threadFor(p)
        lastContentID += 1
        let id = lastContentID
        contents[id] = StoredContent(prepared: p, threadID: thread, refcount: 1)
        contentIDByBytes[p.bytes] = id
        if let messageID = p.messageID { contentIDsByMessageID[messageID, default: []].append(id) }
        return id
    }

    /// The thread of the first stored message it refers to (In-Reply-To, References), or a new
    /// one. Several candidates: the smallest Message-ID, then the oldest content (the order the
    /// `contents_message_id` index gives the `LIMIT 1` query).
    mutating func threadFor(_ p: PreparedMessage) -> Int64 {
        var seen = Set<String>(), ids: [String] = []
        for id in p.inReplyTo + p.references {
            if seen.insert(id).inserted { ids.append(id) }
        }
        for id in ids.prefix(100).sorted(by: binaryOrder) {
            if let contentID = contentIDsByMessageID[id]?.min(), let thread = contents[contentID]?.threadID { return thread }
        }
        lastThreadID += 1
        return lastThreadID
    }

    mutating func releaseContent(_ id: Int64) {
        guard var content = contents[id] else { return }
        content.refcount -= 1
        guard content.refcount <= 0 else {
            contents[id] = content
            return
        }
        contents[id] = nil
        contentIDByBytes[content.prepared.bytes] = nil
        if let messageID = content.prepared.messageID {
            contentIDsByMessageID[messageID]?.removeAll { $0 == id }
            if contentIDsByMessageID[messageID]?.isEmpty == true { contentIDsByMessageID[messageID] = nil }
        }
    }

    // MARK: - Messages

    mutating func insertMessage(folder fi: Int, contentID: Int64, size: Int, flags: MessageFlags, keywords: Set<String>,
                                internalDate: Date, modseq: Int64) -> UID {
        let uid = folders[fi].info.uidNext
        folders[fi].messages.append(StoredMessage(uid: uid, modSeq: modseq, flags: flags, keywords: keywords,
                                                  internalDate: storedDate(internalDate) ?? Date(timeIntervalSince1970: 0),
                                                  size: size, contentID: contentID, saveDate: storedDate(Date())))
        folders[fi].info.uidNext = max(folders[fi].info.uidNext, uid + 1)
        folders[fi].info.highestModSeq = max(folders[fi].info.highestModSeq, modseq)
        usageBytes += Int64(size)
        return uid
    }

    mutating func append(to path: String, _ p: PreparedMessage, flags: MessageFlags, keywords: [String], internalDate: Date,
                         quotaBytes: Int64?, origin: UUID?) throws -> AppendResult {
        let fi = try existingFolder(path)
        try checkQuota(adding: Int64(p.bytes.count), quota: quotaBytes)
        let contentID = storeContent(p)
        let modseq = folders[fi].info.highestModSeq + 1
        let uid = insertMessage(folder: fi, contentID: contentID, size: p.bytes.count, flags: flags, keywords: Set(keywords),
                                internalDate: internalDate, modseq: modseq)
        publish([MailboxChange(folder: path, kind: .appended(uids: [uid]), modSeq: modseq, origin: origin)])
        return AppendResult(uidValidity: folders[fi].info.uidValidity, uid: uid)
    }

    /// `MailboxDatabase.replace`: both folders and the message checked first, the quota against
    /// the usage after both; the append's MODSEQ, then the expunge's (the next one in the same folder).
    mutating func replace(in source: String, uid: UID, target: String, _ p: PreparedMessage, request: AppendRequest, quotaBytes: Int64?,
                          origin: UUID?) throws -> AppendResult {
        let si = try existingFolder(source), ti = try existingFolder(target)
        guard let old = folders[si].messages.first(where: { $0.uid == uid }) else { throw MailStoreError(.noSuchMessage, "no such message") }
        try checkQuota(adding: Int64(p.bytes.count) - Int64(old.size), quota: quotaBytes)
        let contentID = storeContent(p)
        let appendModseq = folders[ti].info.highestModSeq + 1
        let newUID = insertMessage(folder: ti, contentID: contentID, size: p.bytes.count, flags: request.flags, keywords: Set(request.keywords),
                                   internalDate: request.internalDate ?? Date(), modseq: appendModseq)
        let expungeModseq = (si == ti ? appendModseq : folders[si].info.highestModSeq) + 1
        folders[si].messages.removeAll { $0.uid == uid }
        folders[si].expunged[uid] = expungeModseq
        folders[si].info.highestModSeq = expungeModseq
        usageBytes -= Int64(old.size)
        releaseContent(old.contentID)
        publish([MailboxChange(folder: target, kind: .appended(uids: [newUID]), modSeq: appendModseq, origin: origin),
                 MailboxChange(folder: source, kind: .expunged(uids: [uid]), modSeq: expungeModseq, origin: origin)])
        return AppendResult(uidValidity: folders[ti].info.uidValidity, uid: newUID)
    }

    /// `deliverSealed`: into INBOX, no flags, no quota check, no origin.
    mutating func deliver(_ p: PreparedMessage, internalDate: Date) throws -> AppendResult {
        guard let fi = folderIndex("INBOX") else { throw MailStoreError(.noSuchFolder, "no INBOX") }
        let contentID = storeContent(p)
        let modseq = folders[fi].info.highestModSeq + 1
        let uid = insertMessage(folder: fi, contentID: contentID, size: p.bytes.count, flags: [], keywords: [],
                                internalDate: internalDate, modseq: modseq)
        publish([MailboxChange(folder: "INBOX", kind: .appended(uids: [uid]), modSeq: modseq, origin: nil)])
        return AppendResult(uidValidity: folders[fi].info.uidValidity, uid: uid)
    }

    func record(_ m: StoredMessage) -> MessageRecord {
        let c = contents[m.contentID]
        return MessageRecord(uid: m.uid, modSeq: m.modSeq, flags: m.flags, keywords: m.keywords.sorted(by: binaryOrder),
                             internalDate: m.internalDate, size: m.size, sentDate: c?.prepared.sentDate, subject: c?.prepared.subject,
                             from: c?.prepared.from, messageID: c?.prepared.messageID, threadID: c?.threadID,
                             saveDate: m.saveDate, emailID: m.contentID)
    }

    func messages(in path: String, uids: UIDSet?, changedSince: Int64?) throws -> [MessageRecord] {
        let fi = try existingFolder(path)
        let folder = folders[fi]
        var out: [MessageRecord] = []
        for i in folder.indices(in: uids) {
            let m = folder.messages[i]
            if let changedSince, m.modSeq <= changedSince { continue }
            out.append(record(m))
        }
        return out
    }

    func searchFields(in path: String, uids: UIDSet?, includeHeader: Bool) throws -> [MessageSearchFields] {
        let fi = try existingFolder(path)
        let folder = folders[fi]
        return folder.indices(in: uids).map { i in
            let m = folder.messages[i]
            let p = contents[m.contentID]?.prepared
            return MessageSearchFields(uid: m.uid, subject: p?.subject, from: p?.from, to: p?.to, cc: p?.cc, bcc: p?.bcc,
                                       header: includeHeader ? (p?.header ?? []) : nil)
        }
    }

    func messageBytes(in path: String, uid: UID) throws -> [UInt8]? {
        let fi = try existingFolder(path)
        let folder = folders[fi]
        guard let i = folder.index(of: uid) else { return nil }
        return contents[folder.messages[i].contentID]?.prepared.bytes
    }

    /// STORE: one new MODSEQ, given only to the messages that change; those above
    /// `unchangedSince` are reported (even if the store would not change them) and left alone.
    mutating func storeFlags(in path: String, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, keywords: [String],
                             unchangedSince: Int64?, origin: UUID?) throws -> StoreResult {
        let fi = try existingFolder(path)
        let modseq = folders[fi].info.highestModSeq + 1
        var updated: [Int] = [], modified: [UID] = []
        for i in folders[fi].indices(in: uids) {
            let m = folders[fi].messages[i]
            let newFlags: MessageFlags, newKeywords: Set<String>
            switch operation {
            case .add: newFlags = m.flags.union(flags); newKeywords = m.keywords.union(keywords)
            case .remove: newFlags = m.flags.subtracting(flags); newKeywords = m.keywords.subtracting(keywords)
            case .replace: newFlags = flags; newKeywords = Set(keywords)
            }
            if let unchangedSince, m.modSeq > unchangedSince {
                modified.append(m.uid)
                continue
            }
            guard newFlags != m.flags || newKeywords != m.keywords else { continue }
            folders[fi].messages[i].flags = newFlags
            folders[fi].messages[i].keywords = newKeywords
            folders[fi].messages[i].modSeq = modseq
            updated.append(i)
        }
        if !updated.isEmpty { folders[fi].info.highestModSeq = modseq }
        let records = updated.map { record(folders[fi].messages[$0]) }
        if !records.isEmpty {
            publish([MailboxChange(folder: path, kind: .flagsChanged(uids: records.map { $0.uid }), modSeq: modseq, origin: origin)])
        }
        return StoreResult(updated: records, modified: modified)
    }

    /// COPY (quota checked) and MOVE (no quota check; expunged from the source with its own
    /// MODSEQ, one above the target's when both are the same folder).
    mutating func transfer(from source: String, uids: UIDSet, to target: String, move: Bool, quotaBytes: Int64?,
                           origin: UUID?) throws -> CopyResult {
        guard let fromIndex = folderIndex(source), let toIndex = folderIndex(target) else {
            throw MailStoreError(.noSuchFolder, "no such folder")
        }
        let selected = folders[fromIndex].indices(in: uids).map { folders[fromIndex].messages[$0] }
        if !move { try checkQuota(adding: selected.reduce(0) { $0 + Int64($1.size) }, quota: quotaBytes) }
        let sourceHighest = folders[fromIndex].info.highestModSeq
        let targetModseq = folders[toIndex].info.highestModSeq + 1
        var mapping: [(source: UID, destination: UID)] = []
        for m in selected {
            contents[m.contentID]?.refcount += 1
            let uid = insertMessage(folder: toIndex, contentID: m.contentID, size: m.size, flags: m.flags, keywords: m.keywords,
                                    internalDate: m.internalDate, modseq: targetModseq)
            mapping.append((source: m.uid, destination: uid))
        }
        var changes: [MailboxChange] = []
        if !mapping.isEmpty {
            changes.append(MailboxChange(folder: target, kind: .appended(uids: mapping.map { $0.destination }), modSeq: targetModseq,
                                         origin: origin))
        }
        if move, !selected.isEmpty {
            let modseq = (source == target ? targetModseq : sourceHighest) + 1
            let moved = Set(selected.map { $0.uid })
            // The copies have new UIDs (above every old one): only the originals go.
            folders[fromIndex].messages.removeAll { moved.contains($0.uid) }
            for m in selected {
                folders[fromIndex].expunged[m.uid] = modseq
                usageBytes -= Int64(m.size)
                releaseContent(m.contentID)
            }
            folders[fromIndex].info.highestModSeq = modseq
            changes.append(MailboxChange(folder: source, kind: .expunged(uids: selected.map { $0.uid }), modSeq: modseq, origin: origin))
        }
        publish(changes)
        return CopyResult(uidValidity: folders[toIndex].info.uidValidity, mapping: mapping)
    }

    /// Removes the \Deleted messages (of `uids` when given); nothing to remove: no new MODSEQ.
    mutating func expunge(in path: String, uids: UIDSet?, origin: UUID?) throws -> [UID] {
        let fi = try existingFolder(path)
        let rows = folders[fi].indices(in: uids).map { folders[fi].messages[$0] }.filter { $0.flags.contains(.deleted) }
        guard !rows.isEmpty else { return [] }
        let modseq = folders[fi].info.highestModSeq + 1
        let removed = Set(rows.map { $0.uid })
        folders[fi].messages.removeAll { removed.contains($0.uid) }
        for m in rows {
            folders[fi].expunged[m.uid] = modseq
            usageBytes -= Int64(m.size)
            releaseContent(m.contentID)
        }
        folders[fi].info.highestModSeq = modseq
        let removedUIDs = rows.map { $0.uid }
        publish([MailboxChange(folder: path, kind: .expunged(uids: removedUIDs), modSeq: modseq, origin: origin)])
        return removedUIDs
    }

    /// Drops the expunge log up to `modSeq`, as a store that prunes old tombstones would.
    mutating func forgetExpunged(in path: String, upTo modSeq: Int64) throws {
        let fi = try existingFolder(path)
        folders[fi].expunged = folders[fi].expunged.filter { $0.value > modSeq }
        folders[fi].expungedFrom = max(folders[fi].expungedFrom, modSeq)
    }

    func expungeHistoryStart(in path: String) throws -> Int64 { folders[try existingFolder(path)].expungedFrom }

    func expunged(in path: String, since modSeq: Int64) throws -> [UID] {
        let fi = try existingFolder(path)
        let folder = folders[fi]
        return folder.expunged.filter { $0.value > modSeq }.map { $0.key }.sorted()
    }

    func status(of path: String) throws -> FolderStatus {
        let fi = try existingFolder(path)
        let folder = folders[fi]
        var recent = 0, unseen = 0, deleted = 0, size: Int64 = 0
        for m in folder.messages {
            if m.uid >= folder.info.recentUID { recent += 1 }
            if !m.flags.contains(.seen) { unseen += 1 }
            if m.flags.contains(.deleted) { deleted += 1 }
            size += Int64(m.size)
        }
        return FolderStatus(messages: folder.messages.count, recent: recent, unseen: unseen, deleted: deleted,
                            uidNext: folder.info.uidNext, uidValidity: folder.info.uidValidity,
                            highestModSeq: folder.info.highestModSeq, sizeBytes: size)
    }

    /// The folder's \Recent messages, for this caller only: afterwards none is recent (no change is published).
    mutating func claimRecent(in path: String) throws -> [UID] {
        let fi = try existingFolder(path)
        let recentUID = folders[fi].info.recentUID
        let uids = folders[fi].messages.filter { $0.uid >= recentUID }.map { $0.uid }
        folders[fi].info.recentUID = folders[fi].info.uidNext
        return uids
    }

    /// The confirmation step of `MailboxDatabase.fullTextSearch` applied to every message: a
    /// case-insensitive substring of the field's indexed text (the trigram pre-filter only narrows).
    func fullTextSearch(in path: String, text: String, field: FullTextField) throws -> [UID] {
        let fi = try existingFolder(path)
        let folder = folders[fi]
        var confirmed: [Int64: Bool] = [:]
        var out: [UID] = []
        for m in folder.messages {
            if confirmed[m.contentID] == nil {
                let columns = contents[m.contentID]?.prepared.searchColumns ?? ["", "", "", "", ""]
                confirmed[m.contentID] = Self.searchableText(columns, field: field).range(of: text, options: .caseInsensitive) != nil
            }
            if confirmed[m.contentID] == true { out.append(m.uid) }
        }
        return out
    }

    static func searchableText(_ columns: [String], field: FullTextField) -> String {
        switch field {
        case .subject: return columns[0]
        case .addresses: return columns[1]
        case .body: return columns[2]
        case .attachments: return columns[3]
        case .any: return columns.prefix(4).joined(separator: "\n")
        case .text: return columns.joined(separator: "\n")
        }
    }
}

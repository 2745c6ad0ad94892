import Foundation
import MailboxAPI
import MIMEParser

// The contents of one in-memory mailbox and the rules that change them: the tables and the SQL
// of `MailboxDatabase` (Sources/MailStore/MailboxDatabase.swift) as plain Swift. Every method
// runs under the mailbox's lock (`InMemoryMailbox`), so each is one "transaction"; changes are
// published under that lock too, in MODSEQ order.

/// One row of `folders` with its `messages` and `expunged` rows.
struct FolderState {
    var info: FolderInfo
    /// Ascending by UID (UIDs only grow: every insert takes `uidNext`).
    var messages: [StoredMessage] = []
    /// The expunge log (QRESYNC VANISHED): UID → MODSEQ of its expunge.
    var expunged: [UID: Int64] = [:]
    /// The log is complete from this MODSEQ on (`forgetExpunged` raises it).
    var expungedFrom: Int64 = 0

    /// The first index whose UID is `uid` or more.
    func lowerBound(_ uid: UID) -> Int {
        var low = 0, high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func index(of uid: UID) -> Int? {
        let i = lowerBound(uid)
        return i < messages.count && messages[i].uid == uid ? i : nil
    }

    /// Indices of the messages in `uids` (all when nil), ascending by UID.
    func indices(in uids: UIDSet?) -> [Int] {
        guard let uids else { return Array(messages.indices) }
        var out: [Int] = []
        for range in uids.ranges {
            var i = lowerBound(range.lowerBound)
            while i < messages.count, messages[i].uid <= range.upperBound {
                out.append(i)
                i += 1
            }
        }
        return out
    }
}

/// One row of `messages` (and its `message_keywords`).
struct StoredMessage {
    var uid: UID
    var modSeq: Int64
    var flags: MessageFlags
    var keywords: Set<String>
    var internalDate: Date
    var size: Int
    var contentID: Int64
    /// `messages.save_date`: when the row was made (SAVEDATE).
    var saveDate: Date?
}

/// One row of `contents`: the message once per mailbox (shared by COPY), with the parsed columns.
struct StoredContent {
    var prepared: PreparedMessage
    var threadID: Int64
    var refcount: Int
}

/// What `MailboxDatabase.PreparedMessage` and `storeContent` compute from the bytes, before the
/// write: the header block and the `contents` columns (as stored, i.e. as they read back), plus
/// the four full-text columns (`content_fts`: subject, addresses, body, attachments).
struct PreparedMessage: Sendable {
    let bytes: [UInt8]
    let header: [UInt8]
    let sentDate: Date?
    /// `content_dates.sent_day`.
    let sentDay: Int?
    let subject: String?
    let from: String?
    let to: String?
    let cc: String?
    let bcc: String?
    let messageID: String?
    let inReplyTo: [String]
    let references: [String]
    let searchColumns: [String]

    init(_ bytes: [UInt8]) {
        let m = MIMEMessage.parse(bytes)
        self.bytes = bytes
        header = Array(bytes[..<min(max(m.headerLength, 0), bytes.count)])
        sentDate = m.date.flatMap { storedDate($0) }
        sentDay = m.sentDay
        subject = m.subject
        from = m.addressText("from")
        to = m.addressText("to")
        cc = m.addressText("cc")
        bcc = m.addressText("bcc")
        messageID = m.messageID
        inReplyTo = m.inReplyTo
        references = m.references
        let text = m.searchText()
        searchColumns = [text.subject, text.addresses, text.body, text.attachmentNames.joined(separator: "\n"), String(decoding: header, as: UTF8.self)]
    }
}

/// Dates are stored as ISO 8601 text with whole seconds and read back from it: what comes back
/// (INTERNALDATE, the Date header) is that, not the `Date` given.
func storedDate(_ date: Date) -> Date? { try? Date(date.formatted(.iso8601), strategy: .iso8601) }

/// SQLite's BINARY collation (ORDER BY path, keyword): UTF-8 bytes.
func binaryOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

struct MailboxState {
    var folders: [FolderState] = []
    /// The `subscriptions` table: names, compared byte for byte, outliving their folders.
    var subscriptions: [String] = []
    /// `meta.next_uid_validity`: seeded with the creation time, one per folder ever created.
    var nextUIDValidity: Int64
    var contents: [Int64: StoredContent] = [:]
    /// `contents.sha256` UNIQUE: one content per distinct message (keyed by the bytes themselves).
    var contentIDByBytes: [[UInt8]: Int64] = [:]
    /// The `contents_message_id` index (threading).
    var contentIDsByMessageID: [String: [Int64]] = [:]
    var lastContentID: Int64 = 0
    /// `threads` rows are never deleted: ids only grow.
    var lastThreadID: Int64 = 0
    /// `meta.usage_bytes`, kept by the triggers on `messages`.
    var usageBytes: Int64 = 0

    // The open file: whether unlocked, its sessions, its pending lock and its change watchers.
    var unlocked = false
    var sessions = 0
    /// Bumped at each lock: sessions of an earlier unlock no longer count.
    var generation = 0
    var closing: Task<Void, Never>?
    var watchers: [UUID: AsyncStream<MailboxChange>.Continuation] = [:]

    init(nextUIDValidity: Int64) { self.nextUIDValidity = nextUIDValidity }

    func publish(_ changes: [MailboxChange]) {
        guard !changes.isEmpty else { return }
        for c in watchers.values { for change in changes { c.yield(change) } }
    }

    // MARK: - Folders

    /// `WHERE path = ?`: byte equality (Swift's == would equate NFC and NFD spellings).
    func folderIndex(_ path: String) -> Int? { folders.firstIndex { $0.info.path.utf8.elementsEqual(path.utf8) } }

    func existingFolder(_ path: String) throws -> Int {
        guard let i = folderIndex(path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
        return i
    }

    /// `insertFolder`: the next UIDVALIDITY, id max+1 (an INTEGER PRIMARY KEY), UIDNEXT 1,
    /// HIGHESTMODSEQ 1, everything recent; subscribed only when asked (the default folders).
    mutating func insertFolder(path: String, specialUse: SpecialUse?, subscribed: Bool = false) -> Int {
        if subscribed { subscribe(path) }
        let validity = UInt32(truncatingIfNeeded: nextUIDValidity)
        nextUIDValidity = Int64(validity) + 1
        let id = (folders.map { $0.info.id }.max() ?? 0) + 1
        let info = FolderInfo(id: id, path: path, specialUse: specialUse, subscribed: false, uidValidity: max(validity, 1), uidNext: 1,
                              highestModSeq: 1, recentUID: 1)
        folders.append(FolderState(info: info))
        return folders.count - 1
    }

    mutating func ensureDefaultFolders() {
        for (path, use) in InMemoryMailbox.defaultFolders where folderIndex(path) == nil {
            _ = insertFolder(path: path, specialUse: use, subscribed: true)
        }
    }

    func isSubscribed(_ path: String) -> Bool { subscriptions.contains { $0.utf8.elementsEqual(path.utf8) } }
    mutating func subscribe(_ path: String) { if !isSubscribed(path) { subscriptions.append(path) } }
    mutating func unsubscribe(_ path: String) { subscriptions.removeAll { $0.utf8.elementsEqual(path.utf8) } }

    /// A folder's info with `subscribed` read from `subscriptions` (the store's folder select).
    func info(_ i: Int) -> FolderInfo {
        var info = folders[i].info
        info.subscribed = isSubscribed(info.path)
        return info
    }

    func allFolders() -> [FolderInfo] { folders.indices.map(info).sorted { binaryOrder($0.path, $1.path) } }

    func folder(_ path: String) -> FolderInfo? { folderIndex(path).map(info) }

    func allSubscriptions() -> [String] { subscriptions.sorted(by: binaryOrder) }

    mutating func createFolder(_ path: String, specialUse: SpecialUse?, origin: UUID?) throws -> FolderInfo {
        guard folderIndex(path) == nil else { throw MailStoreError(.folderExists, "folder already exists") }
        let index = insertFolder(path: path, specialUse: specialUse)
        let info = info(index)
        publish([MailboxChange(folder: path, kind: .folderCreated, modSeq: info.highestModSeq, origin: origin)])
        return info
    }

    /// A folder and every folder below it; INBOX: its messages move (UIDs kept) to a new folder
    /// and INBOX stays, empty (its children stay too).
    mutating func renameFolder(_ from: String, to: String, origin: UUID?) throws {
        let sourceIndex = try existingFolder(from)
        guard folderIndex(to) == nil, to != "INBOX", !to.hasPrefix(from + "/") else {
            throw MailStoreError(.folderExists, "target folder already exists")
        }
        if from == "INBOX" {
            let targetIndex = insertFolder(path: to, specialUse: nil)
            let source = folders[sourceIndex]
            let uids = source.messages.map { $0.uid }
            let modseq = source.info.highestModSeq + 1
            folders[targetIndex].messages = source.messages.map { m in
                var moved = m
                moved.modSeq = modseq
                return moved
            }
            folders[targetIndex].info.uidNext = source.info.uidNext
            folders[targetIndex].info.highestModSeq = modseq
            folders[sourceIndex].messages = []
            for uid in uids { folders[sourceIndex].expunged[uid] = modseq }
            folders[sourceIndex].info.highestModSeq = modseq
            publish([MailboxChange(folder: "INBOX", kind: .expunged(uids: uids), modSeq: modseq, origin: origin),
                     MailboxChange(folder: to, kind: .folderCreated, modSeq: modseq, origin: origin)])
            return
        }
        // `substr(path, 1, n) = from || '/'` scanned in path order (the covering UNIQUE index).
        let prefix = Array((from + "/").unicodeScalars)
        let children = folders.map { $0.info.path }.filter { $0.unicodeScalars.starts(with: prefix) }.sorted(by: binaryOrder)
        for child in children where folderIndex(to + child.dropFirst(from.count)) != nil {
            throw MailStoreError(.folderExists, "a folder below the target already exists")
        }
        let childIndices = children.compactMap { folderIndex($0) }
        let modSeq = folders[sourceIndex].info.highestModSeq
        folders[sourceIndex].info.path = to
        for i in childIndices { folders[i].info.path = to + folders[i].info.path.dropFirst(from.count) }
        for old in [from] + children where isSubscribed(old) {
            unsubscribe(old)
            subscribe(to + old.dropFirst(from.count))
        }
        publish(([from] + children).map { old in
            MailboxChange(folder: old, kind: .folderRenamed(to: to + old.dropFirst(from.count)), modSeq: modSeq, origin: origin)
        })
    }

    /// A folder and its messages; the folders below it stay.
    mutating func deleteFolder(_ path: String, origin: UUID?) throws {
        guard path != "INBOX" else { throw MailStoreError(.cannotDeleteInbox, "INBOX cannot be deleted") }
        let i = try existingFolder(path)
        for m in folders[i].messages {
            usageBytes -= Int64(m.size)
            releaseContent(m.contentID)
        }
        folders.remove(at: i)
        publish([MailboxChange(folder: path, kind: .folderDeleted, modSeq: 0, origin: origin)])
    }

    /// Subscribes an existing folder; unsubscribes any name.
    mutating func setSubscribed(_ path: String, _ subscribed: Bool) throws {
        if subscribed {
            _ = try existingFolder(path)
            subscribe(path)
        } else {
            unsubscribe(path)
        }
    }
}

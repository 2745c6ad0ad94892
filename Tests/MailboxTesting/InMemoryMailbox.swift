import Foundation
import MailboxAPI
import Synchronization

/// One in-memory mailbox: its contents (`MailboxState`) behind one lock, whether it is unlocked,
/// and the change streams of its sessions. Plays the part of one open `MailboxDatabase` plus the
/// unlock registry's entry for it.
final class InMemoryMailbox: Sendable {
    /// The folders every mailbox has from its first unlock (`MailboxDatabase.defaultFolders`).
    static let defaultFolders: [(path: String, use: SpecialUse?)] = [
        ("INBOX", nil), ("Drafts", .drafts), ("Sent", .sent), ("Trash", .trash), ("Junk", .junk), ("Archive", .archive),
    ]

    let mailboxID: String
    private let state: Mutex<MailboxState>

    init(mailboxID: String, now: Date = Date()) {
        self.mailboxID = mailboxID
        var initial = MailboxState(nextUIDValidity: Int64(now.timeIntervalSince1970))
        initial.ensureDefaultFolders()
        state = Mutex(initial)
    }

    /// Canonical folder path: "/"-separated, INBOX (any case) spelled `INBOX`
    /// (`MailboxDatabase.normalizePath`).
    static func normalizePath(_ path: String) throws -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= 1024, !components.contains(where: { $0.isEmpty }),
              !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "*" || $0 == "%" })
        else { throw MailStoreError(.invalidFolderName, "invalid folder name") }
        var parts = components.map(String.init)
        if parts[0].uppercased() == "INBOX" { parts[0] = "INBOX" }
        return parts.joined(separator: "/")
    }

    // MARK: - Unlocking and locking

    var isUnlocked: Bool { state.withLock { $0.unlocked } }

    /// A session joins: a pending lock is cancelled; a locked mailbox unlocks, and its missing
    /// default folders come back (`MailboxDatabase.open` runs `ensureDefaultFolders`). Returns the
    /// unlock's generation, for `detach`.
    func attach() -> Int {
        let (generation, pending) = state.withLock { s -> (Int, Task<Void, Never>?) in
            let closing = s.closing
            s.closing = nil
            if !s.unlocked {
                s.unlocked = true
                s.ensureDefaultFolders()
            }
            s.sessions += 1
            return (s.generation, closing)
        }
        pending?.cancel()
        return generation
    }

    /// A session leaves: the last one locks the mailbox after `gracePeriod` (at once when zero),
    /// unless a session joins meanwhile. A session of an earlier unlock (before `lockAll`) counts
    /// for nothing, as the registry forgets a closed entry.
    func detach(generation: Int, gracePeriod: Duration) {
        let lockNow = state.withLock { s -> Bool in
            guard s.unlocked, s.generation == generation else { return false }
            s.sessions -= 1
            guard s.sessions <= 0 else { return false }
            guard gracePeriod > .zero else { return true }
            s.closing = Task { [weak self] in
                try? await Task.sleep(for: gracePeriod)
                guard !Task.isCancelled else { return }
                self?.lock(onlyIfIdle: true)
            }
            return false
        }
        if lockNow { lock(onlyIfIdle: true) }
    }

    /// Locks the mailbox (its file would close): every change stream ends. `onlyIfIdle`: only
    /// when no session is open (the end of the grace period); otherwise at once (`lockAll`).
    func lock(onlyIfIdle: Bool) {
        let (ended, pending) = state.withLock { s -> ([AsyncStream<MailboxChange>.Continuation], Task<Void, Never>?) in
            guard s.unlocked, !(onlyIfIdle && s.sessions > 0) else { return ([], nil) }
            let watchers = Array(s.watchers.values)
            let closing = s.closing
            s.watchers = [:]
            s.closing = nil
            s.unlocked = false
            s.sessions = 0
            s.generation += 1
            return (watchers, closing)
        }
        pending?.cancel()
        // Outside the lock: finishing runs each stream's onTermination, which takes the lock.
        for continuation in ended { continuation.finish() }
    }

    // MARK: - Change notifications

    /// Changes to `folder` (or to every folder when nil; an invalid name also means every folder,
    /// as in `MailboxDatabase.changes`) plus mailbox-wide ones (`folder == ""`), from now until the
    /// mailbox locks. On a locked mailbox (a closed session's last call) the stream ends at once.
    func changes(folder: String?) -> AsyncStream<MailboxChange> {
        let filter = folder.flatMap { try? Self.normalizePath($0) }
        let (stream, continuation) = AsyncStream<MailboxChange>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        let registered = state.withLock { s -> Bool in
            guard s.unlocked else { return false }
            s.watchers[id] = continuation
            return true
        }
        guard registered else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in self?.removeWatcher(id) }
        guard let filter else { return stream }
        return AsyncStream { out in
            let task = Task {
                for await change in stream where change.folder == filter || change.folder.isEmpty { out.yield(change) }
                out.finish()
            }
            out.onTermination = { _ in task.cancel() }
        }
    }

    private func removeWatcher(_ id: UUID) {
        let removed = state.withLock { $0.watchers.removeValue(forKey: id) }
        _ = removed  // released outside the lock
    }

    /// Tells every watcher (a mailbox-wide event such as a revoked password).
    func publish(_ changes: [MailboxChange]) { state.withLock { $0.publish(changes) } }

    // MARK: - Folders

    func folders() -> [FolderInfo] { state.withLock { $0.allFolders() } }

    func folder(_ path: String) throws -> FolderInfo? {
        let path = try Self.normalizePath(path)
        return state.withLock { $0.folder(path) }
    }

    func createFolder(_ path: String, specialUse: SpecialUse?, origin: UUID?) throws -> FolderInfo {
        let path = try Self.normalizePath(path)
        return try state.withLock { s -> FolderInfo in try s.createFolder(path, specialUse: specialUse, origin: origin) }
    }

    func renameFolder(_ from: String, to: String, origin: UUID?) throws {
        let from = try Self.normalizePath(from), to = try Self.normalizePath(to)
        try state.withLock { s -> Void in try s.renameFolder(from, to: to, origin: origin) }
    }

    func deleteFolder(_ path: String, origin: UUID?) throws {
        let path = try Self.normalizePath(path)
        try state.withLock { s -> Void in try s.deleteFolder(path, origin: origin) }
    }

    func setSubscribed(_ path: String, _ subscribed: Bool) throws {
        let path = try Self.normalizePath(path)
        try state.withLock { s -> Void in try s.setSubscribed(path, subscribed) }
    }

    func subscriptions() -> [String] { state.withLock { $0.allSubscriptions() } }

    // MARK: - Messages

    func append(to folderPath: String, message: [UInt8], flags: MessageFlags, keywords: [String], internalDate: Date,
                quotaBytes: Int64?, origin: UUID?) throws -> AppendResult {
        let path = try Self.normalizePath(folderPath)
        let prepared = PreparedMessage(message)
        return try state.withLock { s -> AppendResult in
            try s.append(to: path, prepared, flags: flags, keywords: keywords, internalDate: internalDate, quotaBytes: quotaBytes,
                         origin: origin)
        }
    }

    /// REPLACE (`MailboxDatabase.replace`): the append and the expunge in one lock-held call.
    func replace(in sourcePath: String, uid: UID, with request: AppendRequest, quotaBytes: Int64?, origin: UUID?) throws -> AppendResult {
        let source = try Self.normalizePath(sourcePath), target = try Self.normalizePath(request.folder)
        let prepared = PreparedMessage(request.message)
        return try state.withLock { s -> AppendResult in
            try s.replace(in: source, uid: uid, target: target, prepared, request: request, quotaBytes: quotaBytes, origin: origin)
        }
    }

    /// MULTIAPPEND: every folder and the quota are checked before the first message goes in, so
    /// it is all or none.
    func appendAll(_ batch: [AppendRequest], quotaBytes: Int64?, origin: UUID?) throws -> [AppendResult] {
        let prepared = try batch.map { (path: try Self.normalizePath($0.folder), message: PreparedMessage($0.message)) }
        return try state.withLock { s -> [AppendResult] in
            for p in prepared { _ = try s.existingFolder(p.path) }
            try s.checkQuota(adding: prepared.reduce(0) { $0 + Int64($1.message.bytes.count) }, quota: quotaBytes)
            return try zip(batch, prepared).map { r, p in
                try s.append(to: p.path, p.message, flags: r.flags, keywords: r.keywords, internalDate: r.internalDate ?? Date(),
                             quotaBytes: quotaBytes, origin: origin)
            }
        }
    }

    /// A delivery into INBOX (the sealed queue's hand-off); returns whether the mailbox was
    /// unlocked, i.e. whether a real service would have put it in INBOX already.
    @discardableResult
    func deliver(message: [UInt8], internalDate: Date) throws -> Bool {
        let prepared = PreparedMessage(message)
        return try state.withLock { s -> Bool in
            let unlocked = s.unlocked
            _ = try s.deliver(prepared, internalDate: internalDate)
            return unlocked
        }
    }

    func messages(in folderPath: String, uids: UIDSet?, changedSince: Int64?) throws -> [MessageRecord] {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [MessageRecord] in try s.messages(in: path, uids: uids, changedSince: changedSince) }
    }

    func sentDays(in folderPath: String) throws -> [UID: Int] {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [UID: Int] in
            let folder = s.folders[try s.existingFolder(path)]
            var out: [UID: Int] = [:]
            for m in folder.messages { if let day = s.contents[m.contentID]?.prepared.sentDay { out[m.uid] = day } }
            return out
        }
    }

    func searchFields(in folderPath: String, uids: UIDSet?, includeHeader: Bool) throws -> [MessageSearchFields] {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [MessageSearchFields] in try s.searchFields(in: path, uids: uids, includeHeader: includeHeader) }
    }

    func messageBytes(in folderPath: String, uid: UID) throws -> [UInt8]? {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [UInt8]? in try s.messageBytes(in: path, uid: uid) }
    }

    func storeFlags(in folderPath: String, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, keywords: [String],
                    unchangedSince: Int64?, origin: UUID?) throws -> StoreResult {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> StoreResult in
            try s.storeFlags(in: path, uids: uids, operation: operation, flags: flags, keywords: keywords,
                             unchangedSince: unchangedSince, origin: origin)
        }
    }

    func copy(from sourcePath: String, uids: UIDSet, to targetPath: String, quotaBytes: Int64?, origin: UUID?) throws -> CopyResult {
        let source = try Self.normalizePath(sourcePath), target = try Self.normalizePath(targetPath)
        return try state.withLock { s -> CopyResult in
            try s.transfer(from: source, uids: uids, to: target, move: false, quotaBytes: quotaBytes, origin: origin)
        }
    }

    func move(from sourcePath: String, uids: UIDSet, to targetPath: String, origin: UUID?) throws -> CopyResult {
        let source = try Self.normalizePath(sourcePath), target = try Self.normalizePath(targetPath)
        return try state.withLock { s -> CopyResult in
            try s.transfer(from: source, uids: uids, to: target, move: true, quotaBytes: nil, origin: origin)
        }
    }

    func expunge(in folderPath: String, uids: UIDSet?, origin: UUID?) throws -> [UID] {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [UID] in try s.expunge(in: path, uids: uids, origin: origin) }
    }

    func expunged(in folderPath: String, since modSeq: Int64) throws -> [UID] {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [UID] in try s.expunged(in: path, since: modSeq) }
    }

    func forgetExpunged(in folderPath: String, upTo modSeq: Int64) throws {
        let path = try Self.normalizePath(folderPath)
        try state.withLock { s in try s.forgetExpunged(in: path, upTo: modSeq) }
    }

    func expungeHistoryStart(in folderPath: String) throws -> Int64 {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> Int64 in try s.expungeHistoryStart(in: path) }
    }

    func status(of folderPath: String) throws -> FolderStatus {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> FolderStatus in try s.status(of: path) }
    }

    func claimRecent(in folderPath: String) throws -> [UID] {
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [UID] in try s.claimRecent(in: path) }
    }

    /// Storage used: the sum of the sizes of all messages (`meta.usage_bytes`).
    func usage() -> Int64 { state.withLock { $0.usageBytes } }

    /// nil when the needle is under 3 characters (too short for the trigram index: the caller
    /// scans instead), checked before the folder name, as `MailboxDatabase.fullTextSearch` does.
    func fullTextSearch(in folderPath: String, text: String, field: FullTextField) throws -> [UID]? {
        guard Array(text.lowercased().unicodeScalars).count >= 3 else { return nil }
        let path = try Self.normalizePath(folderPath)
        return try state.withLock { s -> [UID] in try s.fullTextSearch(in: path, text: text, field: field) }
    }
}

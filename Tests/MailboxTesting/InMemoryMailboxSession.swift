import Foundation
import MailboxAPI
import MailCore
import Synchronization

/// A session on an in-memory mailbox (the counterpart of `LocalMailboxSession`). Its changes carry
/// its `id` as their origin; APPEND and COPY are checked against the quota it logged in with,
/// MOVE is not.
public final class InMemoryMailboxSession: MailboxSession {
    public let id = UUID()
    public let address: EmailAddress
    public let passwordID: String
    public let mailboxID: String
    /// The mailbox's quota when the session began (nil: unlimited).
    public let quotaBytes: Int64?
    let mailbox: InMemoryMailbox
    private let service: InMemoryMailboxService
    private let generation: Int
    private let closed = Mutex(false)

    init(service: InMemoryMailboxService, mailbox: InMemoryMailbox, address: EmailAddress, passwordID: String, quotaBytes: Int64?,
         generation: Int) {
        self.service = service; self.mailbox = mailbox; self.address = address; self.passwordID = passwordID
        self.quotaBytes = quotaBytes; self.generation = generation
        self.mailboxID = mailbox.mailboxID
    }

    public func folders() async throws -> [FolderInfo] { mailbox.folders() }
    public func folder(_ path: String) async throws -> FolderInfo? {
        let info = try mailbox.folder(path)
        await service.readDone("folder")
        return info
    }
    public func createFolder(_ path: String, specialUse: SpecialUse?) async throws -> FolderInfo {
        try mailbox.createFolder(path, specialUse: specialUse, origin: id)
    }
    public func renameFolder(_ from: String, to: String) async throws { try mailbox.renameFolder(from, to: to, origin: id) }
    public func deleteFolder(_ path: String) async throws { try mailbox.deleteFolder(path, origin: id) }
    public func setSubscribed(_ path: String, _ subscribed: Bool) async throws { try mailbox.setSubscribed(path, subscribed) }
    public func subscriptions() async throws -> [String] { mailbox.subscriptions() }

    public func append(to folder: String, message: [UInt8], flags: MessageFlags, keywords: [String], internalDate: Date?) async throws -> AppendResult {
        try mailbox.append(to: folder, message: message, flags: flags, keywords: keywords, internalDate: internalDate ?? Date(),
                           quotaBytes: quotaBytes, origin: id)
    }
    public func replace(in folder: String, uid: UID, with request: AppendRequest) async throws -> AppendResult {
        try mailbox.replace(in: folder, uid: uid, with: request, quotaBytes: quotaBytes, origin: id)
    }
    public func appendAll(_ batch: [AppendRequest]) async throws -> [AppendResult] {
        try mailbox.appendAll(batch, quotaBytes: quotaBytes, origin: id)
    }
    public func messages(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord] {
        let records = try mailbox.messages(in: folder, uids: uids, changedSince: changedSince)
        await service.readDone("messages")
        return records
    }
    public func messageBytes(in folder: String, uid: UID) async throws -> [UInt8]? { try mailbox.messageBytes(in: folder, uid: uid) }
    public func storeFlags(in folder: String, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, keywords: [String],
                           unchangedSince: Int64?) async throws -> StoreResult {
        try mailbox.storeFlags(in: folder, uids: uids, operation: operation, flags: flags, keywords: keywords,
                               unchangedSince: unchangedSince, origin: id)
    }
    public func copy(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult {
        try mailbox.copy(from: source, uids: uids, to: target, quotaBytes: quotaBytes, origin: id)
    }
    public func move(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult {
        try mailbox.move(from: source, uids: uids, to: target, origin: id)
    }
    public func expunge(in folder: String, uids: UIDSet?) async throws -> (uids: [UID], modSeq: Int64?) {
        (try mailbox.expunge(in: folder, uids: uids, origin: id), nil)
    }
    public func expunged(in folder: String, since modSeq: Int64) async throws -> [UID] {
        let uids = try mailbox.expunged(in: folder, since: modSeq)
        await service.readDone("expunged")
        return uids
    }
    public func expungeHistoryStart(in folder: String) async throws -> Int64 { try mailbox.expungeHistoryStart(in: folder) }
    public func status(of folder: String) async throws -> FolderStatus { try mailbox.status(of: folder) }
    public func claimRecent(in folder: String) async throws -> [UID] {
        let uids = try mailbox.claimRecent(in: folder)
        await service.readDone("claimRecent")
        return uids
    }
    public func fullTextSearch(in folder: String, text: String, field: FullTextField) async throws -> [UID]? {
        try mailbox.fullTextSearch(in: folder, text: text, field: field)
    }
    public func sentDays(in folder: String) async throws -> [UID: Int] { try mailbox.sentDays(in: folder) }
    public func searchFields(in folder: String, uids: UIDSet?, includeHeader: Bool) async throws -> [MessageSearchFields] {
        try mailbox.searchFields(in: folder, uids: uids, includeHeader: includeHeader)
    }

    /// The address still leads to this mailbox and the session's password still exists.
    public func isStillAuthorized() async -> Bool {
        service.isAuthorized(address: address, mailboxID: mailboxID, passwordID: passwordID)
    }
    public func quota() async throws -> (used: Int64, limit: Int64?) { (mailbox.usage(), quotaBytes) }
    public func changes(folder: String?) -> AsyncStream<MailboxChange> { mailbox.changes(folder: folder) }

    /// The first call leaves the mailbox (the last session out locks it after the service's grace
    /// period, ending every change stream); later calls do nothing. Calls made after closing still
    /// work here (a real session's work until the mailbox locks, then fail).
    public func close() async {
        let first = closed.withLock { isClosed -> Bool in
            defer { isClosed = true }
            return !isClosed
        }
        guard first else { return }
        mailbox.detach(generation: generation, gracePeriod: service.gracePeriod)
    }
}

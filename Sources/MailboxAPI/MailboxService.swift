import Foundation
import MailCore
import MIMEParser

/// The mailbox service the protocol servers (IMAP, POP3, MX, submission) use.
///
/// One process: `LocalMailboxService`. A cluster: a remote implementation of the same protocols
/// over the storage node's WebSocket RPC, so the protocol servers never know the difference.
public protocol MailboxService: Sendable {
    /// Verifies `password` for `address`, unlocks the mailbox (moving its sealed queue into INBOX)
    /// and returns a session on it. Fails with `.authenticationFailed` for an unknown address, a
    /// non-storing alias and a wrong password alike (the error never says which).
    func unlock(address: EmailAddress, password: String) async throws -> any MailboxSession

    /// Local delivery: seals `message` to the recipient's public key and commits it to the queue;
    /// returns after the commit. If the mailbox is unlocked, the message reaches INBOX at once.
    func deliver(to recipient: EmailAddress, message: [UInt8], internalDate: Date) async throws -> DeliveryOutcome

    /// The MX's commit: one copy of `message` sealed to each storing mailbox and the outbound
    /// jobs (forwards, webhooks), durable together (all or nothing) before this returns; only
    /// then may SMTP answer 250. Mailboxes open somewhere see the message at once. Returns the
    /// jobs' ids. Each stored copy is `prefix ‖ message` (the Return-Path, added at final
    /// delivery); the jobs carry `message` alone. The prefix is put in front while sealing, so
    /// that no one copies a whole large message just to prepend a line.
    @discardableResult
    func acceptInbound(message: [UInt8], prefix: [UInt8], internalDate: Date, mailboxes: [InboundMailbox],
                       jobs: [OutboundJob]) async throws -> [Int64]

    /// Bytes a mailbox holds, without unlocking it (its stored and queued mail): the MX checks
    /// quotas with this at RCPT time.
    func storedBytes(mailboxID: String) async throws -> Int64

    /// Whether the node's disk is below its free-space floor: the MX then answers 452 4.3.1.
    func storageIsLow() async -> Bool
}

extension MailboxService {
    public func storageIsLow() async -> Bool { false }

    /// The MX's commit with nothing in front of the stored copies.
    @discardableResult
    public func acceptInbound(message: [UInt8], internalDate: Date, mailboxes: [InboundMailbox], jobs: [OutboundJob]) async throws -> [Int64] {
        try await acceptInbound(message: message, prefix: [], internalDate: internalDate, mailboxes: mailboxes, jobs: jobs)
    }
}

public enum DeliveryOutcome: Sendable, Hashable {
    /// Committed to the sealed queue (sequence number); `delivered` when it is already in INBOX.
    case queued(seq: Int64, delivered: Bool)
    /// The alias does not store mail (forward / webhook only).
    case notStored
}

/// One session's view of an unlocked mailbox. Changes it makes carry its `id` as their origin.
public protocol MailboxSession: Sendable {
    var id: UUID { get }
    var address: EmailAddress { get }
    var mailboxID: String { get }
    /// The id of the password this session logged in with (revoking it ends the session).
    var passwordID: String { get }

    func folders() async throws -> [FolderInfo]
    func folder(_ path: String) async throws -> FolderInfo?
    func createFolder(_ path: String, specialUse: SpecialUse?) async throws -> FolderInfo
    func renameFolder(_ from: String, to: String) async throws
    func deleteFolder(_ path: String) async throws
    /// Subscribes an existing folder (else `noSuchFolder`), or unsubscribes any name.
    func setSubscribed(_ path: String, _ subscribed: Bool) async throws
    /// The subscribed names in path order, including those whose folder was deleted since
    /// (RFC 3501 §6.3.4). CREATE does not subscribe; the default folders are subscribed.
    func subscriptions() async throws -> [String]

    func append(to folder: String, message: [UInt8], flags: MessageFlags, keywords: [String], internalDate: Date?) async throws -> AppendResult
    /// Several appends in one transaction (pipelined APPENDs): each succeeds or fails on its own
    /// (a missing folder, the quota), in order; all that succeed are durable when this returns.
    func append(_ batch: [AppendRequest]) async throws -> [Result<AppendResult, MailStoreError>]
    /// MULTIAPPEND (RFC 3502): the messages appended in one transaction, all or none (the first
    /// failure, a missing folder or the quota, fails the lot); their results in order.
    func appendAll(_ batch: [AppendRequest]) async throws -> [AppendResult]
    /// RFC 8508 REPLACE: appends `request` (to its folder) and expunges message `uid` of `folder`,
    /// in one transaction where the store allows: both or neither. Fails with `noSuchMessage` when
    /// `uid` is gone (nothing appended), `noSuchFolder` when the target is missing (nothing expunged).
    func replace(in folder: String, uid: UID, with request: AppendRequest) async throws -> AppendResult
    func messages(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord]
    /// The same records without what is read from the message itself (`sentDate`, `subject`, `from`,
    /// `messageID` are nil): what SELECT, FETCH and sync need, read from the index alone (which
    /// holds `threadID`, `saveDate` and `emailID`).
    func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord]
    func messageBytes(in folder: String, uid: UID) async throws -> [UInt8]?
    /// The states of `uids` and, in the same read, the whole bytes of the first of them that
    /// `prefetch` admits: a FETCH of message bodies costs one read, not one more per message.
    func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?, prefetch: BytesPrefetch) async throws
        -> (records: [MessageRecord], bytes: [UID: [UInt8]])
    /// The whole bytes of the messages of `uids` that `prefetch` admits, in UID order, in one read.
    func messageBytes(in folder: String, uids: UIDSet, prefetch: BytesPrefetch) async throws -> [UID: [UInt8]]
    /// The same bytes read piece by piece, for messages too large to hold whole.
    func messageReader(in folder: String, uid: UID) async throws -> MessageReader?
    /// The parsed structure of each message (ENVELOPE, BODYSTRUCTURE, part ranges), stored when
    /// the message was: FETCH answers from it without reading or parsing the message.
    func structures(in folder: String, uids: UIDSet) async throws -> [UID: MessageStructure]
    /// The header block of each message (with its blank line), without the body.
    func messageHeaders(in folder: String, uids: UIDSet) async throws -> [UID: [UInt8]]
    /// Bytes a protocol derived from messages and asked to keep with them (`keepDerived`), by kind
    /// and UID, for the messages of `uids` that have them: a cache (IMAP keeps its encoded
    /// ENVELOPE and BODYSTRUCTURE, so a FETCH of them reads, not decodes and encodes).
    func derived(_ kinds: [String], in folder: String, uids: UIDSet) async throws -> [String: [UID: [UInt8]]]
    /// The states of `uids` and, in the same read, the derived bytes of `kinds` kept for them
    /// (FETCH ENVELOPE or BODYSTRUCTURE of a client's page of messages: one read, not two).
    func messageStates(in folder: String, uids: UIDSet, changedSince: Int64?, derived kinds: [String]) async throws
        -> (records: [MessageRecord], derived: [String: [UID: [UInt8]]])
    /// Keeps derived bytes with each message's content (shared with its copies), replacing any of
    /// the same kind. A kind names its format and version: a new format is a new kind.
    func keepDerived(_ kind: String, in folder: String, values: [UID: [UInt8]]) async throws
    func storeFlags(in folder: String, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, keywords: [String], unchangedSince: Int64?) async throws -> StoreResult
    func copy(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult
    func move(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult
    /// Removes the messages flagged \Deleted (those of `uids` when given): their UIDs, and the MODSEQ
    /// the expunge was committed at (nil when nothing was removed or the store cannot say): a view at
    /// the MODSEQ just below it is current once it drops the UIDs.
    func expunge(in folder: String, uids: UIDSet?) async throws -> (uids: [UID], modSeq: Int64?)
    /// UIDs expunged from `folder` at a MODSEQ above `modSeq` (QRESYNC's VANISHED), complete
    /// for every `modSeq` at or above `expungeHistoryStart(in:)`.
    func expunged(in folder: String, since modSeq: Int64) async throws -> [UID]
    /// What a selected view needs to catch up, read at one moment: the folder (nil when it is
    /// gone), the states of its messages changed or added at a MODSEQ above `modSeq`, and the
    /// UIDs expunged above it.
    func changes(in folder: String, since modSeq: Int64) async throws -> FolderChanges
    /// The highest MODSEQ of any change committed to `folder` that this process has seen (without
    /// reading): a view whose MODSEQ is at least this is current. nil when the store cannot tell.
    func publishedModSeq(in folder: String) -> Int64?
    /// The MODSEQ from which `expunged(in:since:)` is complete: a store that forgets old
    /// tombstones says how far back it still knows (IMAP then reports a superset). The default,
    /// 0, is for stores that keep every tombstone while the folder lives (`LocalMailboxService`).
    func expungeHistoryStart(in folder: String) async throws -> Int64
    func status(of folder: String) async throws -> FolderStatus
    func claimRecent(in folder: String) async throws -> [UID]
    func fullTextSearch(in folder: String, text: String, field: FullTextField) async throws -> [UID]?
    func searchFields(in folder: String, uids: UIDSet?, includeHeader: Bool) async throws -> [MessageSearchFields]
    /// The UIDs of the messages of `folder` whose search fields the store has (those of
    /// `searchFields(in:uids:nil, includeHeader: false)`), and the fields of those not in `known`:
    /// a message's fields never change, so a caller that kept them asks only for the new ones.
    func searchFields(in folder: String, excluding known: UIDSet) async throws -> (existing: [UID], fields: [MessageSearchFields])
    /// The Date: header's calendar day as written in its own zone (days since 1970-01-01), by UID,
    /// for the messages of `folder` that have a valid one (SENTBEFORE/SENTON/SENTSINCE).
    func sentDays(in folder: String) async throws -> [UID: Int]
    /// Whether the session's password still exists (it may be revoked by another process; a
    /// session checks this now and then and ends when it is gone).
    func isStillAuthorized() async -> Bool
    /// Storage used and the quota (nil = unlimited), in bytes.
    func quota() async throws -> (used: Int64, limit: Int64?)
    /// Changes to one folder (or all when nil), including those of other sessions and deliveries,
    /// plus mailbox-wide events (`folder == ""`, e.g. the session's password was revoked).
    func changes(folder: String?) -> AsyncStream<MailboxChange>
    /// Ends the session; the mailbox locks (its key leaves memory) when its last session closes,
    /// after a short grace period.
    func close() async
}

/// Which messages a read returns the whole bytes of: in UID order, those smaller than `below`,
/// at most `count` of them and, once one is taken, no more than `total` bytes in all (so memory
/// stays bounded; the caller reads the others on their own).
public struct BytesPrefetch: Sendable, Equatable {
    public var below: Int
    public var count: Int
    public var total: Int

    public init(below: Int, count: Int, total: Int) {
        self.below = below; self.count = count; self.total = total
    }

    /// Picks from `candidates` (UID, size; in UID order) the messages to read.
    public func select<S: Sequence>(_ candidates: S) -> [UID] where S.Element == (uid: UID, size: Int) {
        var taken: [UID] = [], sum = 0
        for c in candidates where c.size < below {
            if taken.count >= count || (!taken.isEmpty && sum + c.size > total) { break }
            taken.append(c.uid); sum += c.size
        }
        return taken
    }
}

/// One message of a batched append.
public struct AppendRequest: Sendable {
    public var folder: String
    public var message: [UInt8]
    public var flags: MessageFlags
    public var keywords: [String]
    public var internalDate: Date?

    public init(folder: String, message: [UInt8], flags: MessageFlags = [], keywords: [String] = [], internalDate: Date? = nil) {
        self.folder = folder; self.message = message; self.flags = flags; self.keywords = keywords; self.internalDate = internalDate
    }
}

extension MailboxSession {
    public func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord] {
        try await messages(in: folder, uids: uids, changedSince: changedSince)
    }

    /// A states read, then one bytes read per message (for stores that cannot do better).
    public func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?, prefetch: BytesPrefetch) async throws
        -> (records: [MessageRecord], bytes: [UID: [UInt8]]) {
        let records = try await messageStates(in: folder, uids: uids, changedSince: changedSince)
        var bytes: [UID: [UInt8]] = [:]
        for uid in prefetch.select(records.lazy.map { (uid: $0.uid, size: $0.size) }) {
            bytes[uid] = try await messageBytes(in: folder, uid: uid)
        }
        return (records, bytes)
    }

    /// Two reads (for stores that cannot do better).
    public func messageStates(in folder: String, uids: UIDSet, changedSince: Int64?, derived kinds: [String]) async throws
        -> (records: [MessageRecord], derived: [String: [UID: [UInt8]]]) {
        let records = try await messageStates(in: folder, uids: uids, changedSince: changedSince)
        return (records, try await derived(kinds, in: folder, uids: uids))
    }

    public func messageBytes(in folder: String, uids: UIDSet, prefetch: BytesPrefetch) async throws -> [UID: [UInt8]] {
        try await messageStates(in: folder, uids: uids, changedSince: nil, prefetch: prefetch).bytes
    }

    /// Not atomic (for stores that cannot do better): the message is checked, the new one
    /// appended, then the old one flagged \Deleted and expunged (a crash in between leaves both).
    public func replace(in folder: String, uid: UID, with request: AppendRequest) async throws -> AppendResult {
        guard try await !messageStates(in: folder, uids: UIDSet([uid]), changedSince: nil).isEmpty else {
            throw MailStoreError(.noSuchMessage, "no such message")
        }
        let result = try await append(to: request.folder, message: request.message, flags: request.flags, keywords: request.keywords,
                                      internalDate: request.internalDate)
        _ = try await storeFlags(in: folder, uids: UIDSet([uid]), operation: .add, flags: .deleted, keywords: [], unchangedSince: nil)
        _ = try await expunge(in: folder, uids: UIDSet([uid]))
        return result
    }

    /// Every tombstone kept.
    public func expungeHistoryStart(in folder: String) async throws -> Int64 { 0 }

    /// Unknown: views catch up by reading.
    public func publishedModSeq(in folder: String) -> Int64? { nil }

    /// Every field read, those known dropped (for stores where reading is cheap).
    public func searchFields(in folder: String, excluding known: UIDSet) async throws -> (existing: [UID], fields: [MessageSearchFields]) {
        let all = try await searchFields(in: folder, uids: nil, includeHeader: false)
        return (all.map(\.uid), all.filter { !known.contains($0.uid) })
    }

    /// Three reads (for stores that cannot do better).
    public func changes(in folder: String, since modSeq: Int64) async throws -> FolderChanges {
        guard let info = try await self.folder(folder) else { return FolderChanges(folder: nil, changed: [], expunged: []) }
        return FolderChanges(folder: info, changed: try await messageStates(in: folder, uids: nil, changedSince: modSeq),
                             expunged: try await expunged(in: folder, since: modSeq))
    }

    /// No cache: the protocol derives again each time.
    public func derived(_ kinds: [String], in folder: String, uids: UIDSet) async throws -> [String: [UID: [UInt8]]] { [:] }
    public func keepDerived(_ kind: String, in folder: String, values: [UID: [UInt8]]) async throws {}

    /// One append after the other (for stores that cannot do better).
    public func append(_ batch: [AppendRequest]) async throws -> [Result<AppendResult, MailStoreError>] {
        var results: [Result<AppendResult, MailStoreError>] = []
        for r in batch {
            do {
                results.append(.success(try await append(to: r.folder, message: r.message, flags: r.flags, keywords: r.keywords,
                                                         internalDate: r.internalDate)))
            } catch let error as MailStoreError {
                results.append(.failure(error))
            }
        }
        return results
    }
}

import Foundation
import MailboxAPI
import MailCore
import MIMEParser
import Synchronization

/// A `MailboxService` held entirely in memory, for protocol-server tests (IMAP, POP3, the MX)
/// that should not pay for scrypt, sqlite3mc and temporary directories.
///
/// What it models, with the rules of `LocalMailboxService` over `MailboxDatabase`:
/// - accounts: an address (looked up by its canonical form, as the directory does), one or more
///   passwords (compared after NFC), an optional quota; `unlock` fails alike for an unknown
///   address and a wrong password (`.authenticationFailed`, "authentication failed").
/// - folders: the six default folders with their special-use, path normalisation (INBOX in any
///   case), create / rename (children follow; renaming INBOX moves its messages to a new folder
///   and leaves INBOX empty) / delete (messages go, child folders stay), subscriptions,
///   UIDVALIDITY from a per-mailbox counter seeded with the creation time, UIDNEXT, HIGHESTMODSEQ,
///   \Recent (`recentUID`, claimed by one session).
/// - messages: exact bytes, one new MODSEQ per operation, STORE with UNCHANGEDSINCE, COPY/MOVE
///   with their UID mapping, EXPUNGE of \Deleted messages with an expunge log (VANISHED), the
///   parsed columns (`MessageRecord`, `MessageSearchFields`) as the database stores them (dates
///   to the second), threads, the quota (APPEND and COPY only; deliveries are never refused).
/// - change streams: the same `MailboxChange` values, origins and buffering as the database's;
///   every stream of a mailbox ends when it locks (its last session closed, after `gracePeriod`:
///   at once by default) and a later unlock re-creates missing default folders, as a reopen does.
/// - deliveries: `deliver` (plus-address fallback, CRLF canonicalisation, queue sequence numbers)
///   and `acceptInbound` put the message in INBOX before returning, unlocked or not; outbound
///   jobs are only recorded (`acceptedJobs`), with ids 1, 2, 3…
///
/// What it does not model: encryption of any kind (no data keys, no KDF, no sqlite3mc), the
/// sealed inbound queue (a delivery to a locked mailbox is in INBOX at once instead of at the next
/// unlock; only the `delivered` flag says what a real service would have done), the outbound
/// queue's retries, aliases that do not store mail, revocation by another process, the on-disk
/// size `storedBytes` reports for a locked mailbox (here always the exact usage), backups and
/// snapshots, and failures of the store itself. The FTS5 trigram pre-filter is not modelled:
/// `fullTextSearch` applies the database's confirmation step (a case-insensitive substring of the
/// field's text) to every message, which gives the same answers.
public final class InMemoryMailboxService: MailboxService {
    struct Account: Sendable {
        var address: EmailAddress
        var mailboxID: String
        /// (id, NFC password), oldest first.
        var passwords: [(id: String, password: String)]
        var quotaBytes: Int64?
    }

    struct State: Sendable {
        /// By canonical address.
        var accounts: [String: Account] = [:]
        var mailboxes: [String: InMemoryMailbox] = [:]
        var lastQueueSeq: Int64 = 0
        var lastJobID: Int64 = 0
        var lastPasswordNumber = 0
        var jobs: [OutboundJob] = []
    }

    private let state = Mutex(State())
    /// How long a mailbox stays unlocked after its last session closes (`LocalMailboxService`'s
    /// `gracePeriod`); zero locks it within `close()`.
    public let gracePeriod: Duration

    public init(gracePeriod: Duration = .zero) { self.gracePeriod = gracePeriod }

    /// Runs after every folder, message-list, expunged-list and \Recent read of any session, with
    /// the read's name (`folder`, `messages`, `expunged`, `claimRecent`): a test puts another
    /// client's change between two reads of one command, the worst interleaving, on purpose.
    public let afterRead = Mutex<(@Sendable (String) async -> Void)?>(nil)

    func readDone(_ name: String) async {
        if let hook = afterRead.withLock({ $0 }) { await hook(name) }
    }

    // MARK: - Accounts (test set-up)

    /// Creates the mailbox of `address` (the default folders, locked) with one password; returns
    /// the password's id. `.noMailbox` if the address has one already.
    @discardableResult
    public func addMailbox(address: String, password: String, quotaBytes: Int64? = nil) throws -> String {
        let email = try EmailAddress(address)
        let mailboxID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let mailbox = InMemoryMailbox(mailboxID: mailboxID)
        let normalized = Self.normalized(password)
        return try state.withLock { s -> String in
            guard s.accounts[email.canonical] == nil else { throw MailStoreError(.noMailbox, "\(email) already has a mailbox") }
            let passwordID = Self.newPasswordID(&s)
            s.accounts[email.canonical] = Account(address: email, mailboxID: mailboxID, passwords: [(id: passwordID, password: normalized)],
                                                  quotaBytes: quotaBytes)
            s.mailboxes[mailboxID] = mailbox
            return passwordID
        }
    }

    /// Adds another password to the mailbox of `address`; returns its id.
    @discardableResult
    public func addPassword(address: String, password: String) throws -> String {
        let email = try EmailAddress(address)
        let normalized = Self.normalized(password)
        return try state.withLock { s -> String in
            guard s.accounts[email.canonical] != nil else { throw MailStoreError(.noMailbox, "no such alias: \(email)") }
            let passwordID = Self.newPasswordID(&s)
            s.accounts[email.canonical]?.passwords.append((id: passwordID, password: normalized))
            return passwordID
        }
    }

    /// Revokes one password of `address` (every one when `passwordID` is nil), as
    /// `LocalMailboxService.revokePassword` does: logins with it fail from now on, its sessions'
    /// `isStillAuthorized()` turns false, and if the mailbox is unlocked every change stream gets
    /// `.passwordRevoked(passwordID:)` (folder "", MODSEQ 0, no origin). Returns the ids revoked
    /// (none for an unknown address or id).
    @discardableResult
    public func revoke(address: String, passwordID: String? = nil) -> [String] {
        guard let email = try? EmailAddress(address) else { return [] }
        let (revoked, mailbox) = state.withLock { s -> ([String], InMemoryMailbox?) in
            guard let account = s.accounts[email.canonical] else { return ([], nil) }
            let ids = account.passwords.map { $0.id }.filter { passwordID == nil || $0 == passwordID }
            s.accounts[email.canonical]?.passwords.removeAll { ids.contains($0.id) }
            return (ids, s.mailboxes[account.mailboxID])
        }
        for id in revoked {
            mailbox?.publish([MailboxChange(folder: "", kind: .passwordRevoked(passwordID: id), modSeq: 0, origin: nil)])
        }
        return revoked
    }

    /// Drops the expunge log of `folder` up to `modSeq` (QRESYNC must then report a superset).
    public func forgetExpunged(address: String, folder: String, upTo modSeq: Int64) throws {
        let email = try EmailAddress(address)
        let mailbox = state.withLock { s in s.accounts[email.canonical].flatMap { s.mailboxes[$0.mailboxID] } }
        guard let mailbox else { throw MailStoreError(.noMailbox, "no such alias: \(email)") }
        try mailbox.forgetExpunged(in: folder, upTo: modSeq)
    }

    /// The id of the mailbox of `address` (32 lower-case hex digits, like a real one).
    public func mailboxID(address: String) -> String? {
        guard let email = try? EmailAddress(address) else { return nil }
        return state.withLock { $0.accounts[email.canonical]?.mailboxID }
    }

    /// The password ids of `address`, oldest first.
    public func passwordIDs(address: String) -> [String] {
        guard let email = try? EmailAddress(address) else { return [] }
        return state.withLock { s -> [String] in (s.accounts[email.canonical]?.passwords ?? []).map { $0.id } }
    }

    /// The storing recipient the MX would hand to `acceptInbound` for `address` (the public key is
    /// a placeholder: nothing is sealed here).
    public func inboundMailbox(address: String) -> InboundMailbox? {
        mailboxID(address: address).map { InboundMailbox(mailboxID: $0, publicKey: Array($0.utf8)) }
    }

    /// The outbound jobs committed by `acceptInbound`, with their ids, in order.
    public var acceptedJobs: [OutboundJob] { state.withLock { $0.jobs } }

    /// Whether the mailbox is unlocked (has sessions, or is within its grace period).
    public func isUnlocked(mailboxID: String) -> Bool {
        state.withLock { $0.mailboxes[mailboxID] }?.isUnlocked ?? false
    }

    /// Locks every mailbox now (`LocalMailboxService.lockAll`): every change stream ends. Open
    /// sessions keep working here, but no longer count for the next lock.
    public func lockAll() {
        let all = state.withLock { s -> [InMemoryMailbox] in Array(s.mailboxes.values) }
        for mailbox in all { mailbox.lock(onlyIfIdle: false) }
    }

    func isAuthorized(address: EmailAddress, mailboxID: String, passwordID: String) -> Bool {
        state.withLock { s -> Bool in
            guard let account = s.accounts[address.canonical] else { return false }
            return account.mailboxID == mailboxID && account.passwords.contains { $0.id == passwordID }
        }
    }

    static func normalized(_ password: String) -> String { password.precomposedStringWithCanonicalMapping }

    /// 8 lower-case hex digits, like `DirectoryID.randomPasswordID()`, but counted: 00000001, 00000002…
    static func newPasswordID(_ s: inout State) -> String {
        s.lastPasswordNumber += 1
        let hex = String(s.lastPasswordNumber, radix: 16)
        return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }

    // MARK: - Sessions

    public func unlock(address: EmailAddress, password: String) async throws -> any MailboxSession {
        try unlockSession(address: address, password: password)
    }

    /// `unlock` with the concrete session type.
    public func unlockSession(address: EmailAddress, password: String) throws -> InMemoryMailboxSession {
        let normalized = Self.normalized(password)
        let found = state.withLock { s -> (Account, String, InMemoryMailbox)? in
            guard let entry = s.accounts[address.canonical], let box = s.mailboxes[entry.mailboxID],
                  let password = entry.passwords.first(where: { $0.password.utf8.elementsEqual(normalized.utf8) })
            else { return nil }
            return (entry, password.id, box)
        }
        guard let (account, passwordID, mailbox) = found else {
            throw MailStoreError(.authenticationFailed, "authentication failed")
        }
        let generation = mailbox.attach()
        return InMemoryMailboxSession(service: self, mailbox: mailbox, address: account.address, passwordID: passwordID,
                                      quotaBytes: account.quotaBytes, generation: generation)
    }

    // MARK: - Delivery

    /// Local delivery: the exact address, else its plus-address base (`hello+tag@x` → `hello@x`);
    /// `.noMailbox` for neither. The message (line ends made CRLF) is in INBOX when this returns;
    /// `delivered` says whether the mailbox was unlocked (a real service leaves the message in its
    /// sealed queue until the next unlock otherwise). `seq` counts every queued copy: 1, 2, 3…
    public func deliver(to recipient: EmailAddress, message: [UInt8], internalDate: Date = Date()) async throws -> DeliveryOutcome {
        let found = state.withLock { s -> (Int64, InMemoryMailbox)? in
            var match = s.accounts[recipient.canonical]
            if match == nil, let base = recipient.subaddressBase { match = s.accounts[base.canonical] }
            guard let entry = match, let box = s.mailboxes[entry.mailboxID] else { return nil }
            s.lastQueueSeq += 1
            return (s.lastQueueSeq, box)
        }
        guard let (seq, mailbox) = found else { throw MailStoreError(.noMailbox, "no such recipient: \(recipient)") }
        let delivered = try mailbox.deliver(message: MIMEMessage.canonicalCRLF(message), internalDate: internalDate)
        return .queued(seq: seq, delivered: delivered)
    }

    /// The MX's commit: one copy per distinct storing mailbox (in mailbox-id order; an unknown id
    /// is accepted and dropped, as its queue entry would wait forever), the message as given (no
    /// CRLF canonicalisation, as in `LocalMailboxService`), in INBOX before this returns; the jobs
    /// are recorded in `acceptedJobs` with ids 1, 2, 3… (across calls), which are returned.
    @discardableResult
    public func acceptInbound(message: [UInt8], prefix: [UInt8], internalDate: Date, mailboxes: [InboundMailbox],
                              jobs: [OutboundJob]) async throws -> [Int64] {
        let copies = Set(mailboxes).sorted { $0.mailboxID < $1.mailboxID }
        let (targets, jobIDs) = state.withLock { s -> ([InMemoryMailbox], [Int64]) in
            var open: [InMemoryMailbox] = []
            for copy in copies {
                s.lastQueueSeq += 1
                if let mailbox = s.mailboxes[copy.mailboxID] { open.append(mailbox) }
            }
            var assigned: [Int64] = []
            for job in jobs {
                s.lastJobID += 1
                var stored = job
                stored.id = s.lastJobID
                s.jobs.append(stored)
                assigned.append(stored.id)
            }
            return (open, assigned)
        }
        for target in targets { try target.deliver(message: prefix + message, internalDate: internalDate) }
        return jobIDs
    }

    /// The mailbox's usage (the sum of its messages' sizes); 0 for an unknown id.
    public func storedBytes(mailboxID: String) async throws -> Int64 {
        state.withLock { $0.mailboxes[mailboxID] }?.usage() ?? 0
    }
}

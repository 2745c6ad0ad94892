import Crypto
import Directory
import Foundation
import MailboxAPI
import MailCore
import Metrics
import MIMEParser
import SQLiteCipher
import Synchronization

/// The in-process `MailboxService`: mailbox files under `storageRoot`, keys wrapped in the
/// directory, inbound mail through the sealed queue.
///
/// Unlocked data keys live in memory only while the mailbox has sessions, plus `gracePeriod`;
/// they are zeroed when dropped. A login to an already-unlocked mailbox is checked against an
/// in-memory verifier (HMAC with a per-process secret) and pays no scrypt and no sqlite3mc KDF.
public final class LocalMailboxService: MailboxService {
    public let storageRoot: String
    public let directory: any MailDirectory
    public let queue: SealedQueue
    let registry: UnlockRegistry
    /// One background drain per unlocked mailbox at a time, however many deliveries ask for it.
    let drains = DrainCoordinator()
    /// Deliveries that claimed a mailbox and have not committed to the queue yet (a move waits for them).
    let queueWriters = MailboxCounter()
    /// How long a login moves queued mail before it is answered (nil: all of it, as the CLI wants
    /// before it lists or exports). The rest moves in the background; sessions see it arrive.
    private let loginDrainBudgetValue = Mutex<Duration?>(nil)
    public var loginDrainBudget: Duration? {
        get { loginDrainBudgetValue.withLock { $0 } }
        set { loginDrainBudgetValue.withLock { $0 = newValue } }
    }
    /// The free-space floor (nil: none): below it nothing new is stored (`checkDiskSpace`).
    private let spaceGuardValue = Mutex<DiskSpaceGuard?>(nil)
    public var spaceGuard: DiskSpaceGuard? {
        get { spaceGuardValue.withLock { $0 } }
        set { spaceGuardValue.withLock { $0 = newValue } }
    }

    /// The quota of mailboxes whose alias has none (`quota.default`; nil: none).
    private let defaultQuotaValue = Mutex<Int64?>(nil)
    public var defaultQuotaBytes: Int64? {
        get { defaultQuotaValue.withLock { $0 } }
        set { defaultQuotaValue.withLock { $0 = newValue } }
    }

    /// The cluster's say over which mailboxes this process writes (nil: every one; see
    /// `MailboxOwnership`). Set before the service is used.
    private let ownershipValue = Mutex<(any MailboxOwnership)?>(nil)
    public var ownership: (any MailboxOwnership)? {
        get { ownershipValue.withLock { $0 } }
        set { ownershipValue.withLock { $0 = newValue } }
    }

    /// Called after `acceptInbound` committed outbound jobs (a storage node wakes its outbound
    /// worker: the jobs came over the cluster RPC from a frontend's MX).
    private let jobsQueuedValue = Mutex<(@Sendable () -> Void)?>(nil)
    public var onJobsQueued: (@Sendable () -> Void)? {
        get { jobsQueuedValue.withLock { $0 } }
        set { jobsQueuedValue.withLock { $0 = newValue } }
    }

    /// In a cluster: makes a new mailbox on the storage node the placement chooses (`node`: the one
    /// named) and returns its password and entry, or nil when that node is this one.
    public typealias MailboxPlacer = @Sendable (_ alias: AliasRecord, _ label: String?, _ node: String?) async throws -> (password: String, record: PasswordRecord)?
    private let placerValue = Mutex<MailboxPlacer?>(nil)
    public var placeNewMailbox: MailboxPlacer? {
        get { placerValue.withLock { $0 } }
        set { placerValue.withLock { $0 = newValue } }
    }

    /// Before a mailbox is opened or mail is queued for it: this node's lease (no-op without ownership).
    func claim(_ mailboxID: String) async throws {
        try await ownership?.claim(mailboxID: mailboxID)
    }

    /// Opens the file with the ownership's commit fence in place.
    func openFenced(mailboxID: String, dataKey: SecretBytes) throws -> MailboxDatabase {
        // The lease may have gone while the open waited (a move away finished meanwhile).
        if let ownership, !ownership.mayCommit(mailboxID: mailboxID) {
            throw MailStoreError(.unavailable, "the mailbox is not on this storage node (any more)")
        }
        let database = try MailboxDatabase.open(storageRoot: storageRoot, mailboxID: mailboxID, dataKey: dataKey)
        if let ownership { database.installCommitFence { ownership.mayCommit(mailboxID: mailboxID) } }
        return database
    }

    public func storageIsLow() async -> Bool { spaceGuard?.isLow() ?? false }

    /// Throws `.insufficientStorage` below the free-space floor (before any new mail is written).
    func checkDiskSpace() throws {
        if spaceGuard?.isLow() == true { throw MailStoreError(.insufficientStorage, "the server is low on disk space") }
    }

    public init(storageRoot: String, directory: any MailDirectory, queue: SealedQueue, gracePeriod: Duration = .seconds(30)) {
        self.storageRoot = storageRoot
        self.directory = directory
        self.queue = queue
        self.registry = UnlockRegistry(gracePeriod: gracePeriod)
    }

    // MARK: - Sessions

    public func unlock(address: EmailAddress, password: String) async throws -> any MailboxSession {
        try await unlockSession(address: address, password: password)
    }

    public func unlockSession(address: EmailAddress, password: String) async throws -> LocalMailboxSession {
        let started = ContinuousClock.now
        var cached = false
        guard let alias = try await directory.alias(address: address), alias.store, let mailboxID = alias.mailboxID else {
            await KDFExecutor.shared.run { KeyHierarchy.burnEquivalentWork(password: password) }
            throw MailStoreError(.authenticationFailed, "authentication failed")
        }
        let verifier = registry.verifier(aliasID: alias.id, password: password)
        let database: MailboxDatabase, record: PasswordRecord
        if let fast = await registry.attach(mailboxID: mailboxID, verifier: verifier) {
            // Claimed before a session joins an open mailbox too: one whose lease ran short (the
            // registry away for a while) is taken again or refused, and one moving away is refused
            // (a session joining it would keep the move from locking it). No I/O while the lease is fresh.
            do { try await claim(mailboxID) } catch {
                await registry.detach(mailboxID: mailboxID)
                throw error
            }
            // The password may have been revoked by another process (the CLI while `serve` runs).
            guard let entry = try await directory.passwords(aliasID: alias.id).first(where: { $0.id == fast.1 }) else {
                await registry.forget(mailboxID: mailboxID, passwordID: fast.1)
                await registry.detach(mailboxID: mailboxID)
                await KDFExecutor.shared.run { KeyHierarchy.burnEquivalentWork(password: password) }
                throw MailStoreError(.authenticationFailed, "authentication failed")
            }
            (database, record) = (fast.0, entry)
            cached = true
        } else {
            guard let (dataKey, entry) = try await unwrapDataKey(alias: alias, password: password) else {
                throw MailStoreError(.authenticationFailed, "authentication failed")
            }
            try await claim(mailboxID)
            database = try await registry.open(mailboxID: mailboxID, dataKey: dataKey, verifier: verifier, passwordID: entry.id) {
                try self.openFenced(mailboxID: mailboxID, dataKey: dataKey)
            }
            record = entry
        }
        let passwordID = record.id
        // The entry as read above: no second read of the list, and at most one write a minute.
        let now = Date()
        if PasswordRecord.shouldRecordUse(record, now: now) {
            try? await directory.recordPasswordUse(aliasID: alias.id, passwordID: passwordID, at: now)
        }
        // An entry made before backup locators existed gets its locator now that the password is here.
        if record.backupLocator == nil {
            let directory = self.directory, address = alias.address, aliasID = alias.id
            Task.detached {
                let locator = await KeyHierarchy.backupLocatorOffPool(address: address, password: password)
                try? await directory.setBackupLocator(aliasID: aliasID, passwordID: passwordID, locator: locator)
            }
        }
        let complete: Bool
        do {
            complete = try await queue.drain(into: database, until: loginDrainBudget.map { ContinuousClock.now + $0 }).complete
            await recordDeliveryNotes(database)
        } catch {
            await registry.detach(mailboxID: mailboxID)
            throw error
        }
        // The quota is looked up when a command first needs it (an alias without its own means a
        // read of its domain's default): a login that only reads costs no directory round trip for it.
        let directory = self.directory, nodeDefault = defaultQuotaBytes
        let quota = LazyQuota { (try? await directory.quota(of: alias, nodeDefault: nodeDefault)) ?? alias.quotaBytes ?? nodeDefault }
        let session = LocalMailboxSession(service: self, database: database, address: alias.address, passwordID: passwordID, quota: quota)
        // A long absence: the login is answered now; the rest of the mail arrives as it moves.
        if !complete { requestDrain(mailboxID: mailboxID) }
        (cached ? UnlockMetrics.cached : UnlockMetrics.kdf).record(duration: ContinuousClock.now - started)
        return session
    }

    /// Tries every password entry of the alias (one scrypt each).
    func unwrapDataKey(alias: AliasRecord, password: String) async throws -> (SecretBytes, PasswordRecord)? {
        let records = try await directory.passwords(aliasID: alias.id)
        if records.isEmpty { await KDFExecutor.shared.run { KeyHierarchy.burnEquivalentWork(password: password) } }
        for record in records {
            if let key = await KeyHierarchy.unwrapOffPool(record, password: password) { return (key, record) }
        }
        return nil
    }

    func sessionClosed(mailboxID: String) async {
        await registry.detach(mailboxID: mailboxID)
    }

    /// Whether the mailbox is unlocked in this process right now.
    public func isUnlocked(mailboxID: String) async -> Bool {
        await registry.database(mailboxID: mailboxID) != nil
    }

    /// Runs `body` with the mailbox locked and kept locked (a login waits until it is done): for
    /// replacing or deleting its file beside a running node. A mailbox unlocked only for its grace
    /// period after its last session is locked now. nil, without running `body`, while a session
    /// (or a backup copy) has it open.
    public func whileLocked<T>(mailboxID: String, _ body: () async throws -> T) async throws -> T? {
        guard await registry.lockForReplacement(mailboxID: mailboxID) else { return nil }
        return try await keptLocked(mailboxID: mailboxID, body)
    }

    /// Runs `body` on a mailbox locked for replacement (quiescent), then lets logins in again,
    /// whether `body` succeeded or threw.
    func keptLocked<T>(mailboxID: String, _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await registry.endQuiescentCopy(mailboxID: mailboxID)
            return result
        } catch {
            await registry.endQuiescentCopy(mailboxID: mailboxID)
            throw error
        }
    }
    /// How many mailboxes are unlocked in this process right now (`sealbox_mailboxes_unlocked`).
    public func unlockedCount() async -> Int { await registry.count }

    /// Locks every mailbox now (shutdown): closes files and drops keys.
    public func lockAll() async { await registry.closeAll() }

    // MARK: - Delivery

    public func deliver(to recipient: EmailAddress, message: [UInt8], internalDate: Date = Date()) async throws -> DeliveryOutcome {
        guard let alias = try await directory.resolveRecipient(recipient) else {
            throw MailStoreError(.noMailbox, "no such recipient: \(recipient)")
        }
        guard alias.store else { return .notStored }
        guard let mailboxID = alias.mailboxID, let publicKey = alias.publicKey else {
            throw MailStoreError(.noMailbox, "the mailbox of \(alias.address) is not set up yet (it has no password)")
        }
        // Mail is stored with CRLF line endings (IMAP sizes and sections count CRLF): a file handed
        // to the local delivery agent with bare LFs is canonicalised here.
        let canonical = MIMEMessage.canonicalCRLF(message)
        queueWriters.enter([mailboxID])
        let seq: Int64
        do {
            defer { queueWriters.leave([mailboxID]) }
            try await claim(mailboxID)
            seq = try await queue.enqueue(message: canonical, internalDate: internalDate, mailboxID: mailboxID, publicKey: publicKey)
        }
        guard let database = await registry.database(mailboxID: mailboxID) else { return .queued(seq: seq, delivered: false) }
        try await queue.drain(into: database)
        await recordDeliveryNotes(database)
        return .queued(seq: seq, delivered: true)
    }

    /// Moves queued mail into every mailbox unlocked in this process (mail queued by another
    /// process, such as `sealbox deliver` while `serve` runs). Returns how many messages moved.
    @discardableResult
    public func drainQueuedMail() async throws -> Int {
        var moved = 0
        for mailboxID in try await queue.mailboxesWithMail() {
            guard let database = await registry.database(mailboxID: mailboxID) else { continue }
            moved += try await queue.drain(into: database)
            await recordDeliveryNotes(database)
        }
        return moved
    }

    // MARK: - Passwords (the key hierarchy)

    /// Creates the mailbox of a storing alias that has none yet: a data key, a mailbox file with its
    /// HPKE key pair, the public key in the directory, and a first generated password wrapping the
    /// key. Returns the password (shown once) and its entry.
    public func createMailbox(for alias: AliasRecord, label: String?, node: String? = nil) async throws -> (password: String, record: PasswordRecord) {
        if let place = placeNewMailbox, let made = try await place(alias, label, node) { return made }
        guard node == nil else { throw MailStoreError(.unavailable, "mailbox placement on a named node needs a cluster storage node") }
        return try await createMailboxHere(for: alias, label: label)
    }

    /// `createMailbox` on this node, whatever the placement says (the placement's own call).
    public func createMailboxHere(for alias: AliasRecord, label: String?) async throws -> (password: String, record: PasswordRecord) {
        guard alias.store else { throw MailStoreError(.notStored, "\(alias.address) does not store mail") }
        guard alias.mailboxID == nil else { throw MailStoreError(.noMailbox, "\(alias.address) already has a mailbox") }
        let dataKey = KeyHierarchy.newDataKey()
        let mailboxID = DirectoryID.random()
        try await claim(mailboxID)
        let database = try MailboxDatabase.create(storageRoot: storageRoot, mailboxID: mailboxID, dataKey: dataKey)
        let publicKey = database.publicKey
        try database.close()
        let password = KeyHierarchy.generatePassword()
        var record = try KeyHierarchy.wrap(dataKey: dataKey, password: password, aliasID: alias.id, passwordID: DirectoryID.randomPasswordID(), label: label)
        record.backupLocator = await KeyHierarchy.backupLocatorOffPool(address: alias.address, password: password)
        try await directory.addPassword(record)
        try await directory.setMailbox(aliasID: alias.id, mailboxID: mailboxID, publicKey: publicKey)
        return (password, record)
    }

    /// Adds a generated password to a mailbox, authorised by one of its current passwords.
    public func addPassword(address: EmailAddress, currentPassword: String, label: String?) async throws -> (password: String, record: PasswordRecord) {
        let (alias, dataKey, _) = try await authorize(address: address, password: currentPassword)
        let password = KeyHierarchy.generatePassword()
        var record = try KeyHierarchy.wrap(dataKey: dataKey, password: password, aliasID: alias.id, passwordID: DirectoryID.randomPasswordID(), label: label)
        record.backupLocator = await KeyHierarchy.backupLocatorOffPool(address: alias.address, password: password)
        try await directory.addPassword(record)
        return (password, record)
    }

    /// Replaces the password of entry `passwordID` (same id and label) by a new generated one, or by
    /// `newPassword` when given; authorised by any current password. Re-wraps one key: the mailbox
    /// file is untouched.
    public func changePassword(address: EmailAddress, passwordID: String, currentPassword: String, newPassword: String? = nil) async throws -> String {
        let (alias, dataKey, _) = try await authorize(address: address, password: currentPassword)
        guard let old = try await directory.passwords(aliasID: alias.id).first(where: { $0.id == passwordID }) else {
            throw MailStoreError(.noSuchPassword, "no password \(passwordID) for \(address)")
        }
        let password = newPassword ?? KeyHierarchy.generatePassword()
        var record = try KeyHierarchy.wrap(dataKey: dataKey, password: password, aliasID: alias.id, passwordID: old.id, label: old.label)
        record.created = old.created
        record.lastUsed = old.lastUsed
        record.backupLocator = await KeyHierarchy.backupLocatorOffPool(address: alias.address, password: password)
        try await directory.updatePassword(record)
        await revoked(alias: alias, passwordID: passwordID)
        return password
    }

    /// Revokes one password. Revoking the last one makes the mailbox unreadable forever, so it
    /// needs `allowLast`.
    public func revokePassword(address: EmailAddress, passwordID: String, allowLast: Bool = false) async throws {
        guard let alias = try await directory.alias(address: address) else {
            throw MailStoreError(.noMailbox, "no such alias: \(address)")
        }
        let records = try await directory.passwords(aliasID: alias.id)
        guard records.contains(where: { $0.id == passwordID }) else {
            throw MailStoreError(.noSuchPassword, "no password \(passwordID) for \(address)")
        }
        if records.count == 1, !allowLast {
            throw MailStoreError(.lastPassword, "\(passwordID) is the last password of \(address): without it the mailbox can never be opened again (use --force to revoke it anyway)")
        }
        try await directory.removePassword(aliasID: alias.id, passwordID: passwordID)
        await revoked(alias: alias, passwordID: passwordID)
    }

    /// Sessions that logged in with a revoked or changed password end; its fast verifier goes.
    private func revoked(alias: AliasRecord, passwordID: String) async {
        guard let mailboxID = alias.mailboxID else { return }
        await registry.forget(mailboxID: mailboxID, passwordID: passwordID)
        if let database = await registry.database(mailboxID: mailboxID) {
            database.publish([MailboxChange(folder: "", kind: .passwordRevoked(passwordID: passwordID), modSeq: 0, origin: nil)])
        }
    }

    func authorize(address: EmailAddress, password: String) async throws -> (AliasRecord, SecretBytes, PasswordRecord) {
        guard let alias = try await directory.alias(address: address), alias.mailboxID != nil,
              let (dataKey, record) = try await unwrapDataKey(alias: alias, password: password)
        else { throw MailStoreError(.authenticationFailed, "authentication failed") }
        return (alias, dataKey, record)
    }

    /// Test support: the data key of a mailbox, for opening its file with an independent sqlite3mc
    /// build. Requires a valid password; never used by the servers.
    @_spi(Testing) public func exportDataKeyForTesting(address: EmailAddress, password: String) async throws -> SecretBytes {
        try await authorize(address: address, password: password).1
    }
}

/// The mailboxes unlocked in this process.
actor UnlockRegistry {
    struct Entry {
        var database: MailboxDatabase
        var dataKey: SecretBytes
        /// In-memory verifier → password id, for logins while the mailbox is unlocked.
        var verifiers: [Data: String]
        var sessions: Int
        var closing: Task<Void, Never>?
    }

    var entries: [String: Entry] = [:]
    /// Locked mailboxes whose file is being copied (a backup): unlocking them waits.
    private var quiescent: Set<String> = []
    private let gracePeriod: Duration
    /// Per-process secret for verifiers; never leaves memory.
    private nonisolated let verifierKey = SymmetricKey(size: .bits256)

    init(gracePeriod: Duration) { self.gracePeriod = gracePeriod }

    var count: Int { entries.count }

    nonisolated func verifier(aliasID: String, password: String) -> Data {
        var mac = HMAC<SHA256>(key: verifierKey)
        mac.update(data: Array(aliasID.utf8) + [0] + Array(KeyHierarchy.normalized(password).utf8))
        return Data(mac.finalize())
    }

    /// A new session on an unlocked mailbox whose verifier matches; nil otherwise.
    func attach(mailboxID: String, verifier: Data) -> (MailboxDatabase, String)? {
        guard let entry = entries[mailboxID], let passwordID = entry.verifiers[verifier] else { return nil }
        return (join(mailboxID), passwordID)
    }

    /// A new session with a freshly unwrapped key: opens the file unless it is open already.
    func open(mailboxID: String, dataKey: SecretBytes, verifier: Data, passwordID: String,
              opener: () throws -> MailboxDatabase) async throws -> MailboxDatabase {
        // A backup is copying the locked file: opening it now would write to it mid-copy.
        while quiescent.contains(mailboxID) { try await Task.sleep(for: .milliseconds(20)) }
        if entries[mailboxID] != nil {
            entries[mailboxID]!.verifiers[verifier] = passwordID
            return join(mailboxID)
        }
        let database = try opener()
        entries[mailboxID] = Entry(database: database, dataKey: dataKey, verifiers: [verifier: passwordID], sessions: 1, closing: nil)
        return database
    }

    /// One more session on an open mailbox: cancels a pending lock.
    private func join(_ mailboxID: String) -> MailboxDatabase {
        var entry = entries[mailboxID]!
        entry.closing?.cancel()
        entry.closing = nil
        entry.sessions += 1
        entries[mailboxID] = entry
        return entry.database
    }

    func database(mailboxID: String) -> MailboxDatabase? { entries[mailboxID]?.database }

    /// Holds an unlocked mailbox open (as a session would) and hands out its key: nil when locked.
    /// Balance with `detach`.
    func retain(mailboxID: String) -> (MailboxDatabase, SecretBytes)? {
        guard let entry = entries[mailboxID] else { return nil }
        return (join(mailboxID), entry.dataKey)
    }

    /// Marks a locked mailbox's file as being copied; false when it is unlocked (or already marked).
    func beginQuiescentCopy(mailboxID: String) -> Bool {
        guard entries[mailboxID] == nil, !quiescent.contains(mailboxID) else { return false }
        quiescent.insert(mailboxID)
        return true
    }

    func endQuiescentCopy(mailboxID: String) { quiescent.remove(mailboxID) }

    /// Closes the mailbox if no session holds it (its grace period ends now) and marks it as
    /// quiescent; false when a session or a copy holds it, or when SQLite refused to close the
    /// file (it stays open and registered, so a later try closes it).
    func lockForReplacement(mailboxID: String) -> Bool {
        if let entry = entries[mailboxID] {
            guard entry.sessions <= 0 else { return false }
            entry.closing?.cancel()
            do { try entry.database.close() } catch { return false }
            entries[mailboxID] = nil
        }
        return beginQuiescentCopy(mailboxID: mailboxID)
    }

    func detach(mailboxID: String) {
        guard var entry = entries[mailboxID] else { return }
        entry.sessions -= 1
        if entry.sessions <= 0 {
            let grace = gracePeriod
            entry.closing = Task { [weak self] in
                try? await Task.sleep(for: grace)
                guard !Task.isCancelled else { return }
                await self?.closeIfIdle(mailboxID: mailboxID)
            }
        }
        entries[mailboxID] = entry
    }

    func forget(mailboxID: String, passwordID: String) {
        guard var entry = entries[mailboxID] else { return }
        entry.verifiers = entry.verifiers.filter { $0.value != passwordID }
        entries[mailboxID] = entry
    }

    private func closeIfIdle(mailboxID: String) {
        guard let entry = entries[mailboxID], entry.sessions <= 0 else { return }
        entries[mailboxID] = nil
        try? entry.database.close()
    }

    func closeAll() {
        for entry in entries.values {
            entry.closing?.cancel()
            try? entry.database.close()
        }
        entries.removeAll()
    }
}

/// A session on an unlocked mailbox (in-process).
public final class LocalMailboxSession: MailboxSession {
    public let id = UUID()
    public let address: EmailAddress
    public let passwordID: String
    public let database: MailboxDatabase
    let quota: LazyQuota
    private let service: LocalMailboxService
    private let closed = AtomicFlag()

    init(service: LocalMailboxService, database: MailboxDatabase, address: EmailAddress, passwordID: String, quota: LazyQuota) {
        self.service = service; self.database = database; self.address = address
        self.passwordID = passwordID; self.quota = quota
    }

    /// The mailbox's quota in bytes (nil: none), read once per session.
    var quotaBytes: Int64? { get async { await quota.value() } }

    public var mailboxID: String { database.mailboxID }

    public func folders() async throws -> [FolderInfo] { try await database.folders() }
    public func folder(_ path: String) async throws -> FolderInfo? { try await database.folder(path) }
    public func createFolder(_ path: String, specialUse: SpecialUse?) async throws -> FolderInfo {
        try await database.createFolder(path, specialUse: specialUse, origin: id)
    }
    public func renameFolder(_ from: String, to: String) async throws { try await database.renameFolder(from, to: to, origin: id) }
    public func deleteFolder(_ path: String) async throws { try await database.deleteFolder(path, origin: id) }
    public func setSubscribed(_ path: String, _ subscribed: Bool) async throws { try await database.setSubscribed(path, subscribed) }
    public func subscriptions() async throws -> [String] { try await database.subscriptions() }

    public func append(to folder: String, message: [UInt8], flags: MessageFlags, keywords: [String], internalDate: Date?) async throws -> AppendResult {
        try service.checkDiskSpace()
        return try await database.append(to: folder, message: message, flags: flags, keywords: keywords,
                                  internalDate: internalDate ?? Date(), quotaBytes: await quotaBytes, origin: id)
    }
    public func append(_ batch: [AppendRequest]) async throws -> [Result<AppendResult, MailStoreError>] {
        try service.checkDiskSpace()
        return try await database.append(batch, quotaBytes: await quotaBytes, origin: id)
    }
    public func replace(in folder: String, uid: UID, with request: AppendRequest) async throws -> AppendResult {
        try service.checkDiskSpace()
        return try await database.replace(in: folder, uid: uid, with: request, quotaBytes: await quotaBytes, origin: id)
    }
    public func appendAll(_ batch: [AppendRequest]) async throws -> [AppendResult] {
        try service.checkDiskSpace()
        return try await database.append(batch, quotaBytes: await quotaBytes, origin: id, atomic: true).map { try $0.get() }
    }
    public func messages(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord] {
        try await database.messages(in: folder, uids: uids, changedSince: changedSince)
    }
    public func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?) async throws -> [MessageRecord] {
        try await database.messages(in: folder, uids: uids, changedSince: changedSince, facts: false)
    }
    public func messageBytes(in folder: String, uid: UID) async throws -> [UInt8]? { try await database.messageBytes(in: folder, uid: uid) }
    public func messageStates(in folder: String, uids: UIDSet?, changedSince: Int64?, prefetch: BytesPrefetch) async throws
        -> (records: [MessageRecord], bytes: [UID: [UInt8]]) {
        try await database.messages(in: folder, uids: uids, changedSince: changedSince, facts: false, prefetch: prefetch)
    }
    public func messageBytes(in folder: String, uids: UIDSet, prefetch: BytesPrefetch) async throws -> [UID: [UInt8]] {
        try await database.messageBytes(in: folder, uids: uids, prefetch: prefetch)
    }
    public func messageStates(in folder: String, uids: UIDSet, changedSince: Int64?, derived kinds: [String]) async throws
        -> (records: [MessageRecord], derived: [String: [UID: [UInt8]]]) {
        try await database.messages(in: folder, uids: uids, changedSince: changedSince, derived: kinds)
    }
    public func messageReader(in folder: String, uid: UID) async throws -> MessageReader? {
        try await database.messageReader(in: folder, uid: uid)
    }
    public func structures(in folder: String, uids: UIDSet) async throws -> [UID: MessageStructure] {
        try await database.structures(in: folder, uids: uids)
    }
    public func messageHeaders(in folder: String, uids: UIDSet) async throws -> [UID: [UInt8]] {
        try await database.messageHeaders(in: folder, uids: uids)
    }
    public func derived(_ kinds: [String], in folder: String, uids: UIDSet) async throws -> [String: [UID: [UInt8]]] {
        try await database.derived(kinds, in: folder, uids: uids)
    }
    public func keepDerived(_ kind: String, in folder: String, values: [UID: [UInt8]]) async throws {
        try await database.keepDerived(kind, in: folder, values: values)
    }
    public func storeFlags(in folder: String, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, keywords: [String], unchangedSince: Int64?) async throws -> StoreResult {
        try await database.storeFlags(in: folder, uids: uids, operation: operation, flags: flags, keywords: keywords, unchangedSince: unchangedSince, origin: id)
    }
    public func copy(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult {
        try service.checkDiskSpace()
        return try await database.copy(from: source, uids: uids, to: target, quotaBytes: await quotaBytes, origin: id)
    }
    public func move(from source: String, uids: UIDSet, to target: String) async throws -> CopyResult {
        try await database.move(from: source, uids: uids, to: target, origin: id)
    }
    public func expunge(in folder: String, uids: UIDSet?) async throws -> (uids: [UID], modSeq: Int64?) {
        try await database.expungeWithModSeq(in: folder, uids: uids, origin: id)
    }
    public func expunged(in folder: String, since modSeq: Int64) async throws -> [UID] { try await database.expunged(in: folder, since: modSeq) }
    public func changes(in folder: String, since modSeq: Int64) async throws -> FolderChanges { try await database.changes(in: folder, since: modSeq) }
    public func publishedModSeq(in folder: String) -> Int64? { database.publishedModSeq(in: folder) }
    public func status(of folder: String) async throws -> FolderStatus { try await database.status(of: folder) }
    public func claimRecent(in folder: String) async throws -> [UID] { try await database.claimRecent(in: folder) }
    public func fullTextSearch(in folder: String, text: String, field: FullTextField) async throws -> [UID]? {
        try await database.fullTextSearch(in: folder, text: text, field: field)
    }
    public func sentDays(in folder: String) async throws -> [UID: Int] { try await database.sentDays(in: folder) }
    public func searchFields(in folder: String, uids: UIDSet?, includeHeader: Bool) async throws -> [MessageSearchFields] {
        try await database.searchFields(in: folder, uids: uids, includeHeader: includeHeader)
    }
    public func searchFields(in folder: String, excluding known: UIDSet) async throws -> (existing: [UID], fields: [MessageSearchFields]) {
        try await database.searchFields(in: folder, excluding: known)
    }
    public func isStillAuthorized() async -> Bool {
        // A failed lookup (the directory busy) keeps the session; a removed alias ends it.
        let found: AliasRecord?
        do { found = try await service.directory.alias(address: address) } catch { return true }
        guard let alias = found else { return false }
        guard let passwords = try? await service.directory.passwords(aliasID: alias.id) else { return true }
        return alias.mailboxID == mailboxID && passwords.contains { $0.id == passwordID }
    }
    public func quota() async throws -> (used: Int64, limit: Int64?) { (try await database.usage(), await quotaBytes) }
    public func changes(folder: String?) -> AsyncStream<MailboxChange> { database.changes(folder: folder) }

    public func close() async {
        guard closed.setOnce() else { return }
        await service.sessionClosed(mailboxID: mailboxID)
    }
}

/// A flag that can be set once, from any thread.
final class AtomicFlag: Sendable {
    private let value = Mutex<Bool>(false)
    /// True the first time only.
    func setOnce() -> Bool { value.withLock { v in defer { v = true }; return !v } }
}

/// `sealbox_mailbox_unlock_seconds{path}`: how long a successful unlock took, queued mail moved in
/// included; `cached` when the mailbox was unlocked already (no KDF), `kdf` when the password
/// unwrapped the key. Made at the first unlock (after `serve` bootstrapped the metrics system).
enum UnlockMetrics {
    static let cached = CoreMetrics.Timer(label: "sealbox_mailbox_unlock_seconds", dimensions: [("path", "cached")])
    static let kdf = CoreMetrics.Timer(label: "sealbox_mailbox_unlock_seconds", dimensions: [("path", "kdf")])
}

/// A session's quota, looked up the first time a command needs it and kept for the session.
/// Concurrent first uses may look it up twice; both get the same answer.
final class LazyQuota: Sendable {
    private let lookUp: @Sendable () async -> Int64?
    private let known = Mutex<Int64??>(nil)

    init(_ lookUp: @escaping @Sendable () async -> Int64?) { self.lookUp = lookUp }

    func value() async -> Int64? {
        if let known = known.withLock({ $0 }) { return known }
        let found = await lookUp()
        known.withLock { $0 = .some(found) }
        return found
    }
}

import Crypto
import Foundation
import GRDB
import GRDBSQLite
import MailboxAPI
import MIMEParser
import SQLiteCipher
import Synchronization

/// One open, unlocked mailbox file: an encrypted SQLite database (WAL pool: one writer,
/// concurrent readers) keyed with the mailbox's data key.
///
/// All writes go through GRDB's async `write`, so the event loops never block. Every write that
/// changes what a session sees publishes a `MailboxChange` after its commit.
public final class MailboxDatabase: Sendable {
    public let mailboxID: String
    public let path: String
    let pool: DatabasePool
    let keyPair: InboundSeal.KeyPair
    let searchTexts = SearchTextCache()
    /// Whole bytes of recently read messages (process-wide, bounded; see `MessageBytesCache`).
    let bytesCache = MessageBytesCache.shared
    let reclaimer = SpaceReclaimer()
    /// Text stored and not indexed yet (see MailboxDatabase+SearchIndex).
    let indexWaiting = Mutex(IndexWaiting())
    /// Readers in use or asked for (see `read(small:_:)`).
    let readers: ReaderReservations
    /// Folder rows as last read, until the writer's next commit (see `FolderCache`).
    let folderCache = FolderCache()
    /// The highest MODSEQ published per folder since the file was opened (`publishedModSeq`).
    private let published = Mutex<[String: Int64]>([:])
    private let watchers = Mutex<[UUID: AsyncStream<MailboxChange>.Continuation]>([:])
    /// What deliveries noted for the owner's Sieve error log since the last `takeDeliveryNotes`.
    private let deliveryNotes = Mutex<[DeliveryNote]>([])

    /// A delivery that did not go where its instructions said (a `fileinto` folder that does not
    /// exist, without `:create`: filed into INBOX), for the alias's Sieve error log.
    public struct DeliveryNote: Sendable, Hashable {
        public var aliasID: String
        public var script: String
        public var message: String
        public var at: Date
    }

    public func takeDeliveryNotes() -> [DeliveryNote] {
        deliveryNotes.withLock { notes in defer { notes = [] }; return notes }
    }

    /// The folders every mailbox has from its first unlock, with their RFC 6154 attributes.
    public static let defaultFolders: [(path: String, use: SpecialUse?)] = [
        ("INBOX", nil), ("Drafts", .drafts), ("Sent", .sent), ("Trash", .trash), ("Junk", .junk), ("Archive", .archive),
    ]

    private init(mailboxID: String, path: String, pool: DatabasePool, keyPair: InboundSeal.KeyPair) {
        self.mailboxID = mailboxID; self.path = path; self.pool = pool; self.keyPair = keyPair
        self.readers = ReaderReservations(limit: pool.configuration.maximumReaderCount)
        let cache = folderCache
        pool.writeWithoutTransaction { db in db.add(transactionObserver: cache, extent: .databaseLifetime) }
    }

    // MARK: - Files

    /// `<storage>/<2 hex>/<id>.sqlite`: the name reveals nothing about the address.
    public static func filePath(storageRoot: String, mailboxID: String) -> String {
        let shard = String(mailboxID.prefix(2))
        return URL(fileURLWithPath: storageRoot).appendingPathComponent(shard).appendingPathComponent("\(mailboxID).sqlite").path
    }

    /// Creates a new mailbox file with a fresh X-Wing key pair; returns it open.
    public static func create(storageRoot: String, mailboxID: String, dataKey: SecretBytes, now: Date = Date()) throws -> MailboxDatabase {
        try create(storageRoot: storageRoot, mailboxID: mailboxID, now: now) { path in
            // Freed pages can be given back to the file system (MailboxDatabase+Space).
            try EncryptedDatabase.createIncrementallyVacuumed(path: path, key: dataKey)
            return try EncryptedDatabase.openPool(path: path, key: dataKey, label: "mailbox")
        }
    }

    /// The same mailbox code on an UNENCRYPTED sqlite3mc database: only for the benchmark that
    /// measures what encryption costs. Never used by the server.
    @_spi(Testing) public static func createUnencryptedForBenchmark(storageRoot: String, mailboxID: String) throws -> MailboxDatabase {
        try create(storageRoot: storageRoot, mailboxID: mailboxID, now: Date()) { path in
            try DatabaseQueue(path: path).writeWithoutTransaction { db in  // as the encrypted file is made
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            var config = Configuration()
            config.journalMode = .wal
            config.busyMode = .timeout(5)
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY")
                try EncryptedDatabase.registerTokenizer(db)
            }
            return try DatabasePool(path: path, configuration: config)
        }
    }

    private static func create(storageRoot: String, mailboxID: String, now: Date, openPool: (String) throws -> DatabasePool) throws -> MailboxDatabase {
        let path = filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        guard !FileManager.default.fileExists(atPath: path) else {
            throw MailStoreError(.noMailbox, "a mailbox file with id \(mailboxID) already exists")
        }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let pool = try openPool(path)
        let keyPair = try InboundSeal.KeyPair.generate()
        try MailboxSchema.migrator.migrate(pool)
        try pool.write { db in
            try setMeta(db, "mailbox_id", mailboxID)
            try setMeta(db, "created", isoString(now))
            try setMeta(db, "hpke_private_key", Data(keyPair.privateKeyBytes))
            try setMeta(db, "next_uid_validity", Int64(now.timeIntervalSince1970))
            try setMeta(db, "queue_seq", Int64(0))
            try ensureDefaultFolders(db, now: now)
        }
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return MailboxDatabase(mailboxID: mailboxID, path: path, pool: pool, keyPair: keyPair)
    }

    /// Opens an existing mailbox file; upgrades its schema if it is older than this build's.
    public static func open(storageRoot: String, mailboxID: String, dataKey: SecretBytes) throws -> MailboxDatabase {
        let path = filePath(storageRoot: storageRoot, mailboxID: mailboxID)
        guard FileManager.default.fileExists(atPath: path) else {
            throw MailStoreError(.noMailbox, "the mailbox file is missing")
        }
        let pool = try EncryptedDatabase.openPool(path: path, key: dataKey, label: "mailbox")
        try MailboxSchema.migrator.migrate(pool)
        let renew = FileManager.default.fileExists(atPath: renewalMarkerPath(path))
        let floorPath = path + validityFloorSuffix
        let floor = renew ? (try? String(contentsOfFile: floorPath, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } : nil
        let (storedID, keyBytes): (String?, Data?) = try pool.write { db in
            let storedID = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'mailbox_id'")
            if renew && storedID == mailboxID {
                let highest = try renewUIDValidity(db, now: Date(), floor: floor ?? 0)
                try Data("\(highest)\n".utf8).write(to: URL(fileURLWithPath: floorPath))
                try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: floorPath)
            }
            try ensureDefaultFolders(db, now: Date())
            return (storedID, try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'hpke_private_key'"))
        }
        guard storedID == mailboxID, let keyBytes else {
            throw MailStoreError(.noMailbox, "the mailbox file does not belong to this mailbox")
        }
        if renew { try FileManager.default.removeItem(atPath: renewalMarkerPath(path)) }
        let database = MailboxDatabase(mailboxID: mailboxID, path: path, pool: pool, keyPair: try InboundSeal.KeyPair(privateKeyBytes: Array(keyBytes)))
        database.startMaintenance()  // what a crash may have left for the pass
        return database
    }

    public var publicKey: [UInt8] { keyPair.publicKeyBytes }

    /// Copies the WAL into the main file and truncates it (before a file-level copy or backup).
    public func checkpoint() async throws {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Closes every connection. Further calls fail. The WAL is merged into the file first (GRDB's
    /// readers are read-only connections: when one of them closes last, SQLite cannot checkpoint),
    /// so a locked mailbox is one quiescent file that a backup can copy without its key.
    public func close() throws {
        reclaimer.close()
        // What waits for the index is indexed now, while its text is still in memory.
        _ = try? pool.write { db in try self.indexPending(db) }
        // What the pass has not deleted yet goes now: a locked file keeps no expunged message.
        _ = try? pool.write { db in try Self.purgeQueued(db, limit: nil) }
        try? pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        searchTexts.removeAll()
        bytesCache.removeAll(mailboxID: mailboxID)
        // Finished outside the lock: finish() runs each stream's onTermination, which takes it.
        let open = watchers.withLock { w in defer { w.removeAll() }; return Array(w.values) }
        for c in open { c.finish() }
        try pool.close()
    }

    // MARK: - Change notifications

    /// Changes to `folder` (or to every folder when nil) from now on, until the mailbox closes.
    public func changes(folder: String? = nil) -> AsyncStream<MailboxChange> {
        let filter = folder.flatMap { try? Self.normalizePath($0) }
        let (stream, continuation) = AsyncStream<MailboxChange>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        watchers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in self?.watchers.withLock { _ = $0.removeValue(forKey: id) } }
        guard let filter else { return stream }
        return AsyncStream { out in
            let task = Task {
                for await change in stream where change.folder == filter || change.folder.isEmpty { out.yield(change) }
                out.finish()
            }
            out.onTermination = { _ in task.cancel() }
        }
    }

    func publish(_ changes: [MailboxChange]) {
        guard !changes.isEmpty else { return }
        published.withLock { latest in
            for change in changes {
                switch change.kind {
                case .appended, .flagsChanged, .expunged: latest[change.folder] = max(latest[change.folder] ?? 0, change.modSeq)
                // A view of a folder gone from this path must read (to find it gone), now and for
                // any folder made later under the same path.
                case .folderDeleted, .folderRenamed: latest[change.folder] = .max
                default: break
                }
            }
        }
        let targets = watchers.withLock { Array($0.values) }
        for c in targets { for change in changes { c.yield(change) } }
    }

    /// The highest MODSEQ of a change committed to `folderPath` and published since the file was
    /// opened (0: none). Every write that raises a folder's MODSEQ publishes its change right after
    /// its commit, before its writer answers anyone: a view that knows this MODSEQ is current,
    /// without reading.
    public func publishedModSeq(in folderPath: String) -> Int64 {
        guard let path = try? Self.normalizePath(folderPath) else { return 0 }
        return published.withLock { $0[path] ?? 0 }
    }

    // MARK: - Folders

    /// Canonical folder path: "/"-separated, INBOX (any case) spelled `INBOX`.
    public static func normalizePath(_ path: String) throws -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= 1024, !components.contains(where: \.isEmpty),
              !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "*" || $0 == "%" })
        else { throw MailStoreError(.invalidFolderName, "invalid folder name") }
        var parts = components.map(String.init)
        if parts[0].uppercased() == "INBOX" { parts[0] = "INBOX" }
        return parts.joined(separator: "/")
    }

    public func folders() async throws -> [FolderInfo] {
        let generation = folderCache.generation
        if let kept = folderCache.folders() { return kept }
        let folders = try await read(small: true) { db in try Row.fetchAll(db.cachedStatement(sql: Self.folderSelect + " ORDER BY path")).map(Self.folderInfo) }
        folderCache.keep(folders, readIn: generation)
        return folders
    }

    public func folder(_ path: String) async throws -> FolderInfo? {
        let path = try Self.normalizePath(path)
        let generation = folderCache.generation
        if let kept = folderCache.folder(path) { return kept }
        guard let info = try await read(small: true, { db in try Self.fetchFolder(db, path) }) else { return nil }
        folderCache.keep(info, readIn: generation)
        return info
    }

    @discardableResult
    public func createFolder(_ path: String, specialUse: SpecialUse? = nil, origin: UUID? = nil) async throws -> FolderInfo {
        let path = try Self.normalizePath(path)
        let info = try await pool.write { db -> FolderInfo in
            guard try Self.fetchFolder(db, path) == nil else { throw MailStoreError(.folderExists, "folder already exists") }
            return try Self.insertFolder(db, path: path, specialUse: specialUse, now: Date())
        }
        publish([MailboxChange(folder: path, kind: .folderCreated, modSeq: info.highestModSeq, origin: origin)])
        return info
    }

    /// Renames a folder and every folder below it. Renaming INBOX moves its messages to a new
    /// folder and leaves INBOX empty (RFC 3501 §6.3.5).
    public func renameFolder(_ from: String, to: String, origin: UUID? = nil) async throws {
        let from = try Self.normalizePath(from), to = try Self.normalizePath(to)
        let changes = try await pool.write { db -> [MailboxChange] in
            guard let source = try Self.fetchFolder(db, from) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            guard try Self.fetchFolder(db, to) == nil, to != "INBOX", !to.hasPrefix(from + "/") else {
                throw MailStoreError(.folderExists, "target folder already exists")
            }
            if from == "INBOX" {
                let target = try Self.insertFolder(db, path: to, specialUse: nil, now: Date())
                let uids = try UID.fetchAll(db.cachedStatement(sql: "SELECT uid FROM messages WHERE folder_id = ? ORDER BY uid"), arguments: [source.id])
                let modseq = source.highestModSeq + 1
                try db.cachedStatement(sql: "UPDATE messages SET folder_id = ?, modseq = ? WHERE folder_id = ?").execute(arguments: [target.id, modseq, source.id])
                try db.cachedStatement(sql: "UPDATE folders SET uid_next = ?, highest_modseq = ? WHERE id = ?").execute(arguments: [source.uidNext, modseq, target.id])
                for uid in uids {
                    try db.cachedStatement(sql: "INSERT OR REPLACE INTO expunged(folder_id, uid, modseq) VALUES (?, ?, ?)").execute(arguments: [source.id, uid, modseq])
                }
                try db.cachedStatement(sql: "UPDATE folders SET highest_modseq = ? WHERE id = ?").execute(arguments: [modseq, source.id])
                return [MailboxChange(folder: "INBOX", kind: .expunged(uids: uids), modSeq: modseq, origin: origin),
                        MailboxChange(folder: to, kind: .folderCreated, modSeq: modseq, origin: origin)]
            }
            let children = try String.fetchAll(db, sql: "SELECT path FROM folders WHERE substr(path, 1, ?) = ?", arguments: [from.count + 1, from + "/"])
            for child in children where try Self.fetchFolder(db, to + child.dropFirst(from.count)) != nil {
                throw MailStoreError(.folderExists, "a folder below the target already exists")
            }
            try db.cachedStatement(sql: "UPDATE folders SET path = ? WHERE id = ?").execute(arguments: [to, source.id])
            for child in children {
                try db.cachedStatement(sql: "UPDATE folders SET path = ? WHERE path = ?").execute(arguments: [to + child.dropFirst(from.count), child])
            }
            // Subscriptions follow the renamed folders (as in Dovecot).
            for old in [from] + children {
                try db.cachedStatement(sql: "UPDATE OR REPLACE subscriptions SET path = ? WHERE path = ?").execute(arguments: [to + old.dropFirst(from.count), old])
            }
            return ([from] + children).map { old in
                MailboxChange(folder: old, kind: .folderRenamed(to: to + old.dropFirst(from.count)), modSeq: source.highestModSeq, origin: origin)
            }
        }
        publish(changes)
    }

    /// Deletes a folder and its messages (not the folders below it). INBOX cannot be deleted.
    public func deleteFolder(_ path: String, origin: UUID? = nil) async throws {
        let path = try Self.normalizePath(path)
        guard path != "INBOX" else { throw MailStoreError(.cannotDeleteInbox, "INBOX cannot be deleted") }
        try await pool.write { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let contents = try Int64.fetchAll(db, sql: "SELECT content_id FROM messages WHERE folder_id = ?", arguments: [folder.id])
            try db.cachedStatement(sql: "DELETE FROM messages WHERE folder_id = ?").execute(arguments: [folder.id])
            try Self.queueUnreferenced(db, contents: contents)
            try db.cachedStatement(sql: "DELETE FROM folders WHERE id = ?").execute(arguments: [folder.id])
        }
        startMaintenance()
        publish([MailboxChange(folder: path, kind: .folderDeleted, modSeq: 0, origin: origin)])
    }

    /// Subscribes an existing folder, or unsubscribes any name (its folder may be gone: a
    /// subscription outlives its folder, RFC 3501 §6.3.4).
    public func setSubscribed(_ path: String, _ subscribed: Bool) async throws {
        let path = try Self.normalizePath(path)
        try await pool.write { db in
            if subscribed {
                guard try Self.fetchFolder(db, path) != nil else { throw MailStoreError(.noSuchFolder, "no such folder") }
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO subscriptions(path) VALUES (?)").execute(arguments: [path])
            } else {
                try db.cachedStatement(sql: "DELETE FROM subscriptions WHERE path = ?").execute(arguments: [path])
            }
        }
    }

    /// The subscribed names, folders or not, in path order.
    public func subscriptions() async throws -> [String] {
        try await pooledRead { db in try String.fetchAll(db, sql: "SELECT path FROM subscriptions ORDER BY path") }
    }

    // MARK: - Messages

    /// Appends a message. `quotaBytes` (when set) is checked against the mailbox's usage.
    @discardableResult
    public func append(
        to folderPath: String, message bytes: [UInt8], flags: MessageFlags = [], keywords: [String] = [],
        internalDate: Date = Date(), quotaBytes: Int64? = nil, origin: UUID? = nil
    ) async throws -> AppendResult {
        try await append([AppendRequest(folder: folderPath, message: bytes, flags: flags, keywords: keywords, internalDate: internalDate)],
                         quotaBytes: quotaBytes, origin: origin)[0].get()
    }

    /// Appends a batch in one transaction (pipelined APPENDs, see `MailboxSession.append(_:)`):
    /// each request in its own savepoint, so a missing folder or the quota fails that one alone;
    /// messages to one folder share a MODSEQ; one change per folder is announced after the commit.
    /// `atomic` (MULTIAPPEND, `MailboxSession.appendAll`): the first failure rolls the whole
    /// transaction back and is thrown.
    public func append(_ batch: [AppendRequest], quotaBytes: Int64? = nil, origin: UUID? = nil,
                       atomic: Bool = false) async throws -> [Result<AppendResult, MailStoreError>] {
        let prepared = batch.map { PreparedMessage($0.message) }
        let (results, changes) = try await pool.write { db -> ([Result<AppendResult, MailStoreError>], [MailboxChange]) in
            var folders: [String: FolderInfo] = [:]
            var appended: [String: (uids: [UID], modseq: Int64)] = [:]
            var results: [Result<AppendResult, MailStoreError>] = []
            for (i, request) in batch.enumerated() {
                do {
                    let path = try Self.normalizePath(request.folder)
                    try db.inSavepoint {
                        guard let folder = try folders[path] ?? Self.fetchFolder(db, path) else {
                            throw MailStoreError(.noSuchFolder, "no such folder")
                        }
                        try Self.checkQuota(db, adding: Int64(prepared[i].size), quota: quotaBytes)
                        let (contentID, threadID) = try Self.storeContentAndThread(db, prepared[i])
                        let modseq = appended[path]?.modseq ?? folder.highestModSeq + 1
                        let uid = try Self.insertMessage(db, folder: folder, contentID: contentID, threadID: threadID, size: prepared[i].size,
                                                         flags: request.flags, keywords: request.keywords,
                                                         internalDate: request.internalDate ?? Date(), modseq: modseq)
                        var next = folder
                        next.uidNext = uid + 1
                        folders[path] = next
                        appended[path, default: ([], modseq)].uids.append(uid)
                        results.append(.success(AppendResult(uidValidity: folder.uidValidity, uid: uid)))
                        return .commit
                    }
                } catch let error as MailStoreError {
                    if atomic { throw error }
                    results.append(.failure(error))
                }
            }
            let changes = appended.map { path, a in
                MailboxChange(folder: path, kind: .appended(uids: a.uids), modSeq: a.modseq, origin: origin)
            }
            return (results, changes)
        }
        publish(changes)
        noteStored(zip(prepared, results).compactMap { p, r in (try? r.get()) == nil ? nil : p })
        return results
    }

    /// Appends several messages in one transaction (an import): all or none, one
    /// MODSEQ for the lot, one change announced. Parsing happens before the transaction.
    @discardableResult
    public func append(to folderPath: String, messages: [[UInt8]], internalDate: Date = Date(), quotaBytes: Int64? = nil,
                       origin: UUID? = nil) async throws -> [AppendResult] {
        let path = try Self.normalizePath(folderPath)
        let prepared = messages.map(PreparedMessage.init)
        let (results, modseq) = try await pool.write { db -> ([AppendResult], Int64) in
            guard var folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            try Self.checkQuota(db, adding: Int64(prepared.reduce(0) { $0 + $1.size }), quota: quotaBytes)
            let modseq = folder.highestModSeq + 1
            var results: [AppendResult] = []
            for message in prepared {
                let (contentID, threadID) = try Self.storeContentAndThread(db, message)
                let uid = try Self.insertMessage(db, folder: folder, contentID: contentID, threadID: threadID, size: message.size, flags: [],
                                                 keywords: [], internalDate: internalDate, modseq: modseq)
                folder.uidNext = uid + 1
                results.append(AppendResult(uidValidity: folder.uidValidity, uid: uid))
            }
            return (results, modseq)
        }
        if !results.isEmpty {
            publish([MailboxChange(folder: path, kind: .appended(uids: results.map(\.uid)), modSeq: modseq, origin: origin)])
        }
        noteStored(prepared)
        return results
    }

    /// Messages in a folder (all, or those in `uids`), optionally only those changed after a MODSEQ.
    /// `facts: false` leaves out what is read from the content row (sent date, subject, sender,
    /// Message-ID, thread): those columns sit after the header and layout blobs, so reading them
    /// walks each row's overflow pages.
    public func messages(in folderPath: String, uids: UIDSet? = nil, changedSince: Int64? = nil, facts: Bool = true) async throws -> [MessageRecord] {
        try await messages(in: folderPath, uids: uids, changedSince: changedSince, facts: facts, prefetch: nil).records
    }

    /// The same, and in the same read the whole bytes of the first messages `prefetch` admits.
    public func messages(in folderPath: String, uids: UIDSet?, changedSince: Int64?, facts: Bool, prefetch: BytesPrefetch?) async throws
        -> (records: [MessageRecord], bytes: [UID: [UInt8]]) {
        let path = try Self.normalizePath(folderPath)
        let small = (uids?.uidCount ?? .max) <= Self.smallReadMessages
        // A small read stays small: larger messages are left for the caller to read on their own.
        let prefetch = small ? prefetch.map { BytesPrefetch(below: min($0.below, Self.smallReadBytes), count: $0.count,
                                                            total: min($0.total, Self.smallReadBytes)) } : prefetch
        return try await read(small: small) { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let (records, contentIDs) = try Self.records(db, folderID: folder.id, uids: uids, changedSince: changedSince, facts: facts)
            guard let prefetch else { return (records, [:]) }
            return (records, try self.prefetchedBytes(db, records: records, contentIDs: contentIDs, prefetch: prefetch))
        }
    }

    /// The records of a folder's messages (all, or those of `uids`; only those changed after
    /// `changedSince`), with their content ids; `facts` as in `messages(in:…)`. Without facts, the
    /// derived bytes of `kinds` can come in the same statement: `extra` reads them from each row
    /// (`stateSelect(joining:)`).
    static func records(_ db: Database, folderID: Int64, uids: UIDSet?, changedSince: Int64?, facts: Bool,
                        joining kinds: [String] = [], extra: ((SQLiteStatement, UID) -> Void)? = nil) throws
        -> (records: [MessageRecord], contentIDs: [Int64]) {
        assert(kinds.isEmpty || !facts, "derived bytes join the states only")
        var condition = " WHERE m.folder_id = ?", arguments: StatementArguments = [folderID]
        if let changedSince { condition += " AND m.modseq > ?"; arguments += [changedSince] }
        // Keywords of the selected messages only (a one-message FETCH stays cheap in a big folder).
        let keywords = try Self.keywords(db, condition: condition, arguments: arguments, uids: uids)
        guard facts else {
            guard !kinds.isEmpty else { return try Self.states(db, condition: condition, arguments: arguments, uids: uids, keywords: keywords) }
            return try Self.states(db, select: Self.stateSelect(joining: kinds), condition: condition, arguments: StatementArguments(kinds) + arguments,
                                   uids: uids, keywords: keywords, extra: extra)
        }
        let rows = try Self.fetchRows(db, sql: Self.recordSelect + condition, arguments: arguments, uids: uids, column: "m.uid", order: "m.uid")
        return (rows.map { Self.record($0, keywords: keywords) }, rows.map { $0[6] })
    }

    /// Reads of at most this many messages, and at most this many bytes of messages, run on the
    /// calling thread (see `read(small:_:)`). 64: the states, envelopes or structures of a client's
    /// usual batch (Thunderbird asks for 20 to 50 at a time) cost a fraction of the two thread
    /// switches of a reader's queue (UID FETCH 20 (ENVELOPE) spent a third of its CPU on them).
    static let smallReadMessages = 64
    static let smallReadBytes = 1 << 20

    /// A read. A small one (a few rows, messages under a megabyte) runs on the calling thread:
    /// the hop to a reader's queue and back cost more than such a read (two thread switches were
    /// most of a one-message FETCH). A larger one runs on the reader's queue, so that it never
    /// holds a session task's thread for long.
    ///
    /// The calling thread never waits for a reader: it reads here only when one is free at once
    /// (`readers.reserveIfFree()`), else it asks as an async read does. Waiting here could
    /// deadlock: the readers' holders are tasks that must resume on the same few threads (the
    /// cooperative pool's, or a connection's event loop) to finish their reads and give the
    /// readers back.
    func read<T: Sendable>(small: Bool, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if small, readers.reserveIfFree() {
            defer { readers.release() }
            return try Self.readHere(pool, body)
        }
        return try await pooledRead(body)
    }

    /// Every async read of the pool: counted in `readers`, so that a read on the calling thread
    /// knows whether a reader is free.
    func pooledRead<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        readers.reserve()
        defer { readers.release() }
        return try await pool.read(body)
    }

    private static func readHere<T>(_ pool: DatabasePool, _ body: (Database) throws -> T) throws -> T { try pool.read(body) }

    /// The whole bytes of the messages of `uids` that `prefetch` admits, in one read.
    public func messageBytes(in folderPath: String, uids: UIDSet, prefetch: BytesPrefetch) async throws -> [UID: [UInt8]] {
        let path = try Self.normalizePath(folderPath)
        return try await pooledRead { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let (records, contentIDs) = try Self.states(db, condition: " WHERE m.folder_id = ?", arguments: [folder.id], uids: uids, keywords: [:])
            return try self.prefetchedBytes(db, records: records, contentIDs: contentIDs, prefetch: prefetch)
        }
    }

    /// The Date: header's calendar day as written in its own zone (days since 1970-01-01), by
    /// UID, for the messages that have one: SENTBEFORE/SENTON/SENTSINCE (RFC 3501 §6.4.4), read
    /// from a narrow table (never the content rows and their blobs).
    public func sentDays(in folderPath: String) async throws -> [UID: Int] {
        let path = try Self.normalizePath(folderPath)
        return try await pooledRead { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            var out: [UID: Int] = [:]
            let rows = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT m.uid, d.sent_day FROM messages m JOIN content_dates d ON d.content_id = m.content_id WHERE m.folder_id = ?
                """), arguments: [folder.id])
            while let row = try rows.next() { out[row[0]] = row[1] }
            return out
        }
    }

    /// What SEARCH's header keys look at, per message: the decoded subject and address lists as
    /// stored, and (when asked) the raw header block. Cheaper than re-assembling whole messages.
    public func searchFields(in folderPath: String, uids: UIDSet? = nil, includeHeader: Bool) async throws -> [MessageSearchFields] {
        try await searchFields(in: folderPath, uids: uids, includeHeader: includeHeader, excluding: nil).fields
    }

    /// Every message's UID, and the fields of those not in `known` (their strings are not even read).
    public func searchFields(in folderPath: String, excluding known: UIDSet) async throws -> (existing: [UID], fields: [MessageSearchFields]) {
        try await searchFields(in: folderPath, uids: nil, includeHeader: false, excluding: known)
    }

    func searchFields(in folderPath: String, uids: UIDSet?, includeHeader: Bool, excluding known: UIDSet?) async throws
        -> (existing: [UID], fields: [MessageSearchFields]) {
        let path = try Self.normalizePath(folderPath)
        return try await pooledRead { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let sql = """
                SELECT m.uid, c.subject, c.from_addr, c.to_addr, c.cc_addr, c.bcc_addr\(includeHeader ? ", c.header" : "")
                FROM messages m JOIN contents c ON c.id = m.content_id WHERE m.folder_id = ?
                """
            // Read by position straight from SQLite's columns (GRDB's decoding by name, with a copy of
            // each row, was most of a SEARCH SUBJECT).
            func text(_ s: SQLiteStatement, _ column: Int32) -> String? {
                guard let p = sqlite3_column_text(s, column) else { return nil }
                return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(s, column))), as: UTF8.self)
            }
            var fields: [MessageSearchFields] = [], existing: [UID] = []
            try Self.forEachRow(db, sql: sql, arguments: [folder.id], uids: uids, column: "m.uid", order: "m.uid") { _, s in
                let uid = UID(truncatingIfNeeded: sqlite3_column_int64(s, 0))
                existing.append(uid)
                if let known, known.contains(uid) { return }
                var header: [UInt8]?
                if includeHeader { header = []; Self.appendBlob(s, column: 6, to: &header!) }
                fields.append(MessageSearchFields(uid: uid, subject: text(s, 1), from: text(s, 2),
                                                  to: text(s, 3), cc: text(s, 4), bcc: text(s, 5), header: header))
            }
            return (existing, fields)
        }
    }

    /// The exact bytes of a message, re-assembled from its header, layout and de-duplicated parts.
    public func messageBytes(in folderPath: String, uid: UID) async throws -> [UInt8]? {
        let path = try Self.normalizePath(folderPath)
        return try await pooledRead { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            guard let contentID = try Int64.fetchOne(db.cachedStatement(sql: "SELECT content_id FROM messages WHERE folder_id = ? AND uid = ?"),
                                                     arguments: [folder.id, uid])
            else { return nil }
            return try self.cachedContent(db, contentID)
        }
    }

    /// A message's whole bytes: from `bytesCache`, else assembled (and kept there when small).
    func cachedContent(_ db: Database, _ contentID: Int64) throws -> [UInt8] {
        if let bytes = bytesCache.bytes(mailboxID: mailboxID, contentID: contentID) { return bytes }
        let bytes = try Self.assembleContent(db, contentID)
        bytesCache.insert(bytes, mailboxID: mailboxID, contentID: contentID)
        return bytes
    }

    /// The bytes of a message read piece by piece (the header, the inline runs of its layout, each
    /// stored part or part chunk, each in its own short read), so a large message is sent without
    /// ever being whole in memory. A piece gone meanwhile (the message expunged and its parts
    /// freed) fails the read.
    public func messageReader(in folderPath: String, uid: UID) async throws -> MessageReader? {
        let path = try Self.normalizePath(folderPath)
        enum Piece: Sendable { case bytes([UInt8]), part(id: Int64, chunk: Int?) }
        let found = try await pooledRead { db -> (size: Int, pieces: [Piece])? in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT c.id, c.header, c.body, c.size FROM messages m JOIN contents c ON c.id = m.content_id
                WHERE m.folder_id = ? AND m.uid = ?
                """), arguments: [folder.id, uid]) else { return nil }
            let layout = try MessageLayout.plain(Array(row["body"] as Data))
            let parts = try Self.contentParts(db, row["id"])
            var pieces: [Piece] = [.bytes(Array(row["header"] as Data))]
            for record in try MessageLayout.records(layout) {
                switch record {
                case .inline(let range): pieces.append(.bytes(Array(layout[range])))
                case .part(let ordinal):
                    guard ordinal < parts.count else { throw MessageLayout.Corrupt() }
                    let part = parts[ordinal]
                    if part.chunks == 0 { pieces.append(.part(id: part.id, chunk: nil)) }
                    else { for seq in 0..<part.chunks { pieces.append(.part(id: part.id, chunk: seq)) } }
                }
            }
            return (row["size"], pieces)
        }
        guard let (size, pieces) = found else { return nil }
        let next = Mutex(0)
        return MessageReader(size: size) {
            let index = next.withLock { i -> Int in defer { i += 1 }; return i }
            guard index < pieces.count else { return nil }
            switch pieces[index] {
            case .bytes(let bytes): return bytes
            case .part(let id, let chunk):
                guard let bytes = try await self.pooledRead({ db in try Self.partBytes(db, partID: id, chunk: chunk) }) else {
                    throw MessageLayout.Corrupt()
                }
                return bytes
            }
        }
    }

    /// The stored structure of each message in `uids`. A message stored before structures were
    /// kept (or by another parser version) is parsed now, and its structure stored for next time.
    public func structures(in folderPath: String, uids: UIDSet) async throws -> [UID: MessageStructure] {
        let path = try Self.normalizePath(folderPath)
        let (found, stale) = try await read(small: uids.uidCount <= Self.smallReadMessages) { db -> ([UID: MessageStructure], [(Int64, [UInt8])]) in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            var found: [UID: MessageStructure] = [:], stale: [(Int64, [UInt8])] = []
            let sql = """
                SELECT m.uid, m.content_id, s.structure FROM messages m LEFT JOIN content_structures s ON s.content_id = m.content_id
                WHERE m.folder_id = ?
                """
            for row in try Self.fetchRows(db, sql: sql, arguments: [folder.id], uids: uids, column: "m.uid", order: "m.uid") {
                if let blob = row["structure"] as Data?, let structure = MessageStructure(encoded: Array(blob)) {
                    found[row["uid"]] = structure
                } else {
                    let structure = MIMEMessage.parse(try Self.assembleContent(db, row["content_id"])).structure
                    found[row["uid"]] = structure
                    stale.append((row["content_id"], structure.encoded()))
                }
            }
            return (found, stale)
        }
        if !stale.isEmpty {
            // Kept for next time; a failure (a read-only file) only means parsing again then.
            try? await pool.write { db in
                for (contentID, blob) in stale {
                    try db.cachedStatement(sql: "INSERT OR REPLACE INTO content_structures(content_id, structure) VALUES (?, ?)").execute(arguments: [contentID, Data(blob)])
                }
            }
        }
        return found
    }

    /// The header block (with its blank line) of each message in `uids`, without its body.
    public func messageHeaders(in folderPath: String, uids: UIDSet) async throws -> [UID: [UInt8]] {
        let path = try Self.normalizePath(folderPath)
        return try await read(small: uids.uidCount <= Self.smallReadMessages) { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let sql = "SELECT m.uid, c.header FROM messages m JOIN contents c ON c.id = m.content_id WHERE m.folder_id = ?"
            var headers: [UID: [UInt8]] = [:]
            for row in try Self.fetchRows(db, sql: sql, arguments: [folder.id], uids: uids, column: "m.uid", order: "m.uid") {
                headers[row["uid"]] = Array(row["header"] as Data)
            }
            return headers
        }
    }

    /// Derived bytes kept with the contents of `uids` (see `MailboxSession.derived`), read straight
    /// from SQLite's columns.
    public func derived(_ kinds: [String], in folderPath: String, uids: UIDSet) async throws -> [String: [UID: [UInt8]]] {
        let path = try Self.normalizePath(folderPath)
        guard !kinds.isEmpty, kinds.count <= 8 else { return [:] }
        return try await read(small: uids.uidCount <= Self.smallReadMessages) { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            return try Self.derived(db, kinds, folderID: folder.id, uids: uids)
        }
    }

    /// The states of `uids` (as `messages(…, facts: false)`) and the derived bytes of `kinds` kept
    /// for them, in one read and one statement: each message row is visited once, with the kept
    /// bytes of each kind joined to it (a FETCH of ENVELOPE or BODYSTRUCTURE reads its batch this way).
    public func messages(in folderPath: String, uids: UIDSet, changedSince: Int64?, derived kinds: [String]) async throws
        -> (records: [MessageRecord], derived: [String: [UID: [UInt8]]]) {
        let path = try Self.normalizePath(folderPath)
        guard !kinds.isEmpty, kinds.count <= 8 else { return (try await messages(in: path, uids: uids, changedSince: changedSince, facts: false), [:]) }
        return try await read(small: uids.uidCount <= Self.smallReadMessages) { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            var found = Self.derivedTable(kinds, capacity: uids.uidCount)
            let records = try Self.records(db, folderID: folder.id, uids: uids, changedSince: changedSince, facts: false, joining: kinds) { s, uid in
                Self.readDerivedColumns(s, from: 9, kinds: kinds, uid: uid, into: &found)
            }.records
            return (records, found.filter { !$0.value.isEmpty })
        }
    }

    /// The derived bytes of `kinds` (at most 8) kept for the messages of `uids` in a folder: one
    /// statement joining each kind's row to the message (no kind names read back per row).
    static func derived(_ db: Database, _ kinds: [String], folderID: Int64, uids: UIDSet) throws -> [String: [UID: [UInt8]]] {
        let sql = "SELECT m.uid" + derivedColumns(kinds.count) + " FROM messages m" + derivedJoins(kinds.count) + " WHERE m.folder_id = ?"
        var found = derivedTable(kinds, capacity: uids.uidCount)
        try forEachRow(db, sql: sql, arguments: StatementArguments(kinds) + [folderID], uids: uids, column: "m.uid", order: "m.uid") { _, s in
            readDerivedColumns(s, from: 1, kinds: kinds, uid: UID(truncatingIfNeeded: sqlite3_column_int64(s, 0)), into: &found)
        }
        return found.filter { !$0.value.isEmpty }
    }

    /// `LEFT JOIN`s of `content_derived` (aliases d0, d1, …) on the message's content, one per
    /// kind, each kind a bound parameter.
    static func derivedJoins(_ count: Int) -> String {
        var sql = ""
        for i in 0..<count { sql += " LEFT JOIN content_derived d\(i) ON d\(i).content_id = m.content_id AND d\(i).kind = ?" }
        return sql
    }

    /// `, d0.data, d1.data, …`: the bytes of the kinds `derivedJoins` joins, as columns.
    static func derivedColumns(_ count: Int) -> String {
        var sql = ""
        for i in 0..<count { sql += ", d\(i).data" }
        return sql
    }

    /// `stateSelect` with the derived bytes of `kinds` as columns 9, 10, … (see `derivedJoins`).
    static func stateSelect(joining kinds: [String]) -> String {
        stateColumns + derivedColumns(kinds.count) + " FROM messages m" + derivedJoins(kinds.count)
    }

    /// An empty table for each kind (those left empty are dropped from the answer).
    static func derivedTable(_ kinds: [String], capacity: Int) -> [String: [UID: [UInt8]]] {
        var table: [String: [UID: [UInt8]]] = [:]
        for kind in kinds { table[kind] = Dictionary(minimumCapacity: min(capacity, 4096)) }
        return table
    }

    /// The derived columns `first`, `first + 1`, … of a row (one per kind; NULL where none is kept).
    static func readDerivedColumns(_ s: SQLiteStatement, from first: Int32, kinds: [String], uid: UID,
                                   into found: inout [String: [UID: [UInt8]]]) {
        for (i, kind) in kinds.enumerated() where sqlite3_column_type(s, first + Int32(i)) != SQLITE_NULL {
            var data: [UInt8] = []
            appendBlob(s, column: first + Int32(i), to: &data)
            found[kind]![uid] = data
        }
    }

    /// Keeps derived bytes with the contents of the given messages (a message gone meanwhile is skipped).
    public func keepDerived(_ kind: String, in folderPath: String, values: [UID: [UInt8]]) async throws {
        let path = try Self.normalizePath(folderPath)
        guard !values.isEmpty else { return }
        try await pool.write { db in
            guard let folder = try Self.fetchFolder(db, path) else { return }
            let insert = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO content_derived(content_id, kind, data)
                SELECT content_id, ?, ? FROM messages WHERE folder_id = ? AND uid = ?
                """)
            for (uid, data) in values { try insert.execute(arguments: [kind, Data(data), folder.id, uid]) }
        }
    }

    /// Changes flags and keywords (STORE). One new MODSEQ for the whole operation.
    public func storeFlags(
        in folderPath: String, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, keywords: [String] = [],
        unchangedSince: Int64? = nil, origin: UUID? = nil
    ) async throws -> StoreResult {
        let path = try Self.normalizePath(folderPath)
        let (result, modseq) = try await pool.write { db -> (StoreResult, Int64) in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let rows = try Self.fetchRows(db, sql: "SELECT id, uid, flags, modseq FROM messages WHERE folder_id = ?", arguments: [folder.id],
                                          uids: uids, column: "uid", order: "uid")
            let existing = try Self.keywords(db, folderID: folder.id, uids: uids)
            let modseq = folder.highestModSeq + 1
            let setFlags = try db.cachedStatement(sql: "UPDATE messages SET flags = ?, modseq = ? WHERE id = ?")
            let removeKeyword = try db.cachedStatement(sql: "DELETE FROM message_keywords WHERE message_id = ? AND keyword = ?")
            let addKeyword = try db.cachedStatement(sql: "INSERT INTO message_keywords(message_id, keyword) VALUES (?, ?)")
            var updated: [Int64] = [], modified: [UID] = []
            for row in rows {  // id, uid, flags, modseq
                let id: Int64 = row[0]
                let oldFlags = MessageFlags(rawValue: row[2])
                let oldKeywords = Set(existing[id] ?? [])
                let newFlags: MessageFlags, newKeywords: Set<String>
                switch operation {
                case .add: newFlags = oldFlags.union(flags); newKeywords = oldKeywords.union(keywords)
                case .remove: newFlags = oldFlags.subtracting(flags); newKeywords = oldKeywords.subtracting(keywords)
                case .replace: newFlags = flags; newKeywords = Set(keywords)
                }
                if let unchangedSince, (row[3] as Int64) > unchangedSince {
                    modified.append(row[1]); continue
                }
                guard newFlags != oldFlags || newKeywords != oldKeywords else { continue }
                try setFlags.execute(arguments: [newFlags.rawValue, modseq, id])
                for k in oldKeywords.subtracting(newKeywords) { try removeKeyword.execute(arguments: [id, k]) }
                for k in newKeywords.subtracting(oldKeywords) { try addKeyword.execute(arguments: [id, k]) }
                updated.append(id)
            }
            if !updated.isEmpty {
                try db.cachedStatement(sql: "UPDATE folders SET highest_modseq = ? WHERE id = ?").execute(arguments: [modseq, folder.id])
            }
            return (StoreResult(updated: try Self.records(db, folderID: folder.id, messageIDs: updated), modified: modified), modseq)
        }
        if !result.updated.isEmpty {
            publish([MailboxChange(folder: path, kind: .flagsChanged(uids: result.updated.map(\.uid)), modSeq: modseq, origin: origin)])
        }
        return result
    }

    /// Copies messages (sharing their stored content) to another folder (COPY, RFC 4315 COPYUID).
    public func copy(from sourcePath: String, uids: UIDSet, to targetPath: String, quotaBytes: Int64? = nil, origin: UUID? = nil) async throws -> CopyResult {
        try await transfer(from: sourcePath, uids: uids, to: targetPath, move: false, quotaBytes: quotaBytes, origin: origin)
    }

    /// Moves messages atomically (MOVE, RFC 6851): copy then expunge from the source, one transaction.
    public func move(from sourcePath: String, uids: UIDSet, to targetPath: String, origin: UUID? = nil) async throws -> CopyResult {
        try await transfer(from: sourcePath, uids: uids, to: targetPath, move: true, quotaBytes: nil, origin: origin)
    }

    private func transfer(from sourcePath: String, uids: UIDSet, to targetPath: String, move: Bool, quotaBytes: Int64?, origin: UUID?) async throws -> CopyResult {
        let source = try Self.normalizePath(sourcePath), target = try Self.normalizePath(targetPath)
        let (result, changes) = try await pool.write { db -> (CopyResult, [MailboxChange]) in
            guard let from = try Self.fetchFolder(db, source), let to = try Self.fetchFolder(db, target) else {
                throw MailStoreError(.noSuchFolder, "no such folder")
            }
            let rows = try Self.fetchRows(db, sql: "SELECT id, uid, flags, internal_date, size, content_id, thread_id FROM messages WHERE folder_id = ?",
                                          arguments: [from.id], uids: uids, column: "uid", order: "uid")
            if !move { try Self.checkQuota(db, adding: rows.reduce(0) { $0 + ($1["size"] as Int64) }, quota: quotaBytes) }
            let keywords = try Self.keywords(db, folderID: from.id, uids: uids)
            var mapping: [(source: UID, destination: UID)] = []
            let targetModseq = to.highestModSeq + 1
            var targetFolder = to
            for row in rows {
                let contentID: Int64 = row["content_id"]
                let uid = try Self.insertMessage(db, folder: targetFolder, contentID: contentID, threadID: row["thread_id"], size: row["size"],
                                                 flags: MessageFlags(rawValue: row["flags"]), keywords: keywords[row["id"] as Int64] ?? [],
                                                 internalDate: parseISO(row["internal_date"]) ?? Date(), modseq: targetModseq)
                targetFolder.uidNext = uid + 1
                mapping.append((row["uid"], uid))
            }
            var changes: [MailboxChange] = []
            if !mapping.isEmpty {
                changes.append(MailboxChange(folder: target, kind: .appended(uids: mapping.map(\.destination)), modSeq: targetModseq, origin: origin))
            }
            if move, !rows.isEmpty {
                let modseq = (source == target ? targetModseq : from.highestModSeq) + 1
                try Self.removeMessages(db, rows, folderID: from.id, modseq: modseq)
                try db.cachedStatement(sql: "UPDATE folders SET highest_modseq = ? WHERE id = ?").execute(arguments: [modseq, from.id])
                changes.append(MailboxChange(folder: source, kind: .expunged(uids: rows.map { $0["uid"] }), modSeq: modseq, origin: origin))
            }
            return (CopyResult(uidValidity: to.uidValidity, mapping: mapping), changes)
        }
        publish(changes)
        if move { startMaintenance() }
        return result
    }

    /// Permanently removes messages flagged \Deleted (all of them, or those in `uids`: UID EXPUNGE).
    @discardableResult
    public func expunge(in folderPath: String, uids: UIDSet? = nil, origin: UUID? = nil) async throws -> [UID] {
        try await expungeWithModSeq(in: folderPath, uids: uids, origin: origin).uids
    }

    /// The same, with the MODSEQ it was committed at (nil when nothing was removed).
    public func expungeWithModSeq(in folderPath: String, uids: UIDSet? = nil, origin: UUID? = nil) async throws -> (uids: [UID], modSeq: Int64?) {
        let path = try Self.normalizePath(folderPath)
        let (removed, modseq) = try await pool.write { db -> ([UID], Int64) in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let sql = "SELECT id, uid, content_id FROM messages WHERE folder_id = ? AND (flags & \(MessageFlags.deleted.rawValue)) != 0"
            let rows = try Self.fetchRows(db, sql: sql, arguments: [folder.id], uids: uids, column: "uid", order: "uid")
            guard !rows.isEmpty else { return ([], folder.highestModSeq) }
            let modseq = folder.highestModSeq + 1
            try Self.removeMessages(db, rows, folderID: folder.id, modseq: modseq)
            try db.cachedStatement(sql: "UPDATE folders SET highest_modseq = ? WHERE id = ?").execute(arguments: [modseq, folder.id])
            return (rows.map { $0["uid"] }, modseq)
        }
        if !removed.isEmpty { startMaintenance() }
        if !removed.isEmpty { publish([MailboxChange(folder: path, kind: .expunged(uids: removed), modSeq: modseq, origin: origin)]) }
        return (removed, removed.isEmpty ? nil : modseq)
    }

    /// A selected view's catch-up in one read: the folder, the states changed after `modSeq`
    /// (index columns only, as `messages(…, facts: false)`), the UIDs expunged after it. Read on
    /// the calling thread: what changed since a session's last command is usually a few rows.
    public func changes(in folderPath: String, since modSeq: Int64) async throws -> FolderChanges {
        let path = try Self.normalizePath(folderPath)
        return try await read(small: true) { db in
            guard let folder = try Self.fetchFolder(db, path) else { return FolderChanges(folder: nil, changed: [], expunged: []) }
            let condition = " WHERE m.folder_id = ? AND m.modseq > ?", arguments: StatementArguments = [folder.id, modSeq]
            let keywords = try Self.keywords(db, condition: condition, arguments: arguments, uids: nil)
            let changed = try Self.states(db, condition: condition, arguments: arguments, uids: nil, keywords: keywords).records
            return FolderChanges(folder: folder, changed: changed, expunged: try Self.expungedUIDs(db, folderID: folder.id, since: modSeq))
        }
    }

    /// UIDs expunged after `modSeq` (QRESYNC VANISHED (EARLIER)).
    public func expunged(in folderPath: String, since modSeq: Int64) async throws -> [UID] {
        let path = try Self.normalizePath(folderPath)
        return try await pooledRead { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            return try Self.expungedUIDs(db, folderID: folder.id, since: modSeq)
        }
    }

    static func expungedUIDs(_ db: Database, folderID: Int64, since modSeq: Int64) throws -> [UID] {
        try UID.fetchAll(db.cachedStatement(sql: "SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid"), arguments: [folderID, modSeq])
    }

    public func status(of folderPath: String) async throws -> FolderStatus {
        let path = try Self.normalizePath(folderPath)
        return try await pooledRead { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) AS messages,
                       coalesce(sum(uid >= ?), 0) AS recent,
                       coalesce(sum((flags & \(MessageFlags.seen.rawValue)) = 0), 0) AS unseen,
                       coalesce(sum((flags & \(MessageFlags.deleted.rawValue)) != 0), 0) AS deleted,
                       coalesce(sum(size), 0) AS size
                FROM messages WHERE folder_id = ?
                """), arguments: [folder.recentUID, folder.id])!
            return FolderStatus(messages: row["messages"], recent: row["recent"], unseen: row["unseen"], deleted: row["deleted"],
                                uidNext: folder.uidNext, uidValidity: folder.uidValidity, highestModSeq: folder.highestModSeq, sizeBytes: row["size"])
        }
    }

    /// Claims the folder's \Recent messages for one session (RFC 3501: only one session sees a
    /// message as recent): returns their UIDs and marks them no longer recent for everyone else.
    public func claimRecent(in folderPath: String) async throws -> [UID] {
        let path = try Self.normalizePath(folderPath)
        // Nothing arrived since the last claim (a client switching folders): no write transaction.
        // A message arriving after this read stays \Recent in the store for the next claim.
        let current = try await read(small: true) { db in try Self.fetchFolder(db, path) }
        guard let current else { throw MailStoreError(.noSuchFolder, "no such folder") }
        if current.recentUID >= current.uidNext { return [] }
        return try await pool.write { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            let uids = try UID.fetchAll(db.cachedStatement(sql: "SELECT uid FROM messages WHERE folder_id = ? AND uid >= ? ORDER BY uid"), arguments: [folder.id, folder.recentUID])
            try db.cachedStatement(sql: "UPDATE folders SET recent_uid = uid_next WHERE id = ?").execute(arguments: [folder.id])
            return uids
        }
    }

    /// Storage used: the sum of the sizes of all messages (IMAP QUOTA STORAGE, in bytes).
    public func usage() async throws -> Int64 {
        try await pooledRead { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'usage_bytes'")) ?? 0 }
    }

    /// Full-text search of a folder: case-insensitive substring search (IMAP SEARCH semantics),
    /// narrowed by the FTS5 trigram index and confirmed on each candidate's text. `nil` when the
    /// needle is too short for the index (under 3 characters): the caller scans instead.
    ///
    /// The index keeps which trigrams occur in which column (`detail=column`), not where: every
    /// message that contains the needle contains all its trigrams, so the candidates are a superset
    /// and the confirmation step makes the answer exact. (Positional trigrams would answer exactly
    /// on their own, but double the file size and cost 2.5× on every append: measured.)
    public func fullTextSearch(in folderPath: String, text: String, field: FullTextField) async throws -> [UID]? {
        let scalars = Array(text.lowercased().unicodeScalars)
        guard scalars.count >= 3 else { return nil }
        var grams: [String] = []
        for i in 0...(scalars.count - 3) {
            var g = String.UnicodeScalarView()
            g.append(contentsOf: scalars[i..<(i + 3)])
            let quoted = "\"" + String(g).replacingOccurrences(of: "\"", with: "\"\"") + "\""
            if !grams.contains(quoted) { grams.append(quoted) }
        }
        // A few dozen trigrams narrow as well as all of them; spread the choice over the needle.
        if grams.count > 32 { grams = (0..<32).map { grams[$0 * grams.count / 32] } }
        let terms = grams.joined(separator: " AND ")
        let query = switch field {
        case .text: terms
        case .any: "{subject addresses body attachments} : (\(terms))"
        default: "{\(field.rawValue)} : (\(terms))"
        }
        let path = try Self.normalizePath(folderPath)
        return try await pooledRead { db in
            guard let folder = try Self.fetchFolder(db, path) else { throw MailStoreError(.noSuchFolder, "no such folder") }
            // The index's rows first. Few (a rare word in a big mailbox): their messages are looked
            // up one by one, the folder's others never read. Many (a common word, or an index
            // mostly of other folders): the folder's messages are read once and matched against them.
            let hits = try Int64.fetchAll(db.cachedStatement(sql: "SELECT rowid FROM content_fts WHERE content_fts MATCH ?"), arguments: [query])
            var indexed: [Row] = []
            if hits.count <= Self.fullTextLookups {
                let lookup = try db.cachedStatement(sql: """
                    SELECT m.uid, m.content_id, c.sha256 FROM messages m JOIN contents c ON c.id = m.content_id
                    WHERE m.content_id = ? AND m.folder_id = ?
                    """)
                for id in hits { indexed += try Row.fetchAll(lookup, arguments: [id, folder.id]) }
                indexed.sort { ($0[0] as UID) < ($1[0] as UID) }
            } else {
                let wanted = Set(hits)
                let content = try db.cachedStatement(sql: "SELECT sha256 FROM contents WHERE id = ?")
                for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT uid, content_id FROM messages WHERE folder_id = ? ORDER BY uid"),
                                            arguments: [folder.id]) where wanted.contains(row[1]) {
                    guard let sha = try Data.fetchOne(content, arguments: [row[1] as Int64]) else { continue }
                    indexed.append(["uid": row[0] as UID, "content_id": row[1] as Int64, "sha256": sha])
                }
            }
            // Contents the index has not reached yet (MailboxDatabase+SearchIndex): all candidates.
            let pending = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT m.uid, m.content_id, c.sha256 FROM messages m JOIN contents c ON c.id = m.content_id
                WHERE m.content_id > ? AND m.folder_id = ?
                """), arguments: [try Self.indexedThrough(db), folder.id])
            // One ASCII trigram: the index answers exactly (no spread-out trigrams to rule out).
            let exact = scalars.count == 3 && text.allSatisfy(\.isASCII)
            var confirmed: [Int64: Bool] = [:]
            func confirm(_ row: Row) throws -> UID? {
                let contentID: Int64 = row["content_id"]
                if confirmed[contentID] == nil {
                    let columns = try self.searchColumns(db, contentID: contentID, sha256: row["sha256"])
                    confirmed[contentID] = Self.searchableText(columns, field: field).range(of: text, options: .caseInsensitive) != nil
                }
                return confirmed[contentID]! ? row["uid"] : nil
            }
            var uids = try exact ? indexed.map { $0["uid"] as UID } : indexed.compactMap(confirm)
            uids += try pending.compactMap(confirm)
            return pending.isEmpty ? uids : uids.sorted()
        }
    }

    /// Index rows up to which `fullTextSearch` looks their messages up one by one.
    static let fullTextLookups = 2_000

    /// The text of one index column, as it was indexed (columns: subject, addresses, body,
    /// attachments, header), or of several.
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

    // MARK: - Sealed queue hand-off

    /// The highest queue sequence number already moved into this mailbox.
    public func drainedQueueSeq() async throws -> Int64 {
        try await pooledRead { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'queue_seq'")) ?? 0 }
    }

    /// Opens a sealed queue entry and appends it to INBOX, recording `seq` in the same transaction
    /// (so a crash can neither lose nor duplicate it). Returns nil when `seq` was already delivered.
    func deliverSealed(seq: Int64, blob: [UInt8]) async throws -> AppendResult? {
        try await deliverSealed([(seq, blob)]).first
    }

    /// Moves sealed queue entries (in `seq` order) into INBOX in one transaction, committed with a
    /// full fsync (each has been acknowledged with SMTP 250: the queue drops them once this
    /// returns). Entries the mailbox already has (`seq` not above its drained mark, or the same
    /// sealed bytes among the last it took: `DeliveredSeals`) are skipped.
    /// The messages are opened and parsed before the write; the caller bounds the batch's bytes.
    func deliverSealed(_ batch: [(seq: Int64, blob: [UInt8])]) async throws -> [AppendResult] {
        let opened = try batch.map { entry in
            let copy = try InboundSeal.open(entry.blob, keyPair: keyPair, mailboxID: mailboxID)
            return (seq: entry.seq, digest: DeliveredSeals.digest(entry.blob), internalDate: copy.internalDate, delivery: copy.delivery,
                    prepared: PreparedMessage(copy.message))
        }
        let changes = try await pool.writeWithoutTransaction { db -> ([AppendResult], [MailboxChange]) in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var results: [AppendResult] = []
            var appended: [String: (uids: [UID], modseq: Int64)] = [:]
            var order: [String] = []
            var notes: [DeliveryNote] = []
            try db.inTransaction(.immediate) {
                notes = []
                let start = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'queue_seq'")) ?? 0
                var done = start
                var recent = DeliveredSeals(try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = '\(DeliveredSeals.metaKey)'")))
                for message in opened where message.seq > done {
                    // Moved or restored from a node that had not dropped it from its queue yet.
                    if recent.contains(message.digest) { done = message.seq; continue }
                    let (folder, missing) = try Self.deliveryFolder(db, message.delivery)
                    if let missing, let aliasID = message.delivery.aliasID {
                        notes.append(DeliveryNote(aliasID: aliasID, script: message.delivery.script ?? "",
                                                  message: "fileinto: folder \"\(missing)\" does not exist (no :create); filed into INBOX",
                                                  at: Date()))
                    }
                    let (contentID, threadID) = try Self.storeContentAndThread(db, message.prepared)
                    let modseq = folder.highestModSeq + 1
                    let (flags, keywords) = Self.deliveryFlags(message.delivery.flags)
                    let uid = try Self.insertMessage(db, folder: folder, contentID: contentID, threadID: threadID, size: message.prepared.size,
                                                     flags: flags, keywords: keywords, internalDate: message.internalDate, modseq: modseq)
                    results.append(AppendResult(uidValidity: folder.uidValidity, uid: uid))
                    if appended[folder.path] == nil { order.append(folder.path) }
                    appended[folder.path, default: ([], modseq)].uids.append(uid)
                    appended[folder.path]?.modseq = modseq
                    recent.append(message.digest)
                    done = message.seq
                }
                if done != start {
                    try Self.setMeta(db, "queue_seq", done)
                    try Self.setMeta(db, DeliveredSeals.metaKey, recent.stored)
                }
                return .commit
            }
            if !notes.isEmpty { deliveryNotes.withLock { $0 += notes } }
            return (results, order.map { path in
                MailboxChange(folder: path, kind: .appended(uids: appended[path]!.uids), modSeq: appended[path]!.modseq, origin: nil)
            })
        }
        if !changes.1.isEmpty { publish(changes.1) }
        if !changes.0.isEmpty { noteStored(opened.map(\.prepared)) }
        return changes.0
    }

    /// The folder a sealed copy is filed into: the one with its special use (the first, by age),
    /// else the folder it names, else INBOX. A missing special-use folder is made under its usual
    /// name (or that name's existing folder is used); a missing named folder is made only with
    /// `create`, else the copy goes to INBOX and the missing name is returned.
    static func deliveryFolder(_ db: Database, _ delivery: InboundDelivery) throws -> (FolderInfo, missing: String?) {
        if let raw = delivery.specialUse, let use = SpecialUse(rawValue: raw) {
            if let found = try Row.fetchOne(db.cachedStatement(sql: folderSelect + " WHERE special_use = ? ORDER BY id LIMIT 1"),
                                            arguments: [use.rawValue]).map(folderInfo) {
                return (found, nil)
            }
            let name = defaultFolders.first { $0.use == use }?.path ?? String(use.rawValue.dropFirst())
            if let existing = try fetchFolder(db, name) { return (existing, nil) }
            return (try insertFolder(db, path: name, specialUse: use, subscribed: true, now: Date()), nil)
        }
        var missing: String?
        if let named = delivery.folder, let path = try? normalizePath(named), path != "INBOX" {
            if let existing = try fetchFolder(db, path) { return (existing, nil) }
            if delivery.create { return (try insertFolder(db, path: path, specialUse: nil, subscribed: true, now: Date()), nil) }
            missing = path
        } else if let named = delivery.folder, (try? normalizePath(named)) == nil {
            missing = named
        }
        guard let inbox = try fetchFolder(db, "INBOX") else { throw MailStoreError(.noSuchFolder, "no INBOX") }
        return (inbox, missing)
    }

    /// Delivery flags as system flags and keywords (`\Recent` and unknown system flags dropped;
    /// keywords must be IMAP atoms).
    static func deliveryFlags(_ names: [String]) -> (MessageFlags, [String]) {
        var flags: MessageFlags = [], keywords: [String] = []
        for name in names {
            if name.hasPrefix("\\") {
                if let known = MessageFlags.systemFlagNames.first(where: { $0.1.caseInsensitiveCompare(name) == .orderedSame }) { flags.insert(known.0) }
            } else if !name.isEmpty, name.count <= 100,
                      name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && !"(){%*\"\\]".unicodeScalars.contains($0) }),
                      !keywords.contains(name) {
                keywords.append(name)
            }
        }
        return (flags, keywords)
    }
}

// MARK: - Row helpers

extension MailboxDatabase {
    /// Work done before the write transaction: parsing, hashing, splitting out large parts.
    struct PreparedMessage {
        let size: Int
        let sha256: [UInt8]
        let split: MessageLayout.Split
        /// The layout and each part as stored (compressed or not, in chunks): computed before the
        /// write transaction too.
        let storedLayout: Data
        let storedParts: [[(codec: Int, bytes: Data)]]
        let message: MIMEMessage
        let structure: [UInt8]
        /// The text the full-text index gets (HTML made text): computed before the write
        /// transaction, not while holding the file's one writer.
        let searchText: SearchText

        init(_ bytes: [UInt8]) {
            message = MIMEMessage.parse(bytes)
            structure = message.structure.encoded()
            searchText = message.searchText()
            size = bytes.count
            sha256 = Array(SHA256.hash(data: bytes))
            split = MessageLayout.split(message)
            storedLayout = MessageLayout.stored(split.layout)
            storedParts = split.parts.map { part in
                stride(from: part.bytes.startIndex, to: part.bytes.endIndex, by: MessageLayout.chunkSize).map { start in
                    BlobCodec.encode(part.bytes[start..<min(start + MessageLayout.chunkSize, part.bytes.endIndex)])
                }
            }
        }
    }

    /// `subscribed`: whether the name is in `subscriptions` (the `folders.subscribed` column of
    /// version 1 is no longer read: a subscription outlives its folder, RFC 3501 §6.3.4).
    static let folderSelect = "SELECT id, path, special_use, EXISTS (SELECT 1 FROM subscriptions s WHERE s.path = folders.path), uid_validity, uid_next, highest_modseq, recent_uid FROM folders"

    /// A row of `folderSelect`, read by position (a lookup by name compares names
    /// case-insensitively, column by column: it was most of a folder lookup's cost).
    static func folderInfo(_ row: Row) -> FolderInfo {
        FolderInfo(id: row[0], path: row[1], specialUse: (row[2] as String?).flatMap(SpecialUse.init(rawValue:)),
                   subscribed: row[3], uidValidity: row[4], uidNext: row[5], highestModSeq: row[6], recentUID: row[7])
    }

    static func fetchFolder(_ db: Database, _ path: String) throws -> FolderInfo? {
        try Row.fetchOne(db.cachedStatement(sql: folderSelect + " WHERE path = ?"), arguments: [path]).map(folderInfo)
    }

    /// A new folder; `subscribed` only for the default folders (RFC 3501 §6.3.3: CREATE does not
    /// subscribe), and a name subscribed before (a folder deleted and created again) stays so.
    static func insertFolder(_ db: Database, path: String, specialUse: SpecialUse?, subscribed: Bool = false, now: Date) throws -> FolderInfo {
        // UIDVALIDITY: a mailbox-wide counter seeded with the creation time, so that a folder
        // deleted and created again never reuses a value.
        let validity = UInt32(truncatingIfNeeded: (try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'next_uid_validity'")) ?? 1))
        try setMeta(db, "next_uid_validity", Int64(validity) + 1)
        try db.execute(sql: """
            INSERT INTO folders(path, special_use, uid_validity, uid_next, highest_modseq, recent_uid, subscribed, created)
            VALUES (?, ?, ?, 1, 1, 1, ?, ?)
            """, arguments: [path, specialUse?.rawValue, max(validity, 1), subscribed, isoString(now)])
        if subscribed { try db.cachedStatement(sql: "INSERT OR IGNORE INTO subscriptions(path) VALUES (?)").execute(arguments: [path]) }
        return try fetchFolder(db, path)!
    }

    /// Beside a mailbox file put back from a backup: its folders need new UIDVALIDITY values at the
    /// next open. The restored file numbers new mail from where it was at the backup, but clients
    /// may have seen UIDs (and MODSEQs) given out after it; under the same UIDVALIDITY they would
    /// take a new message for one they hold (RFC 3501 §2.3.1.1: UIDs must never be reused). New
    /// values make them resynchronise instead. The marker says nothing about the mailbox.
    public static func renewalMarkerPath(_ path: String) -> String { path + renewalMarkerSuffix }
    public static let renewalMarkerSuffix = ".renew-uidvalidity"
    /// Beside a mailbox file once renewed: the highest UIDVALIDITY a renewal gave out, which the
    /// next renewal (after another restore, whose file cannot know it) goes above. A number only.
    public static let validityFloorSuffix = ".uidvalidity-floor"
    /// The files that belong to a mailbox file besides it (removed with it).
    public static let companionSuffixes = ["-wal", "-shm", renewalMarkerSuffix, validityFloorSuffix]

    /// Marks the mailbox file at `path` for `renewUIDValidity` at its next open (needs no key).
    public static func markForUIDValidityRenewal(path: String) throws {
        let marker = renewalMarkerPath(path)
        try Data("restored from a backup\n".utf8).write(to: URL(fileURLWithPath: marker))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: marker)
    }

    /// Gives every folder a new UIDVALIDITY, above any value given out before: the file's own
    /// counter and values are those of the backup, so the counter is raised to the current time
    /// (as at creation) and above `floor`, the last renewal's highest value. UIDs, MODSEQs and
    /// messages stay.
    /// Returns the highest value given.
    @discardableResult
    static func renewUIDValidity(_ db: Database, now: Date, floor: Int64) throws -> Int64 {
        let next = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'next_uid_validity'")) ?? 1
        let highest = try Int64.fetchOne(db, sql: "SELECT MAX(uid_validity) FROM folders") ?? 0
        var validity = max(next, highest + 1, floor + 1, Int64(now.timeIntervalSince1970))
        for id in try Int64.fetchAll(db, sql: "SELECT id FROM folders ORDER BY id") {
            try db.execute(sql: "UPDATE folders SET uid_validity = ? WHERE id = ?", arguments: [Int64(UInt32(truncatingIfNeeded: validity)), id])
            validity += 1
        }
        try setMeta(db, "next_uid_validity", validity)
        return validity - 1
    }

    static func ensureDefaultFolders(_ db: Database, now: Date) throws {
        for (path, use) in defaultFolders where try fetchFolder(db, path) == nil {
            _ = try insertFolder(db, path: path, specialUse: use, subscribed: true, now: now)
        }
    }

    static func setMeta(_ db: Database, _ key: String, _ value: some DatabaseValueConvertible) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)").execute(arguments: [key, value])
    }

    static func checkQuota(_ db: Database, adding: Int64, quota: Int64?) throws {
        guard let quota else { return }
        let used = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = 'usage_bytes'")) ?? 0
        if used + adding > quota { throw MailStoreError(.overQuota, "mailbox is over its storage quota") }
    }

    /// Stores a message's content once (by SHA-256) and returns its id and thread (for
    /// `messages.thread_id`); the caller's message row is its reference (`refcount` is written as 1
    /// and no longer kept: see `dropUnreferenced`). A content stored before has its thread read from
    /// a message row of it (no blob pages), else from the content row. Its full-text entry comes
    /// later (the caller's `noteStored`, after the commit: see MailboxDatabase+SearchIndex).
    static func storeContentAndThread(_ db: Database, _ p: PreparedMessage) throws -> (contentID: Int64, threadID: Int64?) {
        if let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM contents WHERE sha256 = ?"), arguments: [Data(p.sha256)]) {
            let thread = try Int64.fetchOne(db.cachedStatement(sql: "SELECT thread_id FROM messages WHERE content_id = ? AND thread_id IS NOT NULL LIMIT 1"),
                                            arguments: [id])
                ?? Int64.fetchOne(db.cachedStatement(sql: "SELECT thread_id FROM contents WHERE id = ?"), arguments: [id])
            return (id, thread)
        }
        let m = p.message
        let threadID = try threadFor(db, m)
        try db.cachedStatement(sql: """
            INSERT INTO contents(id, sha256, size, header, body, refcount, sent_date, subject, from_addr, to_addr, cc_addr, bcc_addr,
                                 message_id, in_reply_to, refs, has_attachments, thread_id)
            VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                try nextID(db, counter: "next_content_id", table: "contents"), Data(p.sha256), p.size, Data(p.split.header), p.storedLayout, m.date.map(isoString), m.subject,
                m.addressText("from"), m.addressText("to"), m.addressText("cc"), m.addressText("bcc"), m.messageID,
                m.inReplyTo.first, m.references.isEmpty ? nil : m.references.joined(separator: " "),
                m.leafParts.contains(where: \.isAttachment), threadID,
            ])
        let contentID = db.lastInsertedRowID
        try db.cachedStatement(sql: "INSERT INTO content_structures(content_id, structure) VALUES (?, ?)").execute(arguments: [contentID, Data(p.structure)])
        if let day = m.sentDay {
            try db.cachedStatement(sql: "INSERT INTO content_dates(content_id, sent_day) VALUES (?, ?)").execute(arguments: [contentID, day])
        }
        for (ordinal, part) in p.split.parts.enumerated() {
            let partID: Int64
            if let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM parts WHERE sha256 = ?"), arguments: [Data(part.sha256)]) {
                partID = id
            } else {
                partID = try insertPart(db, sha256: part.sha256, size: part.bytes.count, stored: p.storedParts[ordinal])
            }
            try db.cachedStatement(sql: "INSERT INTO content_parts(content_id, ordinal, part_id) VALUES (?, ?, ?)").execute(arguments: [contentID, ordinal, partID])
        }
        return (contentID, threadID)
    }

    /// The next row id of `table` from the counter `meta.<counter>`: above every id the table has or
    /// ever had since the counter began, so an id IMAP has shown (EMAILID, THREADID) never comes
    /// back for another row, as SQLite's own choice (the largest id plus one) would after a delete.
    static func nextID(_ db: Database, counter: String, table: String) throws -> Int64 {
        let kept = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [counter]) ?? 1
        let above = try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(id), 0) + 1 FROM \(table)")) ?? 1
        let id = max(kept, above)
        try setMeta(db, counter, id + 1)
        return id
    }

    /// The thread of a message: that of the first message it refers to (In-Reply-To, References),
    /// or a new one.
    static func threadFor(_ db: Database, _ m: MIMEMessage) throws -> Int64 {
        let ids = Array(Set(m.inReplyTo + m.references)).prefix(100)
        if !ids.isEmpty {
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            if let thread = try Int64.fetchOne(db, sql: "SELECT thread_id FROM contents WHERE message_id IN (\(marks)) AND thread_id IS NOT NULL LIMIT 1",
                                               arguments: StatementArguments(Array(ids))) {
                return thread
            }
        }
        try db.cachedStatement(sql: "INSERT INTO threads(id, root_message_id, base_subject) VALUES (?, ?, ?)").execute(arguments: [try nextID(db, counter: "next_thread_id", table: "threads"),
                                   m.references.first ?? m.inReplyTo.first ?? m.messageID, m.subject])
        return db.lastInsertedRowID
    }

    /// A message row; its save date (SAVEDATE) is now.
    static func insertMessage(_ db: Database, folder: FolderInfo, contentID: Int64, threadID: Int64?, size: Int, flags: MessageFlags,
                              keywords: [String], internalDate: Date, modseq: Int64) throws -> UID {
        let uid = folder.uidNext
        try db.cachedStatement(sql: """
            INSERT INTO messages(folder_id, uid, modseq, flags, internal_date, size, content_id, save_date, thread_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [folder.id, uid, modseq, flags.rawValue, isoString(internalDate), size, contentID, isoString(Date()), threadID])
        let messageID = db.lastInsertedRowID
        for k in Set(keywords) {
            try db.cachedStatement(sql: "INSERT INTO message_keywords(message_id, keyword) VALUES (?, ?)").execute(arguments: [messageID, k])
        }
        try db.cachedStatement(sql: "UPDATE folders SET uid_next = max(uid_next, ?), highest_modseq = max(highest_modseq, ?) WHERE id = ?").execute(arguments: [uid + 1, modseq, folder.id])
        return uid
    }

    /// Removes message rows (`id`, `uid`, `content_id`) of one folder, records their UIDs as expunged at
    /// `modseq` and queues their contents for the maintenance pass.
    static func removeMessages(_ db: Database, _ rows: [Row], folderID: Int64, modseq: Int64) throws {
        let delete = try db.cachedStatement(sql: "DELETE FROM messages WHERE id = ?")
        let record = try db.cachedStatement(sql: "INSERT OR REPLACE INTO expunged(folder_id, uid, modseq) VALUES (?, ?, ?)")
        for row in rows {
            try delete.execute(arguments: [row["id"] as Int64])
            try record.execute(arguments: [folderID, row["uid"] as UID, modseq])
        }
        try queueUnreferenced(db, contents: rows.map { $0["content_id"] as Int64 })
    }

    /// Notes contents that may have lost their last message: the maintenance pass deletes those
    /// that did (freeing a message's pages reads and zeroes each of them: not while the client waits).
    static func queueUnreferenced(_ db: Database, contents: some Sequence<Int64>) throws {
        let note = try db.cachedStatement(sql: "INSERT OR IGNORE INTO unreferenced_contents(content_id) VALUES (?)")
        for id in Set(contents) { try note.execute(arguments: [id]) }
    }

    /// Deletes the contents among `candidates` that no message refers to any more, with their
    /// search entries and the parts no other content shares. References are not counted: they are
    /// found through the indexes on messages(content_id) and content_parts(part_id). (A counter
    /// stored after a blob column, as `refcount` is, makes SQLite rewrite the whole row, blob
    /// included, at every change, and a `refcount <= 0` scan reads every blob's overflow chain.)
    static func dropUnreferenced(_ db: Database, contents candidates: some Sequence<Int64>) throws {
        let referenced = try db.cachedStatement(sql: "SELECT 1 FROM messages WHERE content_id = ? LIMIT 1")
        let partsOf = try db.cachedStatement(sql: "SELECT part_id FROM content_parts WHERE content_id = ?")
        let deleteSearch = try db.cachedStatement(sql: "DELETE FROM content_fts WHERE rowid = ?")
        let indexed = try indexedThrough(db)  // contents above it have no entry to delete
        let deleteContent = try db.cachedStatement(sql: "DELETE FROM contents WHERE id = ? RETURNING thread_id")
        var parts = Set<Int64>(), threads = Set<Int64>()
        for id in Set(candidates) where try Int64.fetchOne(referenced, arguments: [id]) == nil {
            parts.formUnion(try Int64.fetchAll(partsOf, arguments: [id]))
            if id <= indexed { try deleteSearch.execute(arguments: [id]) }
            // its content_parts rows go with it (ON DELETE CASCADE)
            if let thread = try Int64?.fetchOne(deleteContent, arguments: [id]) ?? nil { threads.insert(thread) }
        }
        let deletePart = try db.cachedStatement(sql: """
            DELETE FROM parts WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM content_parts WHERE part_id = ?1)
            """)
        for id in parts { try deletePart.execute(arguments: [id]) }  // its chunks go with it (ON DELETE CASCADE)
        // A thread keeps its first message's subject and Message-ID: it goes with its last message.
        let deleteThread = try db.cachedStatement(sql: """
            DELETE FROM threads WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM contents WHERE thread_id = ?1)
            """)
        for id in threads { try deleteThread.execute(arguments: [id]) }
    }

    /// A new part row of `size` bytes, stored as `stored` (BlobCodec): inline when it is one piece
    /// (at most `MessageLayout.chunkSize` bytes), else in chunks of that many bytes, each stored
    /// its own way.
    static func insertPart(_ db: Database, sha256: [UInt8], size: Int, stored: [(codec: Int, bytes: Data)]) throws -> Int64 {
        let chunked = size > MessageLayout.chunkSize
        try db.cachedStatement(sql: "INSERT INTO parts(sha256, size, data, refcount, chunks, codec) VALUES (?, ?, ?, 1, ?, ?)").execute(arguments: [
            Data(sha256), size, chunked ? Data() : stored.first?.bytes ?? Data(), chunked ? stored.count : 0,
            chunked ? BlobCodec.plain : stored.first?.codec ?? BlobCodec.plain,
        ])
        let partID = db.lastInsertedRowID
        if chunked {
            let insert = try db.cachedStatement(sql: "INSERT INTO part_chunks(part_id, seq, data, codec) VALUES (?, ?, ?, ?)")
            for (seq, chunk) in stored.enumerated() { try insert.execute(arguments: [partID, seq, chunk.bytes, chunk.codec]) }
        }
        return partID
    }

    /// The stored parts of a content, by ordinal: their row id and number of chunks (0: inline).
    static func contentParts(_ db: Database, _ contentID: Int64) throws -> [(id: Int64, chunks: Int)] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT p.id, p.chunks FROM content_parts cp JOIN parts p ON p.id = cp.part_id WHERE cp.content_id = ? ORDER BY cp.ordinal
            """), arguments: [contentID]).map { ($0["id"], $0["chunks"]) }
    }

    /// One stored part's bytes (`chunk` nil: an inline part), nil when the part is gone.
    static func partBytes(_ db: Database, partID: Int64, chunk: Int?) throws -> [UInt8]? {
        let statement = try chunk == nil ? db.cachedStatement(sql: "SELECT data, codec FROM parts WHERE id = ?")
            : db.cachedStatement(sql: "SELECT data, codec FROM part_chunks WHERE part_id = ? AND seq = ?")
        let rows = try Row.fetchCursor(statement, arguments: chunk.map { [partID, $0] } ?? [partID])
        guard try rows.next() != nil else { return nil }
        var bytes: [UInt8] = []
        try appendStoredBlob(statement.sqliteStatement, to: &bytes)
        return bytes
    }

    /// A message's bytes, re-assembled. Each blob is appended to the result straight from SQLite's
    /// column (no `Data`, no intermediate array): a download copies every byte once less or twice less.
    static func assembleContent(_ db: Database, _ contentID: Int64) throws -> [UInt8] {
        let content = try db.cachedStatement(sql: "SELECT size, header, body FROM contents WHERE id = ?")
        let cursor = try Row.fetchCursor(content, arguments: [contentID])
        guard try cursor.next() != nil else { throw MessageLayout.Corrupt() }
        let s = content.sqliteStatement
        var out: [UInt8] = []
        out.reserveCapacity(Int(sqlite3_column_int64(s, 0)))
        appendBlob(s, column: 1, to: &out)
        var stored: [UInt8] = []
        appendBlob(s, column: 2, to: &stored)
        let layout = try MessageLayout.plain(stored)
        let parts = try contentParts(db, contentID)
        let inline = try db.cachedStatement(sql: "SELECT data, codec FROM parts WHERE id = ?")
        let chunk = try db.cachedStatement(sql: "SELECT data, codec FROM part_chunks WHERE part_id = ? AND seq = ?")
        try MessageLayout.assembleBody(layout: layout, into: &out) { ordinal, out in
            guard ordinal < parts.count else { throw MessageLayout.Corrupt() }
            let part = parts[ordinal]
            for seq in 0..<max(part.chunks, 1) {
                let statement = part.chunks == 0 ? inline : chunk
                let rows = try Row.fetchCursor(statement, arguments: part.chunks == 0 ? [part.id] : [part.id, seq])
                guard try rows.next() != nil else {
                    if part.chunks == 0 { return }  // an inline part gone: as before, nothing
                    throw MessageLayout.Corrupt()
                }
                try appendStoredBlob(statement.sqliteStatement, to: &out)
            }
        }
        return out
    }

    /// Appends the plain bytes of a stored blob to `out`: columns 0 and 1 of the statement's current
    /// row, its bytes and its codec (BlobCodec).
    static func appendStoredBlob(_ s: SQLiteStatement, to out: inout [UInt8]) throws {
        let codec = Int(sqlite3_column_int64(s, 1))
        guard let blob = sqlite3_column_blob(s, 0) else { return }
        try BlobCodec.decode(UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_column_bytes(s, 0))), codec: codec, into: &out)
    }

    /// Appends the blob in `column` of the statement's current row to `out`.
    static func appendBlob(_ s: SQLiteStatement, column: Int32, to out: inout [UInt8]) {
        // The pointer first, then its size (SQLite's advice: no conversion between the two calls).
        guard let blob = sqlite3_column_blob(s, column) else { return }
        out.append(contentsOf: UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_column_bytes(s, column))))
    }

    /// Keywords by message row id, of the folder's messages in `uids` (all when nil).
    static func keywords(_ db: Database, folderID: Int64, uids: UIDSet? = nil) throws -> [Int64: [String]] {
        try keywords(db, condition: " WHERE m.folder_id = ?", arguments: [folderID], uids: uids)
    }

    /// Keywords by message row id of the messages `condition` (SQL on `m`) and `uids` select.
    static func keywords(_ db: Database, condition: String, arguments: StatementArguments, uids: UIDSet?) throws -> [Int64: [String]] {
        var result: [Int64: [String]] = [:]
        for row in try fetchRows(db, sql: keywordSelect + condition, arguments: arguments, uids: uids, column: "m.uid",
                                 order: "k.message_id, k.keyword") {
            result[row[0], default: []].append(row[1])
        }
        return result
    }

    static let keywordSelect = "SELECT k.message_id, k.keyword FROM message_keywords k JOIN messages m ON m.id = k.message_id"

    /// States of the given messages (by row id; nothing read from their content), in UID order.
    /// The ids travel as one bound JSON array, so the SQL text stays the same whatever their number.
    static func records(_ db: Database, folderID: Int64, messageIDs: [Int64]) throws -> [MessageRecord] {
        guard !messageIDs.isEmpty else { return [] }
        let ids = "[" + messageIDs.map(String.init).joined(separator: ",") + "]"
        let keywords = try keywords(db, condition: " WHERE k.message_id IN (SELECT value FROM json_each(?))", arguments: [ids], uids: nil)
        return try Row.fetchAll(db.cachedStatement(sql: stateSelect + " WHERE m.id IN (SELECT value FROM json_each(?)) ORDER BY m.uid"),
                                arguments: [ids])
            .map { record($0, keywords: keywords) }
    }

    /// Rows of `sql` (a query whose WHERE clause a UID condition may extend) restricted to `uids`,
    /// ordered by `order` within each range and the ranges ascending: one indexed range scan per
    /// range of the set through one cached statement. The SQL text never grows with the set (an
    /// OR term per range made SQLite refuse sets past ~1,000 ranges: "Expression tree is too
    /// large") and the cost follows the rows selected, whatever the shape of the UID space.
    static func fetchRows(_ db: Database, sql: String, arguments: StatementArguments, uids: UIDSet?, column: String, order: String) throws -> [Row] {
        var rows: [Row] = []
        try forEachRow(db, sql: sql, arguments: arguments, uids: uids, column: column, order: order) { row, _ in rows.append(row.copy()) }
        return rows
    }

    /// The same walk, handing each row to `body` as it is stepped (with its raw statement, for
    /// reading columns without GRDB's generic decoding); nothing is copied.
    static func forEachRow(_ db: Database, sql: String, arguments: StatementArguments, uids: UIDSet?, column: String, order: String,
                           _ body: (Row, SQLiteStatement) throws -> Void) throws {
        func run(_ statement: Statement, _ arguments: StatementArguments) throws {
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            while let row = try rows.next() { try body(row, statement.sqliteStatement) }
        }
        guard let uids else { return try run(db.cachedStatement(sql: sql + " ORDER BY " + order), arguments) }
        let statement = try db.cachedStatement(sql: sql + " AND \(column) BETWEEN ? AND ? ORDER BY " + order)
        for range in uids.ranges { try run(statement, arguments + [range.lowerBound, range.upperBound]) }
    }

    /// Message states (rows of `stateSelect` + `condition`, restricted to `uids` as `fetchRows`
    /// does), read straight from SQLite's columns: decoding thousands of rows through GRDB's
    /// generic `Row` (a copy of each row, a generic metadata lookup per value) was most of the
    /// cost of a `FETCH 1:* (FLAGS)` or a resync.
    /// `select` is `stateSelect` or one with more columns after its nine, which `extra` reads
    /// from each row (with the row's UID).
    static func states(_ db: Database, select: String = stateSelect, condition: String, arguments: StatementArguments, uids: UIDSet?,
                       keywords: [Int64: [String]], extra: ((SQLiteStatement, UID) -> Void)? = nil) throws
        -> (records: [MessageRecord], contentIDs: [Int64]) {
        var records: [MessageRecord] = [], contentIDs: [Int64] = []
        if let uids { records.reserveCapacity(min(uids.uidCount, 4096)); contentIDs.reserveCapacity(min(uids.uidCount, 4096)) }
        try forEachRow(db, sql: select + condition, arguments: arguments, uids: uids, column: "m.uid", order: "m.uid") { _, s in
            let id = sqlite3_column_int64(s, 0)
            let date: Date? = sqlite3_column_text(s, 4).flatMap { text in
                fastISO(bytes: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(s, 4))))
                    ?? parseISO(String(cString: text))
            }
            let saveDate: Date? = sqlite3_column_text(s, 7).flatMap { text in
                fastISO(bytes: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(s, 7))))
                    ?? parseISO(String(cString: text))
            }
            let contentID = sqlite3_column_int64(s, 6)
            records.append(MessageRecord(
                uid: UID(truncatingIfNeeded: sqlite3_column_int64(s, 1)), modSeq: sqlite3_column_int64(s, 2),
                flags: MessageFlags(rawValue: Int(sqlite3_column_int64(s, 3))), keywords: keywords[id] ?? [],
                internalDate: date ?? Date(timeIntervalSince1970: 0), size: Int(sqlite3_column_int64(s, 5)),
                sentDate: nil, subject: nil, from: nil, messageID: nil,
                threadID: sqlite3_column_type(s, 8) == SQLITE_NULL ? nil : sqlite3_column_int64(s, 8),
                saveDate: saveDate, emailID: contentID))
            contentIDs.append(contentID)
            extra?(s, records[records.count - 1].uid)
        }
        return (records, contentIDs)
    }

    /// The re-assembled bytes of the messages (`records`, with their `contentIDs` alongside) that
    /// `prefetch` admits.
    func prefetchedBytes(_ db: Database, records: [MessageRecord], contentIDs: [Int64], prefetch: BytesPrefetch) throws -> [UID: [UInt8]] {
        let contentOf = Dictionary(zip(records.lazy.map(\.uid), contentIDs), uniquingKeysWith: { a, _ in a })
        var bytes: [UID: [UInt8]] = [:]
        for uid in prefetch.select(records.lazy.map { (uid: $0.uid, size: $0.size) }) {
            if let id = contentOf[uid] { bytes[uid] = try cachedContent(db, id) }
        }
        return bytes
    }

    static let recordSelect = """
        SELECT m.id, m.uid, m.modseq, m.flags, m.internal_date, m.size, m.content_id, m.save_date, coalesce(m.thread_id, c.thread_id),
               c.sent_date, c.subject, c.from_addr, c.message_id
        FROM messages m JOIN contents c ON c.id = m.content_id
        """

    static let stateColumns = "SELECT m.id, m.uid, m.modseq, m.flags, m.internal_date, m.size, m.content_id, m.save_date, m.thread_id"
    static let stateSelect = stateColumns + " FROM messages m"

    /// A row of `stateSelect` or `recordSelect`, read by position (see `folderInfo`).
    static func record(_ row: Row, keywords: [Int64: [String]]) -> MessageRecord {
        let facts = row.count > 9
        return MessageRecord(
            uid: row[1], modSeq: row[2], flags: MessageFlags(rawValue: row[3]),
            keywords: keywords[row[0] as Int64] ?? [], internalDate: parseISO(row[4]) ?? Date(timeIntervalSince1970: 0),
            size: row[5], sentDate: facts ? (row[9] as String?).flatMap(parseISO) : nil,
            subject: facts ? row[10] : nil, from: facts ? row[11] : nil,
            messageID: facts ? row[12] : nil, threadID: row[8], saveDate: (row[7] as String?).flatMap(parseISO), emailID: row[6])
    }
}

/// ISO 8601 UTC with seconds, the storage form of every date.
func isoString(_ date: Date) -> String { date.formatted(.iso8601) }
func parseISO(_ text: String) -> Date? { fastISO(text) ?? (try? Date(text, strategy: .iso8601)) }

/// `YYYY-MM-DDTHH:MM:SSZ`, the form `isoString` writes, without Foundation's general parser (a
/// FETCH or SEARCH over a big folder reads thousands of dates); nil for any other form.
func fastISO(_ text: String) -> Date? {
    text.utf8.withContiguousStorageIfAvailable { fastISO(bytes: $0) } ?? nil
}

/// `fastISO` of the UTF-8 bytes of a date.
func fastISO(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
    guard b.count == 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 90 else { return nil }
    func num(_ from: Int, _ count: Int) -> Int? {
        var v = 0
        for i in from..<from + count {
            let d = Int(b[i]) - 48
            guard d >= 0, d <= 9 else { return nil }
            v = v * 10 + d
        }
        return v
    }
    guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
          (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
    let days = CivilDate.daysSinceEpoch(year: y, month: mo, day: d)
    return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + h * 3_600 + mi * 60 + s))
}

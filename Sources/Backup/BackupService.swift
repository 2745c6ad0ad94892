import BackupStore
import Crypto
import Directory
import Foundation
import Logging
import MailboxAPI
import MailCore
import MailStore

/// Backs mailboxes up to a `BackupDestination` and restores them (DESIGN.md §5).
///
/// Layout at the destination (under its prefix):
/// ```
/// index/<sha256 of the address>.json                    {"mailbox": "<mailbox id>"}: finds a mailbox by address
/// mailboxes/<mailbox id>/<generation>/mailbox.sqlite    the encrypted snapshot (metadata: sha256, content-sha256, keys-sha256,
///                                                       queue-sha256, source-stamp, kind)
/// mailboxes/<mailbox id>/<generation>/keys.json         what the directory held to unlock it (see BackupKeys); written last
/// ```
/// A generation (`20261122T101500Z`) is complete once its keys.json exists. The address never
/// appears in clear at the destination: the index is keyed by a hash, and the settings are sealed.
public final class BackupService: Sendable {
    public struct Configuration: Sendable {
        /// Generations kept per mailbox.
        public var generations: Int = 7
        /// Where snapshots are written before upload (encrypted files; 0700).
        public var temporaryDirectory: String
        /// Free bytes on the file system of a path (statvfs); replaceable to test the guard.
        public var freeSpace: @Sendable (String) -> Int64? = { DiskSpaceGuard.statfs($0)?.free }
        public init(temporaryDirectory: String, generations: Int = 7) {
            self.temporaryDirectory = temporaryDirectory; self.generations = generations
        }
    }

    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case uploaded(generation: String, bytes: Int64)
        /// Nothing changed since `generation`: nothing uploaded.
        case unchanged(generation: String)
        public var description: String {
            switch self {
            case .uploaded(let g, let bytes): "uploaded generation \(g) (\(ByteCountFormatter.string(fromByteCount: bytes, countStyle: .binary)))"
            case .unchanged(let g): "unchanged since generation \(g)"
            }
        }
    }

    public struct Generation: Sendable, Equatable {
        public var id: String
        public var date: Date
        public var size: Int64
    }

    public let mailboxes: LocalMailboxService
    public let directory: any MailDirectory
    public let destination: any BackupDestination
    public let configuration: Configuration
    let logger: Logger

    public init(logger: Logger = Logger(label: "sealbox.backup"), mailboxes: LocalMailboxService, directory: any MailDirectory,
                destination: any BackupDestination, configuration: Configuration) {
        self.mailboxes = mailboxes; self.directory = directory; self.destination = destination
        self.configuration = configuration; self.logger = logger
    }

    // MARK: - Keys at the destination

    /// Where a password finds its mailbox: `index/<backup locator>.json` holds the mailbox id. The
    /// name is keyed by the password (`KeyHierarchy.backupLocator`), so a guessed address alone
    /// does not find it.
    static func indexKey(locator: String) -> String { "index/\(locator).json" }

    /// The index entry of earlier versions, named by an unkeyed hash of the address: read (a
    /// bucket made by them) and deleted once the mailbox's passwords have locators.
    static func legacyIndexKey(_ address: EmailAddress) -> String {
        let digest = SHA256.hash(data: Array("sealbox-backup-index\u{0}\(address.canonical)".utf8))
        return "index/" + digest.map { String(format: "%02x", $0) }.joined() + ".json"
    }
    static func generationPrefix(_ mailboxID: String) -> String { "mailboxes/\(mailboxID)/" }
    static func fileKey(_ mailboxID: String, _ generation: String) -> String { "mailboxes/\(mailboxID)/\(generation)/mailbox.sqlite" }
    static func keysKey(_ mailboxID: String, _ generation: String) -> String { "mailboxes/\(mailboxID)/\(generation)/keys.json" }
    static func queueKey(_ mailboxID: String, _ generation: String) -> String { "mailboxes/\(mailboxID)/\(generation)/queue.bin" }

    /// Mail waiting in the sealed queue (a locked mailbox's mail since its last unlock), still
    /// sealed to the mailbox's key: `u64 length ‖ blob` each, big-endian. Returns the bytes and a hash.
    func queuedMail(mailboxID: String) async throws -> ([UInt8], String) {
        var out: [UInt8] = []
        var after: Int64 = 0
        while true {
            let batch = try await mailboxes.queue.pending(mailboxID: mailboxID, after: after, limit: 100)
            guard let last = batch.last else { break }
            for entry in batch {
                withUnsafeBytes(of: UInt64(entry.blob.count).bigEndian) { out += $0 }
                out += entry.blob
            }
            after = last.seq
        }
        return (out, SHA256.hash(data: out).map { String(format: "%02x", $0) }.joined())
    }

    static func splitQueue(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var blobs: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            guard i + 8 <= bytes.count else { throw BackupError("queue.bin is damaged") }
            let length = bytes[i..<(i + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            i += 8
            guard length <= UInt64(bytes.count - i) else { throw BackupError("queue.bin is damaged") }
            blobs.append(Array(bytes[i..<(i + Int(length))]))
            i += Int(length)
        }
        return blobs
    }

    static func generationID(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
    static func date(ofGeneration id: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.date(from: id)
    }

    // MARK: - Listing

    /// Complete generations of a mailbox, oldest first.
    public func generations(mailboxID: String) async throws -> [Generation] {
        let objects = try await destination.list(prefix: Self.generationPrefix(mailboxID))
        var files: [String: Int64] = [:], keys: Set<String> = []
        for object in objects {
            let parts = object.key.split(separator: "/")
            guard parts.count == 4 else { continue }
            let generation = String(parts[2])
            if parts[3] == "mailbox.sqlite" { files[generation] = object.size }
            if parts[3] == "keys.json" { keys.insert(generation) }
        }
        return files.keys.filter { keys.contains($0) }.sorted().map {
            Generation(id: $0, date: Self.date(ofGeneration: $0) ?? .distantPast, size: files[$0] ?? 0)
        }
    }

    /// The mailbox id of an address: from the directory, else from the destination's index (a
    /// restore into an empty data directory), which takes one of the mailbox's passwords.
    public func mailboxID(of address: EmailAddress, password: String? = nil) async throws -> String {
        if let alias = try await directory.alias(address: address), let id = alias.mailboxID { return id }
        var names: [String] = []
        if let password { names.append(Self.indexKey(locator: await KeyHierarchy.backupLocatorOffPool(address: address, password: password))) }
        names.append(Self.legacyIndexKey(address))
        for name in names {
            if let data = try? await destination.get(key: name),
               let index = try? JSONDecoder().decode([String: String].self, from: Data(data)), let id = index["mailbox"],
               DirectoryID.isValid(id) {
                return id
            }
        }
        if password == nil {
            throw BackupError("no backup of \(address) found at \(destination.displayName) without its password: "
                + "backups are found with one of the mailbox's passwords (set SEALBOX_PASSWORD)")
        }
        throw BackupError("no backup of \(address) at \(destination.displayName) that this password finds")
    }

    public func generations(address: EmailAddress, password: String? = nil) async throws -> [Generation] {
        try await generations(mailboxID: try await mailboxID(of: address, password: password))
    }

    // MARK: - Backup

    /// Backs one mailbox up: a snapshot, compared with the newest generation, uploaded if anything
    /// changed, then generations beyond the configured number are deleted. When the mailbox file's
    /// stamp, its keys and its queued mail are those the newest generation recorded, nothing is
    /// read: the file has not been written since (`LocalMailboxService.fileStamp`).
    public func backUp(address: EmailAddress, progress: TransferProgress? = nil) async throws -> Outcome {
        guard let alias = try await directory.alias(address: address) else { throw BackupError("no such alias: \(address)") }
        guard let mailboxID = alias.mailboxID else { throw BackupError("\(address) has no mailbox to back up") }
        let keys = try BackupKeys(alias: alias, passwords: try await directory.passwords(aliasID: alias.id))

        let existing = try await generations(mailboxID: mailboxID)
        var latest: (id: String, meta: [String: String])?
        if let last = existing.last, let meta = try await destination.head(key: Self.fileKey(mailboxID, last.id)) { latest = (last.id, meta) }
        if let latest, let recorded = latest.meta["source-stamp"], latest.meta["keys-sha256"] == keys.fingerprint,
           try await mailboxes.fileStamp(mailboxID: mailboxID) == recorded,
           try await queuedMail(mailboxID: mailboxID).1 == latest.meta["queue-sha256"] {
            return .unchanged(generation: latest.id)
        }

        let temp = configuration.temporaryDirectory
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try checkFreeSpace(address: address, mailboxID: mailboxID, in: temp)
        let path = temp + "/\(mailboxID)-\(UUID().uuidString).sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The queue's high-water mark first: mail queued after it is in the snapshot or in queue.bin.
        let queueSeq = try await mailboxes.queue.lastSeq()
        let snapshot = try await mailboxes.snapshot(mailboxID: mailboxID, to: path)
        let (queued, queueHash) = try await queuedMail(mailboxID: mailboxID)

        if let latest, latest.meta["content-sha256"] == snapshot.contentSHA256, latest.meta["keys-sha256"] == keys.fingerprint,
           latest.meta["queue-sha256"] == queueHash {
            return .unchanged(generation: latest.id)
        }
        // Generations are named by the second; two backups within one second must not share a name.
        var generation = Self.generationID(Date())
        if let last = existing.last?.id, generation <= last, let lastDate = Self.date(ofGeneration: last) {
            generation = Self.generationID(lastDate.addingTimeInterval(1))
        }
        var metadata = ["sha256": snapshot.fileSHA256, "content-sha256": snapshot.contentSHA256,
                        "keys-sha256": keys.fingerprint, "queue-sha256": queueHash, "queue-seq": String(queueSeq),
                        "kind": snapshot.kind.rawValue, "format": "1"]
        if let stamp = snapshot.stamp { metadata["source-stamp"] = stamp }
        try await destination.put(key: Self.fileKey(mailboxID, generation), file: path, metadata: metadata, progress: progress)
        try await destination.put(key: Self.queueKey(mailboxID, generation), data: queued, metadata: ["sha256": queueHash])
        try await destination.put(key: Self.keysKey(mailboxID, generation), data: Array(try BackupKeys.encoder.encode(keys)), metadata: [:])
        try await updateIndex(address: address, mailboxID: mailboxID, keys: keys, previous: latest?.id)
        try await prune(mailboxID: mailboxID)
        logger.info("backup uploaded", metadata: ["backup.mailbox": "\(mailboxID)", "backup.generation": "\(generation)",
                                                   "backup.bytes": "\(snapshot.size)", "backup.kind": "\(snapshot.kind.rawValue)"])
        return .uploaded(generation: generation, bytes: snapshot.size)
    }

    /// One index entry per password locator; the entries of passwords gone since the previous
    /// generation are deleted, and the unkeyed entry of earlier versions once a locator exists
    /// (until then it stays, so that such a mailbox can still be found for a restore).
    func updateIndex(address: EmailAddress, mailboxID: String, keys: BackupKeys, previous: String?) async throws {
        let entry = Array(try JSONEncoder().encode(["mailbox": mailboxID]))
        let current = keys.locators
        for locator in current.sorted() { try await destination.put(key: Self.indexKey(locator: locator), data: entry, metadata: [:]) }
        if let previous, let data = try? await destination.get(key: Self.keysKey(mailboxID, previous)),
           let old = try? BackupKeys.decoder.decode(BackupKeys.self, from: Data(data)) {
            for locator in old.locators.subtracting(current).sorted() { try await destination.delete(key: Self.indexKey(locator: locator)) }
        }
        if current.isEmpty {
            try await destination.put(key: Self.legacyIndexKey(address), data: entry, metadata: [:])
        } else if try await destination.head(key: Self.legacyIndexKey(address)) != nil {
            try await destination.delete(key: Self.legacyIndexKey(address))
        }
    }

    /// Refuses to start when free disk is below twice the mailbox's size.
    func checkFreeSpace(address: EmailAddress, mailboxID: String, in directory: String) throws {
        let needed = 2 * mailboxes.mailboxFileSize(mailboxID: mailboxID)
        guard let free = configuration.freeSpace(directory) else { return }
        guard free >= needed else {
            let f = { (n: Int64) in ByteCountFormatter.string(fromByteCount: n, countStyle: .binary) }
            throw BackupError("not enough free disk space to back up \(address): \(f(free)) free in \(directory), "
                + "\(f(needed)) needed (twice the mailbox)")
        }
    }

    /// Deletes the oldest generations beyond the configured number, and incomplete ones older than the newest.
    func prune(mailboxID: String) async throws {
        let objects = try await destination.list(prefix: Self.generationPrefix(mailboxID))
        let complete = try await generations(mailboxID: mailboxID).map(\.id)
        let keep = Set(complete.suffix(max(1, configuration.generations)))
        let newest = complete.last ?? ""
        for object in objects {
            let parts = object.key.split(separator: "/")
            guard parts.count == 4 else { continue }
            let generation = String(parts[2])
            if keep.contains(generation) { continue }
            // An incomplete generation newer than the newest complete one may be an upload in progress.
            if !complete.contains(generation) && generation > newest { continue }
            try await destination.delete(key: object.key)
        }
    }

    /// Deletes every backup of a mailbox (and its index entry). Returns the keys deleted.
    public func purge(mailboxID: String, address: EmailAddress) async throws -> [String] {
        var deleted: [String] = []
        // The index entries: of the passwords every generation recorded, and of the current ones.
        var indexNames: Set<String> = [Self.legacyIndexKey(address)]
        if let alias = try await directory.alias(address: address), alias.mailboxID == mailboxID {
            for record in try await directory.passwords(aliasID: alias.id) {
                if let locator = record.backupLocator { indexNames.insert(Self.indexKey(locator: locator)) }
            }
        }
        let objects = try await destination.list(prefix: Self.generationPrefix(mailboxID))
        for object in objects where object.key.hasSuffix("/keys.json") {
            if let data = try? await destination.get(key: object.key), let keys = try? BackupKeys.decoder.decode(BackupKeys.self, from: Data(data)) {
                for locator in keys.locators { indexNames.insert(Self.indexKey(locator: locator)) }
            }
        }
        for object in objects {
            try await destination.delete(key: object.key)
            deleted.append(object.key)
        }
        for name in indexNames.sorted() where try await destination.head(key: name) != nil {
            try await destination.delete(key: name)
            deleted.append(name)
        }
        return deleted
    }

    // MARK: - Restore

    public struct RestoreSummary: Sendable {
        public var generation: String
        public var bytes: Int64
        /// Messages per folder, when a password was given to check the restored mailbox.
        public var folders: [(String, Int)]?
        public var aliasCreated: Bool
    }

    /// Restores `address` from a generation (the newest by default) into this service's data
    /// directory. The download is checked against its SHA-256 before anything is replaced. When
    /// the alias is absent it is recreated with its original id and password entries, so the
    /// user's passwords open it; with `password`, the restored mailbox is opened to prove it and
    /// the alias's sealed settings (forwards, webhooks, quota, labels) are restored too.
    public func restore(address: EmailAddress, generation requested: String?, password: String?,
                        progress: TransferProgress? = nil) async throws -> RestoreSummary {
        let mailboxID = try await mailboxID(of: address, password: password)
        let all = try await generations(mailboxID: mailboxID)
        guard !all.isEmpty else { throw BackupError("no complete backup of \(address) at \(destination.displayName)") }
        guard let generation = requested.map({ g in all.first { $0.id == g } }) ?? all.last else {
            throw BackupError("no generation \(requested ?? "") of \(address); `sealbox backup list \(address)` shows them")
        }
        let keysData = try await destination.get(key: Self.keysKey(mailboxID, generation.id))
        let keys: BackupKeys
        do { keys = try BackupKeys.decoder.decode(BackupKeys.self, from: Data(keysData)) } catch let e as BackupError { throw e } catch {
            throw BackupError("generation \(generation.id) of \(address) is damaged: its keys.json does not parse")
        }
        guard keys.mailboxID == mailboxID, let publicKey = keys.publicKeyBytes else {
            throw BackupError("generation \(generation.id) of \(address) is damaged: its keys.json names another mailbox")
        }
        guard let meta = try await destination.head(key: Self.fileKey(mailboxID, generation.id)), let expected = meta["sha256"] else {
            throw BackupError("generation \(generation.id) of \(address) has no checksum")
        }

        // What is in the directory now decides what may be replaced.
        let existing = try await directory.alias(address: address)
        if let existing {
            guard existing.id == keys.aliasID, existing.mailboxID == mailboxID else {
                throw BackupError("\(address) exists here with another mailbox; remove it (`sealbox alias remove \(address) --purge`) "
                    + "or restore into another data directory (--to-data-dir)")
            }
        } else if try await directory.alias(id: keys.aliasID) != nil {
            throw BackupError("another alias here has the id of \(address)'s backup; restore into another data directory")
        }

        // The file is replaced with the mailbox locked (a login waits); not while a session has it open.
        let replaced = try await mailboxes.whileLocked(mailboxID: mailboxID) { () async throws -> (Int64, Bool) in
            // Download next to the mailbox file, check, then move into place.
            let target = MailboxDatabase.filePath(storageRoot: mailboxes.storageRoot, mailboxID: mailboxID)
            let folder = (target as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let download = folder + "/.restore-\(UUID().uuidString).tmp"
            defer { try? FileManager.default.removeItem(atPath: download) }
            let (size, actual) = try await destination.get(key: Self.fileKey(mailboxID, generation.id), to: download, progress: progress)
            guard actual == expected else {
                throw BackupError("generation \(generation.id) of \(address) is damaged: its SHA-256 is \(actual), the backup recorded \(expected); "
                    + "nothing was changed (try another generation: `sealbox backup list \(address)`)")
            }
            // The mail that was waiting in the queue, checked before anything is replaced.
            let queued = try await destination.get(key: Self.queueKey(mailboxID, generation.id))
            guard SHA256.hash(data: queued).map({ String(format: "%02x", $0) }).joined() == meta["queue-sha256"] else {
                throw BackupError("generation \(generation.id) of \(address) is damaged: its queued mail does not match its checksum; nothing was changed")
            }
            let blobs = try Self.splitQueue(queued)
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: target + suffix) }
            try FileManager.default.moveItem(atPath: download, toPath: target)
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
            // Clients may hold UIDs given out after this generation: new UIDVALIDITY values at the
            // next unlock make them resynchronise rather than take new mail for mail they have.
            try MailboxDatabase.markForUIDValidityRenewal(path: target)
            // New mail here must be numbered above anything the restored mailbox already drained, and
            // the mail that was waiting goes back in the queue (it reaches INBOX at the next unlock).
            try await mailboxes.queue.raiseSequence(atLeast: Int64(meta["queue-seq"] ?? "0") ?? 0)
            for blob in blobs { try await mailboxes.queue.restoreSealed(blob: blob, mailboxID: mailboxID) }

            // With the password: read the sealed settings from the restored file.
            var settings: BackupKeys.Settings?
            let records = try keys.passwordRecords(labels: [:])
            if let password {
                guard let dataKey = records.lazy.compactMap({ KeyHierarchy.unwrap($0, password: password) }).first else {
                    throw BackupError("the password does not open the backup of \(address) (the mailbox file was restored; the directory was not changed)")
                }
                let database = try MailboxDatabase.open(storageRoot: mailboxes.storageRoot, mailboxID: mailboxID, dataKey: dataKey)
                settings = try? keys.settings(in: database)
                try? database.close()
            }

            var created = false
            if existing == nil {
                let domain = address.domain
                if try await !directory.domains().contains(where: { $0.domain == domain }) { _ = try await directory.addDomain(domain) }
                let forwards = try (settings?.forwardTo ?? []).map { try EmailAddress($0) }
                let record = AliasRecord(id: keys.aliasID, address: address, store: settings?.store ?? true, forwardTo: forwards,
                                         webhooks: settings?.webhooks ?? [], quotaBytes: settings?.quotaBytes, mailboxID: mailboxID,
                                         publicKey: publicKey, created: keys.aliasCreated)
                _ = try await directory.restoreAlias(record)
                for password in try keys.passwordRecords(labels: settings?.labels ?? [:]) { try await directory.addPassword(password) }
                created = true
            }

            return (size, created)
        }
        guard let (size, created) = replaced else {
            throw BackupError("\(address) has open sessions; restore it when they have ended")
        }

        // With the password: unlock it as a client would (the queued mail moves in) and count.
        var folders: [(String, Int)]?
        if let password {
            let session = try await mailboxes.unlock(address: address, password: password)
            var counts: [(String, Int)] = []
            for info in try await session.folders() { counts.append((info.path, try await session.status(of: info.path).messages)) }
            await session.close()
            folders = counts
        }
        return RestoreSummary(generation: generation.id, bytes: size, folders: folders, aliasCreated: created)
    }
}

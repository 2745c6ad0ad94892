import Crypto
import Directory
import Foundation
import MailboxAPI
import MailCore
import MailStore
import PostgresDirectory
import SQLiteCipher
import Synchronization

/// One Sealbox node's data directory, opened: the node key, the directory, the sealed queue and
/// the mailbox service. The one place where these are wired together.
///
/// Layout of the data directory (mode 0700):
/// ```
/// node.key            32 random bytes (0600): encrypts directory.sqlite and queue.sqlite; or,
///                     moved out (NodeKeyStore): node.key.location (the path of the key file)
///                     or node.key.sealed (the key wrapped with a passphrase)
/// directory.sqlite    domains, aliases, wrapped keys, public keys (encrypted); unused when
///                     `directory.url` names a PostgreSQL directory (docs/cluster-directory.md)
/// queue.sqlite        the sealed inbound queue (encrypted; entries sealed to mailbox keys)
/// mailboxes/<2 hex>/<random id>.sqlite   one encrypted file per mailbox
/// sealbox.lock        held by `serve` and by commands that open mailboxes
/// control.sock        while `serve` runs (0600): the CLI's commands run in the node through it
/// ```
public final class SealboxNode: Sendable {
    public let dataDirectory: String
    /// The embedded `SQLiteDirectory`, or a `PostgresDirectory` (`directory.url`).
    public let directory: any MailDirectory
    /// The PostgreSQL directory when the node uses one (closed by `shutdown`).
    public let postgresDirectory: PostgresDirectory?
    public let queue: SealedQueue
    public let mailboxes: LocalMailboxService
    /// Where the node key came from (never the key).
    public let keyMode: NodeKeyStore.Mode
    /// Lines for the operator about the key's place (an interrupted move…).
    public let keyWarnings: [String]
    /// Keys the Sieve memories (vacation, `duplicate`) in the directory: HKDF-SHA256 of the node
    /// key, so the digests are exactly as protected as the directory file the key encrypts.
    public let sieveMemoryHasher: SieveMemoryHasher

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Wakes `serve`'s outbound worker (set by `SealboxServer.buildServices`): jobs queued or made
    /// due by a command running in the node (control socket) go at once, not at the next poll.
    private let outboundWaker = Mutex<(@Sendable () -> Void)?>(nil)
    /// The node's part in a cluster while `serve` runs as a storage node (set by `ClusterRuntime.join`).
    private let clusterValue = Mutex<ClusterRuntime?>(nil)
    public var cluster: ClusterRuntime? {
        get { clusterValue.withLock { $0 } }
        set { clusterValue.withLock { $0 = newValue } }
    }
    public func setOutboundWaker(_ wake: @escaping @Sendable () -> Void) { outboundWaker.withLock { $0 = wake } }
    public func wakeOutbound() { outboundWaker.withLock { $0 }?() }

    /// Opens the node; `key` says where its key may be (node.keyFile, the passphrase). A key
    /// that does not open the directory is one clear line, and nothing is written.
    public static func open(dataDirectory: String, key: NodeKeyStore.Options = .init()) throws -> SealboxNode {
        try SealboxNode(dataDirectory: dataDirectory, key: key, postgres: nil)
    }

    /// `open`, with the directory on PostgreSQL when `directoryURL` is set (`directory.url`;
    /// connected and migrated here, bounded), else the embedded SQLite one. A URL that does not
    /// parse or a database that cannot be reached is one line without the password.
    public static func open(dataDirectory: String, key: NodeKeyStore.Options = .init(), directoryURL: String?) async throws -> SealboxNode {
        guard let directoryURL else { return try SealboxNode(dataDirectory: dataDirectory, key: key, postgres: nil) }
        let url: PostgresURL
        do { url = try PostgresURL(directoryURL) } catch { throw Failure(description: "directory.url: \(error)") }
        let postgres = try await PostgresDirectory.connect(PostgresDirectory.Configuration(url: url))
        do {
            return try SealboxNode(dataDirectory: dataDirectory, key: key, postgres: postgres)
        } catch {
            await postgres.shutdown()
            throw error
        }
    }

    private init(dataDirectory: String, key options: NodeKeyStore.Options, postgres: PostgresDirectory?) throws {
        let fm = FileManager.default
        let root = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.dataDirectory = root
        do {
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.createDirectory(atPath: root + "/mailboxes", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(description: "cannot create the data directory \(root): \(error.localizedDescription)")
        }
        let loaded = try NodeKeyStore.load(dataDirectory: root, options: options)
        keyMode = loaded.mode
        keyWarnings = loaded.warnings
        // Proved on the existing files before the directory and queue open (and migrate) them.
        try NodeKeyStore.verify(loaded.key, dataDirectory: root, source: "the node key (\(NodeKeyStore.describe(loaded.mode, root: root)))")
        sieveMemoryHasher = SieveMemoryHasher(secret: loaded.key.withBytes { bytes in
            HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: bytes), info: Array("sealbox sieve memory v1".utf8),
                                   outputByteCount: 32).withUnsafeBytes { Array($0) }
        })
        postgresDirectory = postgres
        if let postgres {
            directory = postgres
        } else {
            directory = try SQLiteDirectory(path: root + "/directory.sqlite", key: loaded.key)
        }
        queue = try SealedQueue(path: root + "/queue.sqlite", key: loaded.key)
        mailboxes = LocalMailboxService(storageRoot: root + "/mailboxes", directory: directory, queue: queue)
    }

    /// A 32-byte secret of the node in the data directory (`srs.key`, `webhook.key`): made on
    /// first use (0600, written atomically), read afterwards.
    static func loadOrCreateNodeKey(path: String) throws -> SecretBytes {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            let key = SecretBytes.random(count: 32)
            let tmp = path + ".tmp-\(getpid())"
            let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw Failure(description: "cannot create the node key at \(path)") }
            let written = key.withBytes { bytes in bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
            fsync(fd)
            Glibc.close(fd)
            guard written == 32, rename(tmp, path) == 0 else {
                unlink(tmp)
                throw Failure(description: "cannot write the node key at \(path)")
            }
        }
        guard let data = fm.contents(atPath: path), data.count == 32 else {
            throw Failure(description: "the node key at \(path) is unreadable or damaged")
        }
        return SecretBytes(Array(data))
    }

    /// Locks every open mailbox (drops keys) before the process ends.
    public func shutdown() async {
        await mailboxes.lockAll()
        await postgresDirectory?.shutdown()
    }
}

extension SealboxNode {
    /// Removes an alias and its passwords. An alias with a mailbox needs `purge`, which also deletes
    /// the mailbox file (with its -wal/-shm) and its queued mail. Returns what was deleted.
    public func removeAlias(_ address: EmailAddress, purge: Bool) async throws -> String {
        guard let alias = try await directory.alias(address: address) else {
            throw Failure(description: "no such alias: \(address)")
        }
        guard let mailboxID = alias.mailboxID else {
            try await directory.removeAlias(id: alias.id)
            return "removed alias \(alias.address)"
        }
        guard purge else {
            throw Failure(description: "\(alias.address) has a mailbox: `alias remove --purge` deletes it with its mail (this cannot be undone)")
        }
        // The file goes with the mailbox locked (a login waits); not while a session has it open.
        let removed = try await mailboxes.whileLocked(mailboxID: mailboxID) { () async throws -> (Int, [String]) in
            let queued = try await queue.count(mailboxID: mailboxID)
            let file = MailboxDatabase.filePath(storageRoot: dataDirectory + "/mailboxes", mailboxID: mailboxID)
            var deleted: [String] = []
            for suffix in [""] + MailboxDatabase.companionSuffixes where FileManager.default.fileExists(atPath: file + suffix) {
                try FileManager.default.removeItem(atPath: file + suffix)
                deleted.append((file + suffix).replacingOccurrences(of: dataDirectory + "/", with: ""))
            }
            try await queue.removeAll(mailboxID: mailboxID)
            try await directory.removeAlias(id: alias.id)
            return (queued, deleted)
        }
        guard let (queued, deleted) = removed else {
            throw Failure(description: "\(alias.address) has open sessions; try again when they have ended")
        }
        return (["removed alias \(alias.address) and its passwords"] + deleted.map { "deleted \($0)" }
            + ["deleted \(queued) queued message\(queued == 1 ? "" : "s")"]).joined(separator: "\n")
    }
}

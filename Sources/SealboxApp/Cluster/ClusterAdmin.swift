import ClusterRegistry
import ClusterRPC
import Crypto
import Directory
import Foundation
import Logging
import MailboxAPI
import MailCore
import MailStore
import Synchronization

/// A storage node's administration in a cluster (`StorageNodeAdmin`, served over the RPC): it
/// makes the mailboxes the placement puts here and moves its mailboxes to other nodes.
///
/// A move (`moveOut`, on the owner): no new claim (deliveries get 451, logins NO [UNAVAILABLE]
/// and retry), every session ended, the mailbox locked; its files and queued mail are copied to
/// the target, which checks each file's size and SHA-256 and puts them in place; only then the
/// lease moves (the placement names the target, the fencing token grows); then this node's copy is
/// deleted. Nothing is copied before the deliveries that claimed the mailbox just before the move
/// have committed to the queue, nor before a drain cut off by the lock has finished its queue
/// removal (`evicting`). A failure before the lease moves undoes the target's copy and leaves the
/// mailbox here.
public final class ClusterAdmin: StorageNodeAdmin {
    let node: SealboxNode
    let leases: StorageLeases
    let registry: any ClusterRegistry
    let pool: RPCClientPool
    let name: String
    let liveWithin: TimeInterval
    let logger: Logger
    let transfers = Mutex<[UInt64: Transfer]>([:])
    static let chunk = 1 << 20

    struct Transfer: Sendable {
        var mailboxID: String
        var files: [MovedFile]
        var paths: [String]
        var written: [Int64]
        var queueSequence: Int64
        var blobs: [[UInt8]] = []
        var installed = false
    }

    init(node: SealboxNode, leases: StorageLeases, registry: any ClusterRegistry, pool: RPCClientPool, name: String, liveWithin: TimeInterval, logger: Logger) {
        self.node = node; self.leases = leases; self.registry = registry; self.pool = pool; self.name = name
        self.liveWithin = liveWithin; self.logger = logger
    }

    // MARK: - Placement of new mailboxes

    /// Where a new mailbox goes: the node named, else the live active storage node with the most
    /// free space. nil: here; else made there over the RPC.
    func place(alias: AliasRecord, label: String?, node requested: String?) async throws -> (password: String, record: PasswordRecord)? {
        let chosen: NodeRecord
        do { chosen = try await registry.chooseNode(named: requested, liveWithin: liveWithin) } catch let error as ClusterRegistryError {
            throw MailStoreError(.unavailable, error.message)
        }
        guard chosen.id != name else { return nil }
        guard let endpoint = RegistryRouter.endpoint(chosen) else { throw MailStoreError(.unavailable, "node \(chosen.name) has no RPC address") }
        let made = try await RemoteStorageNodeAdmin(client: pool.client(endpoint)).createMailbox(aliasID: alias.id, label: label)
        guard let record = try await node.directory.passwords(aliasID: alias.id).first(where: { $0.id == made.passwordID }) else {
            throw MailStoreError(.unavailable, "node \(chosen.name) made the mailbox but its password entry is not in the directory")
        }
        logger.notice("mailbox placed on another storage node", metadata: ["alias": "\(alias.id)", "node": "\(chosen.name)"])
        return (made.password, record)
    }

    public func createMailbox(aliasID: String, label: String?) async throws -> (password: String, passwordID: String) {
        guard let alias = try await node.directory.alias(id: aliasID) else { throw MailStoreError(.noMailbox, "no such alias") }
        let (password, record) = try await node.mailboxes.createMailboxHere(for: alias, label: label)
        return (password, record.id)
    }

    // MARK: - Moving a mailbox away

    public func moveOut(mailboxID: String, target: String) async throws -> String {
        guard target != name else { throw MailStoreError(.unavailable, "the mailbox is on \(name) already") }
        let now = try await registry.currentTime(), nodes = try await registry.nodes()
        guard let to = nodes.first(where: { $0.name == target }) else { throw MailStoreError(.unavailable, "no node named \(target)") }
        guard to.role.holdsMailboxes, to.state != .stopped, to.isLive(now: now, window: liveWithin), let endpoint = RegistryRouter.endpoint(to) else {
            throw MailStoreError(.unavailable, "node \(target) is not a live storage node")
        }
        guard try await registry.placement(mailboxID: mailboxID)?.nodeID == name else {
            throw MailStoreError(.unavailable, "the mailbox is not on \(name)")
        }
        try await leases.claim(mailboxID: mailboxID)
        leases.setMoving(mailboxID, true)
        defer { leases.setMoving(mailboxID, false) }
        // No delivery claims it from now on; one that claimed it a moment ago commits to the
        // queue before the queue is copied.
        try await node.mailboxes.waitForQueueWriters(mailboxID: mailboxID)
        let remote = RemoteStorageNodeAdmin(client: pool.client(endpoint))
        let started = ContinuousClock.now
        let summary = try await node.mailboxes.evicting(mailboxID: mailboxID) { () async throws -> String in
            let files = try node.mailboxes.lockedFiles(mailboxID: mailboxID)
            let queued = try await node.mailboxes.queuedBlobs(mailboxID: mailboxID)
            let sequence = try await node.queue.lastSeq()
            let handle = try await remote.receiveBegin(mailboxID: mailboxID, files: files.map { MovedFile(suffix: $0.suffix, size: $0.size, sha256: $0.sha256) },
                                                       queueSequence: sequence)
            do {
                for (index, file) in files.enumerated() {
                    guard let handleFile = FileHandle(forReadingAtPath: file.path) else { throw MailStoreError(.noMailbox, "cannot read the mailbox file") }
                    defer { try? handleFile.close() }
                    var offset: Int64 = 0
                    while let piece = try handleFile.read(upToCount: Self.chunk), !piece.isEmpty {
                        try await remote.receiveChunk(handle, file: index, offset: offset, bytes: Array(piece))
                        offset += Int64(piece.count)
                    }
                }
                var batch: [[UInt8]] = [], batchBytes = 0
                for entry in queued {
                    batch.append(entry.blob); batchBytes += entry.blob.count
                    if batchBytes >= Self.chunk { try await remote.receiveQueued(handle, blobs: batch); batch = []; batchBytes = 0 }
                }
                if !batch.isEmpty { try await remote.receiveQueued(handle, blobs: batch) }
                try await remote.receiveCommit(handle)
                try await leases.handOver(mailboxID: mailboxID, to: to.id)
            } catch {
                await remote.receiveAbort(handle)
                throw error
            }
            // Nothing can reach this node's queue for the mailbox after the copy (claims fail while
            // it moves, and the placement names the target after): this should find nothing, and
            // sends what it finds rather than delete it with the queue below.
            let late = try await node.mailboxes.queuedBlobs(mailboxID: mailboxID, after: queued.last?.seq ?? 0)
            try await remote.receiveLate(mailboxID: mailboxID, blobs: late.map(\.blob))
            try await node.mailboxes.removeMoved(mailboxID: mailboxID)
            let bytes = files.reduce(Int64(0)) { $0 + $1.size }
            return "moved mailbox \(mailboxID) from \(name) to \(target): \(bytes) bytes in \(files.count) file(s), "
                + "\(queued.count + late.count) queued message(s)"
        }
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
        logger.notice("mailbox moved", metadata: ["mailbox": "\(mailboxID)", "to": "\(target)", "seconds": "\(String(format: "%.2f", seconds))"])
        return summary + String(format: " (%.2f s)", seconds)
    }

    // MARK: - Receiving a mailbox

    var receiving: String { node.mailboxes.storageRoot + "/.receiving" }

    public func receiveBegin(mailboxID: String, files: [MovedFile], queueSequence: Int64) async throws -> UInt64 {
        try ClusterRegistryRules.validateMailboxID(mailboxID)
        guard !files.isEmpty, files[0].suffix == "", files.count <= 1 + MailboxDatabase.companionSuffixes.count,
              files.allSatisfy({ ([""] + MailboxDatabase.companionSuffixes).contains($0.suffix) && $0.size >= 0 }) else {
            throw MailStoreError(.unavailable, "a move names unexpected files")
        }
        guard !leases.mayCommit(mailboxID: mailboxID) else { throw MailStoreError(.unavailable, "the mailbox is on \(name) already") }
        try FileManager.default.createDirectory(atPath: receiving, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var handle: UInt64 = 0
        repeat { handle = UInt64.random(in: 1 ... .max) } while transfers.withLock({ $0[handle] != nil })
        var paths: [String] = []
        for index in files.indices {
            let path = receiving + "/\(handle)-\(index)"
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw MailStoreError(.unavailable, "cannot write a received mailbox file")
            }
            paths.append(path)
        }
        transfers.withLock { $0[handle] = Transfer(mailboxID: mailboxID, files: files, paths: paths, written: files.map { _ in 0 }, queueSequence: queueSequence) }
        return handle
    }

    func transfer(_ handle: UInt64) throws -> Transfer {
        guard let t = transfers.withLock({ $0[handle] }) else { throw MailStoreError(.unavailable, "no such transfer") }
        return t
    }

    public func receiveChunk(_ handle: UInt64, file: Int, offset: Int64, bytes: [UInt8]) async throws {
        let t = try transfer(handle)
        guard t.files.indices.contains(file), offset == t.written[file], offset + Int64(bytes.count) <= t.files[file].size else {
            throw MailStoreError(.unavailable, "a move sent a piece out of order")
        }
        guard let out = FileHandle(forWritingAtPath: t.paths[file]) else { throw MailStoreError(.unavailable, "cannot write a received mailbox file") }
        defer { try? out.close() }
        try out.seekToEnd()
        try out.write(contentsOf: Data(bytes))
        transfers.withLock { $0[handle]?.written[file] += Int64(bytes.count) }
    }

    public func receiveQueued(_ handle: UInt64, blobs: [[UInt8]]) async throws {
        _ = try transfer(handle)
        transfers.withLock { $0[handle]?.blobs += blobs }
    }

    public func receiveCommit(_ handle: UInt64) async throws {
        let t = try transfer(handle)
        for (index, file) in t.files.enumerated() {
            let (size, digest) = try LocalMailboxService.sha256(ofFile: t.paths[index])
            guard size == file.size, digest == file.sha256 else {
                throw MailStoreError(.unavailable, "a moved file does not match its checksum: nothing was changed")
            }
            let fd = open(t.paths[index], O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
        }
        try await node.mailboxes.installMoved(mailboxID: t.mailboxID, files: Dictionary(uniqueKeysWithValues: t.files.indices.map { (t.files[$0].suffix, t.paths[$0]) }))
        try await node.mailboxes.enqueueMoved(mailboxID: t.mailboxID, blobs: t.blobs, queueSequence: t.queueSequence)
        transfers.withLock { $0[handle]?.installed = true }
    }

    public func receiveAbort(_ handle: UInt64) async {
        guard let t = transfers.withLock({ $0.removeValue(forKey: handle) }) else { return }
        for path in t.paths { try? FileManager.default.removeItem(atPath: path) }
        // Put in place but the lease never came: this node must not keep a second copy.
        let owner = (try? await registry.placement(mailboxID: t.mailboxID))??.nodeID
        if t.installed, !leases.mayCommit(mailboxID: t.mailboxID), owner != name {
            try? await node.mailboxes.removeMoved(mailboxID: t.mailboxID)
        }
    }

    public func receiveLate(mailboxID: String, blobs: [[UInt8]]) async throws {
        try await node.mailboxes.enqueueMoved(mailboxID: mailboxID, blobs: blobs, queueSequence: nil)
        transfers.withLock { all in all = all.filter { $0.value.mailboxID != mailboxID } }
    }
}

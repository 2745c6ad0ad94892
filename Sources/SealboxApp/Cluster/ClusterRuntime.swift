import ClusterRegistry
import ClusterRPC
import Directory
import Foundation
import Logging
import MailboxAPI
import MailCore
import MailStore
import NIOCore
import PostgresDirectory
import ServiceLifecycle

/// A node's part in a cluster (issue 19; `node.role` storage or frontend), made by `serve` before
/// the services: the registry on the PostgreSQL directory, the node's registration, the RPC clients
/// to the storage nodes, and on a storage node its leases and RPC listener. The one place these
/// are wired; `SealboxServer.buildServices` takes it.
public final class ClusterRuntime: Sendable {
    public let role: NodeRole
    /// This node's name and id in the registry.
    public let name: String
    public let dataDirectory: String
    public let directory: PostgresDirectory
    public let registry: PostgresClusterRegistry
    public let pool: RPCClientPool
    /// The mailbox service over the RPC, routed by the registry: what a frontend's protocol servers
    /// use, and a storage node's local deliveries (a bounce or forward to a mailbox of another node).
    public let remote: RemoteMailboxService
    public let secrets: ClusterSecrets
    /// A storage node's leases (nil on a frontend).
    public let leases: StorageLeases?
    /// A storage node's administration: placement of new mailboxes, moves (nil on a frontend).
    public let admin: ClusterAdmin?
    let tls: ClusterTLS
    let settings: ClusterSettings
    /// Whether `directory` is this runtime's to close (a frontend's; a storage node's belongs to its `SealboxNode`).
    let ownsDirectory: Bool

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Joins the cluster: `node` is the storage node's opened data directory (nil on a frontend,
    /// which connects to `directory.url` itself). Registers the node; a storage node then leases the
    /// mailbox files it holds that no other node owns (a single machine's mailboxes after `sealbox
    /// directory copy`).
    public static func join(configuration c: SealboxConfiguration, node: SealboxNode?, logger: Logger) async throws -> ClusterRuntime {
        let settings = c.cluster
        guard settings.role != .all else { throw Failure(description: "node.role = all is one machine, not a cluster node") }
        guard let urlText = c.directory.url else {
            throw Failure(description: "node.role = \(settings.role.rawValue) needs directory.url (the cluster's PostgreSQL directory)")
        }
        guard let tls = try settings.tls(), let secret = try settings.secret() else {
            throw Failure(description: "node.role = \(settings.role.rawValue) needs cluster.certificate, cluster.key, cluster.ca and cluster.secretFile")
        }
        let name = try settings.nodeName()
        let directory: PostgresDirectory, owns: Bool
        if let postgres = node?.postgresDirectory {
            directory = postgres; owns = false
        } else {
            let url: PostgresURL
            do { url = try PostgresURL(urlText) } catch { throw Failure(description: "directory.url: \(error)") }
            directory = try await PostgresDirectory.connect(PostgresDirectory.Configuration(url: url))
            owns = true
        }
        let registry = PostgresClusterRegistry(directory: directory)
        var rpcAddress = ""
        if settings.role == .storage {
            guard let listen = settings.listen else { throw Failure(description: "node.role = storage needs cluster.listen") }
            let advertise = settings.advertise ?? listen
            guard !["0.0.0.0", "::"].contains(advertise.host), advertise.port != 0 else {
                throw Failure(description: "cluster.listen \(listen.host):\(listen.port) is not an address frontends can dial: set cluster.advertise HOST:PORT")
            }
            rpcAddress = advertise.host.contains(":") ? "[\(advertise.host)]:\(advertise.port)" : "\(advertise.host):\(advertise.port)"
        }
        do {
            _ = try await registry.register(NodeRegistration(id: name, name: name, rpcAddress: rpcAddress, role: settings.role))
        } catch {
            if owns { await directory.shutdown() }
            throw Failure(description: "cannot register node \(name) in the cluster: \(error)")
        }
        var rpc = RPCClient.Configuration()
        rpc.requestTimeout = settings.requestTimeout
        let pool = RPCClientPool(tls: tls, configuration: rpc, logger: logger)
        let liveWithin = Double(settings.leaseSeconds)
        let remote = RemoteMailboxService(router: RegistryRouter(directory: directory, registry: registry, liveWithin: liveWithin), pool: pool)
        var leases: StorageLeases?, admin: ClusterAdmin?
        if settings.role == .storage, let node {
            let keeper = StorageLeases(registry: registry, nodeID: name, ttl: Double(settings.leaseSeconds), sharedStorage: settings.sharedStorage, logger: logger)
            node.mailboxes.ownership = keeper
            let mailboxes = node.mailboxes
            keeper.onLost = { mailboxID in await mailboxes.closeLost(mailboxID: mailboxID) }
            leases = keeper
            let administration = ClusterAdmin(node: node, leases: keeper, registry: registry, pool: pool, name: name, liveWithin: liveWithin, logger: logger)
            node.mailboxes.placeNewMailbox = { alias, label, named in try await administration.place(alias: alias, label: label, node: named) }
            admin = administration
        }
        let runtime = ClusterRuntime(role: settings.role, name: name, dataDirectory: node?.dataDirectory ?? c.node.dataDirectory, directory: directory,
                                     registry: registry, pool: pool, remote: remote, secrets: ClusterSecrets(secret), leases: leases, admin: admin, tls: tls,
                                     settings: settings, ownsDirectory: owns)
        node?.cluster = runtime
        if let leases, let node { await runtime.adopt(node: node, leases: leases, logger: logger) }
        return runtime
    }

    init(role: NodeRole, name: String, dataDirectory: String, directory: PostgresDirectory, registry: PostgresClusterRegistry, pool: RPCClientPool,
         remote: RemoteMailboxService, secrets: ClusterSecrets, leases: StorageLeases?, admin: ClusterAdmin?, tls: ClusterTLS, settings: ClusterSettings,
         ownsDirectory: Bool) {
        self.role = role; self.name = name; self.dataDirectory = dataDirectory; self.directory = directory; self.registry = registry
        self.pool = pool; self.remote = remote; self.secrets = secrets; self.leases = leases; self.admin = admin; self.tls = tls; self.settings = settings
        self.ownsDirectory = ownsDirectory
    }

    /// Leases every mailbox file of the data directory that is placed here or nowhere yet.
    func adopt(node: SealboxNode, leases: StorageLeases, logger: Logger) async {
        var adopted = 0, elsewhere = 0
        for mailboxID in Self.mailboxFiles(storageRoot: node.mailboxes.storageRoot) {
            do {
                try await leases.claim(mailboxID: mailboxID)
                adopted += 1
            } catch {
                elsewhere += 1
            }
        }
        logger.notice("cluster: storage node joined", metadata: ["node": "\(name)", "mailboxes.leased": "\(adopted)", "mailboxes.elsewhere": "\(elsewhere)"])
        await forwardStranded(node: node, logger: logger)
    }

    /// Mail in this node's queue for mailboxes another node owns now (taken over while this node
    /// was away, or moved): handed to the owner, then dropped here.
    func forwardStranded(node: SealboxNode, logger: Logger) async {
        guard let leases, let withMail = try? await node.queue.mailboxesWithMail() else { return }
        var forwarded = 0
        for mailboxID in withMail where !leases.mayCommit(mailboxID: mailboxID) {
            guard let placement = try? await registry.placement(mailboxID: mailboxID), placement.nodeID != name,
                  let owner = try? await registry.node(id: placement.nodeID), let endpoint = RegistryRouter.endpoint(owner) else { continue }
            do {
                let blobs = try await node.mailboxes.queuedBlobs(mailboxID: mailboxID)
                guard let last = blobs.last else { continue }
                try await RemoteStorageNodeAdmin(client: pool.client(endpoint)).receiveLate(mailboxID: mailboxID, blobs: blobs.map(\.blob))
                try await node.queue.remove(mailboxID: mailboxID, through: last.seq)
                forwarded += blobs.count
            } catch {
                logger.warning("cannot hand queued mail to its mailbox's storage node yet", metadata: ["mailbox": "\(mailboxID)", "node": "\(owner.name)"])
            }
        }
        if forwarded > 0 { logger.notice("queued mail handed to the mailboxes' storage nodes", metadata: ["messages": "\(forwarded)"]) }
    }

    /// The ids of the mailbox files under `storageRoot` (`<2 hex>/<32 hex>.sqlite`).
    static func mailboxFiles(storageRoot: String) -> [String] {
        let fm = FileManager.default
        var ids: [String] = []
        for shard in (try? fm.contentsOfDirectory(atPath: storageRoot)) ?? [] where shard.utf8.count == 2 {
            for file in (try? fm.contentsOfDirectory(atPath: storageRoot + "/" + shard)) ?? [] where file.hasSuffix(".sqlite") {
                let id = String(file.dropLast(".sqlite".count))
                if (try? ClusterRegistryRules.validateMailboxID(id)) != nil { ids.append(id) }
            }
        }
        return ids.sorted()
    }

    /// The cluster's services: the heartbeat (and lease renewal), and on a storage node the RPC
    /// listener serving `node`'s mailboxes. `onBound` hears the RPC listener's address.
    /// `sessions`: the client sessions open on this node now.
    public func services(node: SealboxNode?, sessions: @escaping @Sendable () -> Int, logger: Logger,
                         onBound: @escaping @Sendable (String, SocketAddress) -> Void) throws -> [any Service] {
        let period = Duration.milliseconds(Int64(settings.leaseSeconds) * 1000 / 3)
        let leases = self.leases
        let stats: @Sendable () async -> [String: Int64] = {
            var stats: [String: Int64] = [NodeStats.sessions: Int64(sessions())]
            if let node {
                stats[NodeStats.unlocked] = Int64(await node.mailboxes.unlockedCount())
                if let inbound = try? await node.queue.inboundSummary() { stats[NodeStats.queueInbound] = Int64(inbound.reduce(0) { $0 + $1.count }) }
                if let outbound = try? await node.queue.outboundSummary() { stats[NodeStats.queueOutbound] = Int64(outbound.reduce(0) { $0 + $1.count }) }
            }
            if let leases { stats[NodeStats.leased] = Int64(leases.leased.count) }
            return stats
        }
        let storageRoot = node?.mailboxes.storageRoot, ttl = Double(settings.leaseSeconds)
        let afterBeat: @Sendable () async -> Void = { [self] in
            guard let leases, let storageRoot, let node else { return }
            await leases.takeOverExpired(silentAfter: ttl) { FileManager.default.fileExists(atPath: MailboxDatabase.filePath(storageRoot: storageRoot, mailboxID: $0)) }
            await forwardStranded(node: node, logger: logger)
        }
        var services: [any Service] = [ClusterMembership(registry: registry, nodeID: name, volume: dataDirectory, leases: leases, period: period,
                                                         stats: stats, afterBeat: afterBeat, logger: logger)]
        if role == .storage, let node, let listen = settings.listen {
            let server = ClusterRPCServer(configuration: .init(host: listen.host, port: listen.port, tls: tls), service: node.mailboxes, admin: admin, logger: logger)
            services.append(try server.makeService { address in onBound("cluster-rpc", address) })
        }
        return services
    }

    /// Moves the mailbox of `address` to the storage node named `target` (asking its owner, this
    /// node or another, to do it). Returns the owner's summary.
    public func move(address: EmailAddress, to target: String) async throws -> String {
        guard let alias = try await directory.alias(address: address), let mailboxID = alias.mailboxID else {
            throw MailStoreError(.noMailbox, "\(address) has no mailbox")
        }
        guard let placement = try await registry.placement(mailboxID: mailboxID) else {
            throw MailStoreError(.unavailable, "\(address)'s mailbox is on no storage node yet (start the node that holds its file)")
        }
        if placement.nodeID == name, let admin { return try await admin.moveOut(mailboxID: mailboxID, target: target) }
        guard let owner = try await registry.node(id: placement.nodeID), let endpoint = RegistryRouter.endpoint(owner) else {
            throw MailStoreError(.unavailable, "\(address)'s mailbox is on node \(placement.nodeID), which is not registered")
        }
        return try await RemoteStorageNodeAdmin(client: pool.client(endpoint)).moveOut(mailboxID: mailboxID, target: target)
    }

    /// Whether this storage node owns the mailbox now (its backups cover only its own).
    public func owns(mailboxID: String) async -> Bool {
        (try? await registry.placement(mailboxID: mailboxID))?.nodeID == name
    }

    /// A clean stop, after the services ended: `node`'s mailboxes are locked first (closing one
    /// still writes: the purge of its expunged messages, under the lease), then the leases are
    /// released, the node is marked `stopped`, and the RPC connections (and a frontend's directory
    /// connection) close.
    public func shutdown(node: SealboxNode?) async {
        await node?.mailboxes.lockAll()
        await leases?.releaseAll()
        await ClusterMembership(registry: registry, nodeID: name, volume: dataDirectory, leases: nil, period: .seconds(1),
                                logger: Logger(label: "sealbox")).beat(state: .stopped)
        await pool.closeAll()
        if ownsDirectory { await directory.shutdown() }
    }
}

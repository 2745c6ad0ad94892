import ClusterRegistry
import Foundation
import Logging
import MailboxAPI
import MailStore
import ServiceLifecycle
import Synchronization

/// A storage node's leases on the mailboxes it writes (issue 19): `LocalMailboxService` asks
/// `claim` before it opens a mailbox or queues mail for it, and each write transaction asks
/// `mayCommit` (no I/O) before it commits.
///
/// - A mailbox placed on this node, or on none yet, is leased here on first use.
/// - A mailbox placed on another node is refused (`MailStoreError(.unavailable)`: the frontend asks
///   the registry again), except with shared storage (`cluster.sharedStorage`) once the owner's lease
///   has expired: then this node takes it over (the fencing token grows; the old owner's commits fail).
/// - Leases are renewed together every third of their time (`run`); a commit needs at least
///   `margin` of its lease left, so a node that cannot renew (PostgreSQL away) stops writing
///   before the lease ends and another node could take the mailbox.
/// - How much of a lease is left is counted on this process's monotonic clock from the moment the
///   request that took or renewed it was sent, never from the registry's expiry time: the
///   registry set that from its own clock after it received the request, so the node's count ends
///   first, whether its wall clock is behind the registry's, ahead of it, or is stepped meanwhile.
public final class StorageLeases: MailboxOwnership {
    /// A lease held, and when this node stops counting on it (monotonic).
    struct Held {
        var lease: MailboxLease
        var until: ContinuousClock.Instant
        /// `lease` counted for `ttl` from `sent`, the moment its request left.
        init(_ lease: MailboxLease, sent: ContinuousClock.Instant, ttl: TimeInterval) {
            self.lease = lease; until = sent.advanced(by: .seconds(ttl))
        }
        func left() -> Duration { until - ContinuousClock.now }
    }

    public let registry: any ClusterRegistry
    public let nodeID: String
    public let ttl: TimeInterval
    public let sharedStorage: Bool
    let margin: TimeInterval
    let logger: Logger
    let held = Mutex<[String: Held]>([:])
    /// Told of each mailbox whose lease is lost for good (the node closes it: another node owns it).
    let lostValue = Mutex<(@Sendable (String) async -> Void)?>(nil)
    public var onLost: (@Sendable (String) async -> Void)? {
        get { lostValue.withLock { $0 } }
        set { lostValue.withLock { $0 = newValue } }
    }
    /// Mailboxes moving away: no new claim (deliveries and logins go elsewhere or wait).
    let moving = Mutex<Set<String>>([])

    public init(registry: any ClusterRegistry, nodeID: String, ttl: TimeInterval, sharedStorage: Bool, logger: Logger) {
        self.registry = registry; self.nodeID = nodeID; self.ttl = ttl; self.sharedStorage = sharedStorage; self.logger = logger
        margin = max(1, ttl / 6)
    }

    public func mayCommit(mailboxID: String) -> Bool {
        held.withLock { $0[mailboxID] }.map { $0.left() > .seconds(margin) } ?? false
    }

    func hold(_ lease: MailboxLease, sent: ContinuousClock.Instant) {
        held.withLock { $0[lease.mailboxID] = Held(lease, sent: sent, ttl: ttl) }
    }

    public func claim(mailboxID: String) async throws {
        try await claim(mailboxID: mailboxID, restoring: false)
    }

    /// `claim`, for a mailbox being restored here from a backup (`backup restore --to-node`): a
    /// mailbox of another node is taken once that node's lease has expired, even without shared
    /// storage (its copy there is lost or out of reach; the restored one replaces it).
    public func adoptForRestore(mailboxID: String) async throws {
        try await claim(mailboxID: mailboxID, restoring: true)
    }

    func claim(mailboxID: String, restoring: Bool) async throws {
        if moving.withLock({ $0.contains(mailboxID) }) { throw MailStoreError(.unavailable, "the mailbox is moving to another storage node") }
        if let lease = held.withLock({ $0[mailboxID] }), lease.left() > .seconds(ttl / 2) { return }
        var from: String?
        do {
            if let placement = try await registry.placement(mailboxID: mailboxID), placement.nodeID != nodeID {
                // Whether the owner's lease has expired is the registry's to say (its clock):
                // `acquireLease` refuses one that has not.
                guard sharedStorage || restoring else { throw MailStoreError(.unavailable, "the mailbox is on another storage node") }
                from = placement.nodeID
            }
            let sent = ContinuousClock.now
            let lease = try await registry.acquireLease(mailboxID: mailboxID, nodeID: nodeID, ttl: ttl)
            hold(lease, sent: sent)
            if let from {
                logger.notice("took over a mailbox whose owner's lease expired", metadata: ["mailbox": "\(mailboxID)", "from": "\(from)"])
            }
        } catch let error as MailStoreError {
            throw error
        } catch let error as ClusterRegistryError {
            if error.code == .leaseHeld, restoring, let from {
                throw MailStoreError(.unavailable, "node \(from) still holds the mailbox's lease: it is alive (use `mailbox move`) or its lease has not expired yet")
            }
            throw MailStoreError(.unavailable, error.code == .leaseHeld ? "the mailbox is leased to another storage node" : "the node registry refused the lease")
        } catch {
            throw MailStoreError(.unavailable, "the node registry cannot be reached")
        }
    }

    /// Marks the mailbox as moving away (claims fail) or no longer (`false`).
    func setMoving(_ mailboxID: String, _ on: Bool) {
        moving.withLock { m in if on { m.insert(mailboxID) } else { m.remove(mailboxID) } }
    }

    /// Gives the mailbox to node `target`: this node's lease is released and the target's taken
    /// (the placement moves, the token grows). This node writes it no more.
    func handOver(mailboxID: String, to target: String) async throws {
        guard let lease = held.withLock({ $0[mailboxID] })?.lease else { throw MailStoreError(.unavailable, "this node does not hold the mailbox's lease") }
        held.withLock { $0[mailboxID] = nil }
        do {
            try await registry.releaseLease(lease)
            _ = try await registry.acquireLease(mailboxID: mailboxID, nodeID: target, ttl: ttl)
        } catch {
            // Not moved: take it back if it is still free (the caller undoes the copy).
            _ = try? await claimAfterFailedHandOver(mailboxID)
            throw MailStoreError(.unavailable, "the lease did not move: \(error)")
        }
    }

    private func claimAfterFailedHandOver(_ mailboxID: String) async throws {
        let sent = ContinuousClock.now
        let lease = try await registry.acquireLease(mailboxID: mailboxID, nodeID: nodeID, ttl: ttl)
        hold(lease, sent: sent)
    }

    /// The mailboxes leased here now.
    public var leased: [String] { held.withLock { Array($0.keys) }.sorted() }

    /// Renews every lease in one registry call; a lease the registry no longer has for this node is
    /// taken again when the mailbox is still placed here (the registry was away too long), else dropped.
    public func renew() async {
        let mine = held.withLock { $0.mapValues(\.lease) }
        guard !mine.isEmpty else { return }
        let renewed: [MailboxLease]
        let sent = ContinuousClock.now
        do {
            renewed = try await registry.renewLeases(nodeID: nodeID, ttl: ttl)
        } catch {
            logger.warning("cannot renew the mailbox leases (the registry cannot be reached): writes stop before they expire",
                           metadata: ["error": "\(type(of: error))"])
            return
        }
        let byID = Dictionary(renewed.map { ($0.mailboxID, $0) }, uniquingKeysWith: { a, _ in a })
        held.withLock { h in
            for (id, lease) in byID where h[id]?.lease.token == lease.token { h[id] = Held(lease, sent: sent, ttl: ttl) }
        }
        for (id, lease) in mine where byID[id]?.token != lease.token {
            held.withLock { h in if h[id]?.lease.token == lease.token { h[id] = nil } }
            do {
                try await claim(mailboxID: id)
                logger.notice("mailbox lease taken again after it lapsed", metadata: ["mailbox": "\(id)"])
            } catch {
                logger.warning("mailbox lease lost: this node no longer writes it", metadata: ["mailbox": "\(id)"])
                await onLost?(id)
            }
        }
    }

    /// With shared storage: takes over the mailboxes whose owner has gone silent (no heartbeat within
    /// `silentAfter`) and whose lease has expired, when their file is on the shared volume
    /// (`fileExists`). Other live nodes race for them; the registry gives each to one. Returns how
    /// many were taken here.
    @discardableResult
    public func takeOverExpired(silentAfter: TimeInterval, fileExists: (String) -> Bool) async -> Int {
        guard sharedStorage else { return 0 }
        guard let now = try? await registry.currentTime(), let nodes = try? await registry.nodes(),
              let placements = try? await registry.placements() else { return 0 }
        let silent = Set(nodes.filter { $0.id != nodeID && (!$0.isLive(now: now, window: silentAfter) || $0.state == .stopped) }.map(\.id))
        var taken = 0
        for p in placements where silent.contains(p.nodeID) && (p.lease.map { $0.expires <= now } ?? true) && fileExists(p.mailboxID) {
            do {
                try await claim(mailboxID: p.mailboxID)
                taken += 1
            } catch {
                continue
            }
        }
        if taken > 0 { logger.notice("took over mailboxes of silent storage nodes", metadata: ["mailboxes": "\(taken)"]) }
        return taken
    }

    /// Releases every lease (a clean stop: another node with shared storage may take the mailboxes at once).
    public func releaseAll() async {
        let mine = held.withLock { h in defer { h = [:] }; return h.values.map(\.lease) }
        for lease in mine { try? await registry.releaseLease(lease) }
    }
}

/// A node's membership of the cluster while it serves: a heartbeat (free space of its mailbox
/// volume) and, on a storage node, the lease renewal, every third of the lease time (a clean stop
/// releases the leases and marks the node `stopped`: `ClusterRuntime.shutdown`).
public struct ClusterMembership: Service {
    public let registry: any ClusterRegistry
    public let nodeID: String
    /// The volume whose space is reported (the data directory).
    public let volume: String
    public let leases: StorageLeases?
    public let period: Duration
    /// The counts sent with each heartbeat (`NodeStats`).
    public let stats: @Sendable () async -> [String: Int64]
    /// Run after each heartbeat (a storage node's takeovers).
    public let afterBeat: @Sendable () async -> Void
    public let logger: Logger

    public init(registry: any ClusterRegistry, nodeID: String, volume: String, leases: StorageLeases?, period: Duration,
                stats: @escaping @Sendable () async -> [String: Int64] = { [:] }, afterBeat: @escaping @Sendable () async -> Void = {},
                logger: Logger) {
        self.registry = registry; self.nodeID = nodeID; self.volume = volume; self.leases = leases; self.period = period
        self.stats = stats; self.afterBeat = afterBeat; self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await beat(state: nil)
                await leases?.renew()
                await afterBeat()
                do { try await Task.sleep(for: period) } catch { break }
            }
        }
        // The leases are released by `ClusterRuntime.shutdown`, after the node has locked its
        // mailboxes: closing a mailbox still writes (the purge of expunged messages), which the
        // commit fence allows only while the lease is held.
    }

    public func beat(state: NodeState?) async {
        let space = DiskSpaceGuard.statfs(volume)
        do {
            try await registry.heartbeat(nodeID: nodeID, freeBytes: space?.free ?? 0, capacityBytes: space?.total ?? 0, stats: await stats(),
                                         state: state)
        } catch {
            logger.warning("cluster heartbeat failed", metadata: ["error": "\(type(of: error))"])
        }
    }
}

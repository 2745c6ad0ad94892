import Foundation
import Synchronization

/// What a node does in a cluster (`node.role`).
public enum NodeRole: String, Sendable, Hashable, CaseIterable {
    /// Everything in one process (`sealbox serve` alone).
    case all
    /// Owns mailbox files: the single writer of each mailbox it holds a lease on.
    case storage
    /// IMAP, POP3, the MX, submission and HTTP; no durable state.
    case frontend

    /// Whether mailboxes may be placed on a node of this role.
    public var holdsMailboxes: Bool { self != .frontend }
}

/// A node's state as it reports it.
public enum NodeState: String, Sendable, Hashable, CaseIterable {
    /// Serving; a storage node in this state takes new mailboxes.
    case active
    /// Serving what it has, taking no new mailboxes (before a planned stop or while mailboxes move away).
    case draining
    /// Stopped cleanly (a node that died says nothing: its heartbeat gets old).
    case stopped
}

/// What a node registers: who it is and where its RPC listens.
public struct NodeRegistration: Sendable, Hashable {
    /// Stable id of the node (its certificate's name or a random id kept in its data directory).
    public var id: String
    /// A name for operators (`--to NODE`), unique in the cluster.
    public var name: String
    /// `host:port` of its RPC listener (empty for a frontend, which serves no RPC).
    public var rpcAddress: String
    public var role: NodeRole

    public init(id: String, name: String, rpcAddress: String, role: NodeRole) {
        self.id = id; self.name = name; self.rpcAddress = rpcAddress; self.role = role
    }
}

/// A node as the registry holds it.
public struct NodeRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    public var rpcAddress: String
    public var role: NodeRole
    public var state: NodeState
    /// Free bytes on its mailbox volume, and the volume's size, as of its last heartbeat.
    public var freeBytes: Int64
    public var capacityBytes: Int64
    public var registered: Date
    public var lastHeartbeat: Date
    /// What the node counted at its last heartbeat (`NodeStats`: sessions, unlocked mailboxes, queue depths).
    public var stats: [String: Int64]

    public init(id: String, name: String, rpcAddress: String, role: NodeRole, state: NodeState, freeBytes: Int64, capacityBytes: Int64,
                registered: Date, lastHeartbeat: Date, stats: [String: Int64] = [:]) {
        self.id = id; self.name = name; self.rpcAddress = rpcAddress; self.role = role; self.state = state
        self.freeBytes = freeBytes; self.capacityBytes = capacityBytes; self.registered = registered; self.lastHeartbeat = lastHeartbeat
        self.stats = stats
    }

    /// Heard from within `window` of `now`.
    public func isLive(now: Date, window: TimeInterval) -> Bool { now.timeIntervalSince(lastHeartbeat) <= window }
}

/// A node's right to write one mailbox until `expires` (the registry's time). `token` is the fencing token: it grows by
/// one each time the lease passes to a holder (a first acquisition, a takeover, a re-acquisition
/// after a release), never goes back, and a writer proves with it, before each commit, that no
/// one took the mailbox since (`ClusterRegistry.isLeaseValid`).
public struct MailboxLease: Sendable, Hashable {
    public var mailboxID: String
    public var nodeID: String
    public var token: Int64
    public var expires: Date

    public init(mailboxID: String, nodeID: String, token: Int64, expires: Date) {
        self.mailboxID = mailboxID; self.nodeID = nodeID; self.token = token; self.expires = expires
    }
}

/// Where a mailbox lives: the storage node that owns it, and its lease (nil when released; it may
/// have expired).
public struct MailboxPlacement: Sendable, Hashable {
    public var mailboxID: String
    public var nodeID: String
    public var lease: MailboxLease?

    public init(mailboxID: String, nodeID: String, lease: MailboxLease?) {
        self.mailboxID = mailboxID; self.nodeID = nodeID; self.lease = lease
    }
}

/// Why a registry operation was refused.
public struct ClusterRegistryError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Code: String, Sendable, Hashable {
        case noSuchNode
        /// Another node registered under this name.
        case nameInUse
        /// Another node holds an unexpired lease on the mailbox.
        case leaseHeld
        /// The lease is no longer this holder's (expired and taken, released, or a newer token).
        case leaseLost
        /// No live storage node can take a new mailbox.
        case noStorageNode
        /// A malformed id, name, address, TTL or size.
        case invalid
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}

/// The node registry and the mailbox leases of a cluster (issue 19): storage nodes register and
/// send heartbeats; each mailbox is owned by one storage node, which writes to it only while it
/// holds an unexpired lease, proving with the lease's fencing token before each commit that it is
/// still the holder, so two nodes never write the same file.
///
/// Time is the registry's own (PostgreSQL's `clock_timestamp()`, the process's clock for the
/// in-memory one): it stamps heartbeats and sets and compares lease expiries, so nodes whose clocks
/// disagree never disagree on whether a lease has expired. A holder does not read the registry's
/// time: it counts its lease from the moment it sent the request, on its own monotonic clock
/// (`StorageLeases`), which ends before the registry's expiry whatever the wall clocks say.
/// Safety does not rest on clocks either way: a takeover raises the token, and the old holder's next
/// `isLeaseValid` or renewal fails.
public protocol ClusterRegistry: Sendable {
    /// Adds the node, or updates its name, address and role (same id): state `active`.
    /// `nameInUse` when another id has this name; `invalid` for malformed values.
    /// The registry's time now: what heartbeats and lease expiries are stamped with and compared to.
    func currentTime() async throws -> Date
    func register(_ node: NodeRegistration) async throws -> NodeRecord
    /// Records that the node is alive with this much space and these counts (`NodeStats`, replacing
    /// the last ones); `state` replaces its state when given. `noSuchNode`; `invalid` for bad stats.
    func heartbeat(nodeID: String, freeBytes: Int64, capacityBytes: Int64, stats: [String: Int64], state: NodeState?) async throws
    /// Every node, sorted by name.
    func nodes() async throws -> [NodeRecord]
    func node(id: String) async throws -> NodeRecord?
    /// Removes a node that owns no mailbox (`invalid` when it still owns some).
    func removeNode(id: String) async throws

    /// The node that owns the mailbox and its lease, or nil for an unplaced mailbox.
    func placement(mailboxID: String) async throws -> MailboxPlacement?
    /// The mailboxes a node owns, sorted.
    func mailboxes(onNode nodeID: String) async throws -> [String]
    /// The node a new mailbox goes to: the node named `name` (any live storage-capable node), else
    /// the live `active` storage node with the most free bytes. Live: a heartbeat within
    /// `liveWithin` of the registry's time. `noStorageNode` when none; `noSuchNode` for an unknown name.
    func chooseNode(named name: String?, liveWithin: TimeInterval) async throws -> NodeRecord

    /// Takes the mailbox's lease for `nodeID` for `ttl` from now: a new lease (token + 1) when the
    /// mailbox is unplaced, released, or its lease has expired (a takeover: the owner becomes
    /// `nodeID`); the same lease extended when `nodeID` already holds it. `leaseHeld` while another
    /// node holds an unexpired lease; `noSuchNode` for an unregistered node.
    func acquireLease(mailboxID: String, nodeID: String, ttl: TimeInterval) async throws -> MailboxLease
    /// Extends the lease (same token) to `ttl` from now. `leaseLost` unless the lease is still this
    /// holder's with this token and unexpired.
    func renewLease(_ lease: MailboxLease, ttl: TimeInterval) async throws -> MailboxLease
    /// Extends every unexpired lease `nodeID` holds to `ttl` from now (same tokens), in
    /// one step: a storage node's renewal tick. Returns the leases renewed (those missing were lost).
    func renewLeases(nodeID: String, ttl: TimeInterval) async throws -> [MailboxLease]
    /// Every placed mailbox with its lease, sorted by mailbox id (`sealbox cluster status`).
    func placements() async throws -> [MailboxPlacement]
    /// Gives the lease up (the owner stays recorded; the next acquisition gets token + 1).
    /// Nothing happens when the lease is no longer this holder's.
    func releaseLease(_ lease: MailboxLease) async throws
    /// The lease is still `nodeID`'s with `token` and unexpired.
    func isLeaseValid(mailboxID: String, nodeID: String, token: Int64) async throws -> Bool
}

/// How far a registry's clock is moved from its own: zero but in tests, which move it forward
/// (`advance`) to let a lease expire or a node fall silent without waiting.
public final class RegistryClockOffset: Sendable {
    private let seconds = Mutex<TimeInterval>(0)
    public init() {}
    public var value: TimeInterval { seconds.withLock { $0 } }
    public func advance(by interval: TimeInterval) { seconds.withLock { $0 += interval } }
}

/// Checks shared by the implementations.
public enum ClusterRegistryRules {
    public static let maxIDLength = 64
    public static let maxNameLength = 64
    public static let maxAddressLength = 255
    /// Leases last between one second and a day.
    public static let ttlRange: ClosedRange<TimeInterval> = 1...86_400

    public static func validate(_ node: NodeRegistration) throws(ClusterRegistryError) {
        guard isToken(node.id, max: maxIDLength) else {
            throw ClusterRegistryError(.invalid, "a node id is 1 to \(maxIDLength) letters, digits, '-', '_' or '.'")
        }
        guard isToken(node.name, max: maxNameLength) else {
            throw ClusterRegistryError(.invalid, "a node name is 1 to \(maxNameLength) letters, digits, '-', '_' or '.'")
        }
        guard node.rpcAddress.utf8.count <= maxAddressLength,
              !node.rpcAddress.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) else {
            throw ClusterRegistryError(.invalid, "an RPC address is host:port, at most \(maxAddressLength) printable ASCII characters")
        }
    }

    public static func validateMailboxID(_ id: String) throws(ClusterRegistryError) {
        guard id.utf8.count == 32, id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw ClusterRegistryError(.invalid, "a mailbox id is 32 lower-case hex digits")
        }
    }

    public static func validateTTL(_ ttl: TimeInterval) throws(ClusterRegistryError) {
        guard ttlRange.contains(ttl) else { throw ClusterRegistryError(.invalid, "a lease lasts 1 s to 1 day") }
    }

    public static func validateSpace(free: Int64, capacity: Int64) throws(ClusterRegistryError) {
        guard free >= 0, capacity >= 0 else { throw ClusterRegistryError(.invalid, "free bytes and capacity cannot be negative") }
    }

    static func isToken(_ text: String, max: Int) -> Bool {
        (1...max).contains(text.utf8.count) && text.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
    }

    /// The choice both implementations make from the node list.
    public static func choose(_ nodes: [NodeRecord], named name: String?, now: Date, liveWithin: TimeInterval) throws(ClusterRegistryError) -> NodeRecord {
        if let name {
            guard let node = nodes.first(where: { $0.name == name }) else { throw ClusterRegistryError(.noSuchNode, "no node named \(name)") }
            guard node.role.holdsMailboxes, node.state != .stopped, node.isLive(now: now, window: liveWithin) else {
                throw ClusterRegistryError(.noStorageNode, "node \(name) is not a live storage node")
            }
            return node
        }
        let candidates = nodes.filter { $0.role.holdsMailboxes && $0.state == .active && $0.isLive(now: now, window: liveWithin) }
        guard let best = candidates.max(by: { ($0.freeBytes, $1.name) < ($1.freeBytes, $0.name) }) else {
            throw ClusterRegistryError(.noStorageNode, "no live storage node can take a new mailbox")
        }
        return best
    }

    /// Milliseconds, as every implementation stores times.
    public static func normalized(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}

/// The counts a node reports with its heartbeat (`sealbox cluster status`), as text in the registry:
/// `key=value` pairs joined by `,`; keys are lower-case letters and dots, values integers.
public enum NodeStats {
    public static let sessions = "sessions"
    public static let unlocked = "mailboxes.unlocked"
    public static let leased = "mailboxes.leased"
    public static let queueInbound = "queue.inbound"
    public static let queueOutbound = "queue.outbound"
    public static let maxKeys = 16

    public static func encode(_ stats: [String: Int64]) throws(ClusterRegistryError) -> String {
        guard stats.count <= maxKeys, stats.keys.allSatisfy(isKey) else {
            throw ClusterRegistryError(.invalid, "node stats: at most \(maxKeys) keys of lower-case letters and dots")
        }
        return stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// What `encode` wrote; anything else is left out.
    public static func decode(_ text: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for pair in text.split(separator: ",").prefix(maxKeys) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, isKey(String(parts[0])), let value = Int64(parts[1]) { out[String(parts[0])] = value }
        }
        return out
    }

    static func isKey(_ key: String) -> Bool {
        (1...40).contains(key.utf8.count) && key.utf8.allSatisfy { (0x61...0x7A).contains($0) || $0 == 0x2E }
    }
}

extension ClusterRegistry {
    /// A heartbeat without counts.
    public func heartbeat(nodeID: String, freeBytes: Int64, capacityBytes: Int64, state: NodeState?) async throws {
        try await heartbeat(nodeID: nodeID, freeBytes: freeBytes, capacityBytes: capacityBytes, stats: [:], state: state)
    }

    public func isLeaseValid(_ lease: MailboxLease) async throws -> Bool {
        try await isLeaseValid(mailboxID: lease.mailboxID, nodeID: lease.nodeID, token: lease.token)
    }
}

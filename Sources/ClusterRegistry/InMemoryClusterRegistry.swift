import Foundation
import Synchronization

/// The registry in memory: for tests, and for one process (`--role all`) where the only node is
/// itself. The same rules as the PostgreSQL one.
public final class InMemoryClusterRegistry: ClusterRegistry {
    private struct Placement { var nodeID: String; var token: Int64; var holder: String?; var expires: Date? }
    private struct State { var nodes: [String: NodeRecord] = [:]; var placements: [String: Placement] = [:] }
    private let state = Mutex(State())

    /// Tests move the clock forward (`RegistryClockOffset.advance`).
    public let clockOffset: RegistryClockOffset

    public init(clockOffset: RegistryClockOffset = RegistryClockOffset()) { self.clockOffset = clockOffset }

    public func currentTime() async throws -> Date { registryNow() }

    private func registryNow() -> Date { ClusterRegistryRules.normalized(Date().addingTimeInterval(clockOffset.value)) }

    public func register(_ node: NodeRegistration) async throws -> NodeRecord {
        try ClusterRegistryRules.validate(node)
        let now = registryNow()
        return try state.withLock { (s: inout State) throws(ClusterRegistryError) -> NodeRecord in
            if s.nodes.values.contains(where: { $0.name == node.name && $0.id != node.id }) {
                throw ClusterRegistryError(.nameInUse, "another node is registered as \(node.name)")
            }
            var record = s.nodes[node.id] ?? NodeRecord(id: node.id, name: node.name, rpcAddress: node.rpcAddress, role: node.role, state: .active,
                                                        freeBytes: 0, capacityBytes: 0, registered: now, lastHeartbeat: now)
            record.name = node.name; record.rpcAddress = node.rpcAddress; record.role = node.role
            record.state = .active; record.lastHeartbeat = now
            s.nodes[node.id] = record
            return record
        }
    }

    public func heartbeat(nodeID: String, freeBytes: Int64, capacityBytes: Int64, stats: [String: Int64], state newState: NodeState?) async throws {
        try ClusterRegistryRules.validateSpace(free: freeBytes, capacity: capacityBytes)
        _ = try NodeStats.encode(stats)
        let now = registryNow()
        try state.withLock { (s: inout State) throws(ClusterRegistryError) in
            guard var record = s.nodes[nodeID] else { throw ClusterRegistryError(.noSuchNode, "no node \(nodeID)") }
            record.freeBytes = freeBytes; record.capacityBytes = capacityBytes; record.stats = stats
            record.lastHeartbeat = now
            if let newState { record.state = newState }
            s.nodes[nodeID] = record
        }
    }

    public func nodes() async throws -> [NodeRecord] {
        state.withLock { $0.nodes.values.sorted { $0.name < $1.name } }
    }

    public func node(id: String) async throws -> NodeRecord? { state.withLock { $0.nodes[id] } }

    public func removeNode(id: String) async throws {
        try state.withLock { (s: inout State) throws(ClusterRegistryError) in
            guard s.nodes[id] != nil else { throw ClusterRegistryError(.noSuchNode, "no node \(id)") }
            let owned = s.placements.values.filter { $0.nodeID == id }.count
            guard owned == 0 else { throw ClusterRegistryError(.invalid, "node \(id) still owns \(owned) mailboxes; move them first") }
            s.nodes[id] = nil
        }
    }

    public func placement(mailboxID: String) async throws -> MailboxPlacement? {
        state.withLock { s in
            s.placements[mailboxID].map { p in
                MailboxPlacement(mailboxID: mailboxID, nodeID: p.nodeID, lease: p.holder.map {
                    MailboxLease(mailboxID: mailboxID, nodeID: $0, token: p.token, expires: p.expires!)
                })
            }
        }
    }

    public func mailboxes(onNode nodeID: String) async throws -> [String] {
        state.withLock { s in s.placements.filter { $0.value.nodeID == nodeID }.map(\.key).sorted() }
    }

    public func chooseNode(named name: String?, liveWithin: TimeInterval) async throws -> NodeRecord {
        let now = registryNow()
        return try state.withLock { (s: inout State) throws(ClusterRegistryError) -> NodeRecord in
            try ClusterRegistryRules.choose(Array(s.nodes.values), named: name, now: now, liveWithin: liveWithin)
        }
    }

    public func acquireLease(mailboxID: String, nodeID: String, ttl: TimeInterval) async throws -> MailboxLease {
        try ClusterRegistryRules.validateMailboxID(mailboxID)
        try ClusterRegistryRules.validateTTL(ttl)
        let now = registryNow(), expires = ClusterRegistryRules.normalized(now.addingTimeInterval(ttl))
        return try state.withLock { (s: inout State) throws(ClusterRegistryError) -> MailboxLease in
            guard s.nodes[nodeID] != nil else { throw ClusterRegistryError(.noSuchNode, "no node \(nodeID)") }
            var p = s.placements[mailboxID] ?? Placement(nodeID: nodeID, token: 0, holder: nil, expires: nil)
            if let holder = p.holder, let until = p.expires, until > now {
                guard holder == nodeID else {
                    throw ClusterRegistryError(.leaseHeld, "mailbox \(mailboxID) is leased to node \(holder) until \(until)")
                }
            } else {
                p.token += 1
            }
            p.holder = nodeID; p.nodeID = nodeID; p.expires = expires
            s.placements[mailboxID] = p
            return MailboxLease(mailboxID: mailboxID, nodeID: nodeID, token: p.token, expires: expires)
        }
    }

    public func renewLease(_ lease: MailboxLease, ttl: TimeInterval) async throws -> MailboxLease {
        try ClusterRegistryRules.validateTTL(ttl)
        let now = registryNow(), expires = ClusterRegistryRules.normalized(now.addingTimeInterval(ttl))
        return try state.withLock { (s: inout State) throws(ClusterRegistryError) -> MailboxLease in
            guard var p = s.placements[lease.mailboxID], p.holder == lease.nodeID, p.token == lease.token, let until = p.expires, until > now else {
                throw ClusterRegistryError(.leaseLost, "the lease on mailbox \(lease.mailboxID) is no longer node \(lease.nodeID)'s")
            }
            p.expires = expires
            s.placements[lease.mailboxID] = p
            var renewed = lease
            renewed.expires = expires
            return renewed
        }
    }

    public func renewLeases(nodeID: String, ttl: TimeInterval) async throws -> [MailboxLease] {
        try ClusterRegistryRules.validateTTL(ttl)
        let now = registryNow(), expires = ClusterRegistryRules.normalized(now.addingTimeInterval(ttl))
        return state.withLock { s in
            var renewed: [MailboxLease] = []
            for (id, var p) in s.placements where p.holder == nodeID {
                guard let until = p.expires, until > now else { continue }
                p.expires = expires
                s.placements[id] = p
                renewed.append(MailboxLease(mailboxID: id, nodeID: nodeID, token: p.token, expires: expires))
            }
            return renewed.sorted { $0.mailboxID < $1.mailboxID }
        }
    }

    public func placements() async throws -> [MailboxPlacement] {
        state.withLock { s in
            s.placements.map { id, p in
                MailboxPlacement(mailboxID: id, nodeID: p.nodeID, lease: p.holder.flatMap { h in
                    p.expires.map { MailboxLease(mailboxID: id, nodeID: h, token: p.token, expires: $0) }
                })
            }.sorted { $0.mailboxID < $1.mailboxID }
        }
    }

    public func releaseLease(_ lease: MailboxLease) async throws {
        state.withLock { s in
            guard var p = s.placements[lease.mailboxID], p.holder == lease.nodeID, p.token == lease.token else { return }
            p.holder = nil; p.expires = nil
            s.placements[lease.mailboxID] = p
        }
    }

    public func isLeaseValid(mailboxID: String, nodeID: String, token: Int64) async throws -> Bool {
        let now = registryNow()
        return state.withLock { s in
            guard let p = s.placements[mailboxID], p.holder == nodeID, p.token == token, let until = p.expires else { return false }
            return until > now
        }
    }
}

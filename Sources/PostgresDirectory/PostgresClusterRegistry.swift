import ClusterRegistry
import Foundation
import PostgresNIO

/// The cluster registry in the directory's PostgreSQL database (tables `cluster_node` and
/// `mailbox_placement`, migration "v2-cluster-registry"), over the directory's connection pool.
///
/// Each lease operation is one transaction that locks the mailbox's placement row (`FOR UPDATE`,
/// or the insert's unique key for a new mailbox), so of two nodes racing for a lease exactly one
/// wins, and the fencing token (`lease_token`) only grows. Heartbeats and lease renewals and
/// releases set columns to values (running one twice leaves what running it once a moment later
/// would), so one that meets a connection PostgreSQL has ended (a restart) runs again on another
/// rather than failing a renewal.
///
/// Every time is PostgreSQL's (`clock_timestamp()`, moved by `clockOffset` in tests), set and
/// compared in the statement itself: two nodes whose clocks disagree still agree on when a lease
/// expires.
public final class PostgresClusterRegistry: ClusterRegistry {
    let directory: PostgresDirectory
    /// Tests move the clock forward (`RegistryClockOffset.advance`).
    public let clockOffset: RegistryClockOffset

    /// Uses `directory`'s pool; the directory's migrations created the tables.
    public init(directory: PostgresDirectory, clockOffset: RegistryClockOffset = RegistryClockOffset()) {
        self.directory = directory; self.clockOffset = clockOffset
    }

    public func currentTime() async throws -> Date {
        let row = try await directory.query("SELECT clock_timestamp() + \(clockOffset.value) * interval '1 second'").first
        guard let row else { throw ClusterRegistryError(.invalid, "PostgreSQL gave no time") }
        return ClusterRegistryRules.normalized(try row.decode(Date.self))
    }

    static let nodeColumns = "id, name, rpc_address, role, state, free_bytes, capacity_bytes, registered, last_heartbeat, stats"

    public func register(_ node: NodeRegistration) async throws -> NodeRecord {
        try ClusterRegistryRules.validate(node)
        let offset = clockOffset.value
        do {
            return try await directory.transaction { tx in
                if let other = try await tx.query("SELECT id FROM cluster_node WHERE name = \(node.name) AND id <> \(node.id)").first {
                    throw ClusterRegistryError(.nameInUse, "another node (\(try other.decode(String.self))) is registered as \(node.name)")
                }
                let rows = try await tx.query("""
                    INSERT INTO cluster_node (id, name, rpc_address, role, state, registered, last_heartbeat)
                    VALUES (\(node.id), \(node.name), \(node.rpcAddress), \(node.role.rawValue), 'active',
                            clock_timestamp() + \(offset) * interval '1 second', clock_timestamp() + \(offset) * interval '1 second')
                    ON CONFLICT (id) DO UPDATE SET name = excluded.name, rpc_address = excluded.rpc_address, role = excluded.role,
                        state = 'active', last_heartbeat = excluded.last_heartbeat
                    RETURNING \(unescaped: Self.nodeColumns)
                    """)
                guard let row = rows.first else { throw ClusterRegistryError(.noSuchNode, "node \(node.id) was not recorded") }
                return try Self.nodeRecord(row)
            }
        } catch where PostgresDirectory.isUniqueViolation(error) {
            throw ClusterRegistryError(.nameInUse, "another node is registered as \(node.name)")
        }
    }

    public func heartbeat(nodeID: String, freeBytes: Int64, capacityBytes: Int64, stats: [String: Int64], state: NodeState?) async throws {
        try ClusterRegistryRules.validateSpace(free: freeBytes, capacity: capacityBytes)
        let statsText = try NodeStats.encode(stats)
        let rows = try await directory.query("""
            UPDATE cluster_node SET free_bytes = \(freeBytes), capacity_bytes = \(capacityBytes), stats = \(statsText),
                last_heartbeat = clock_timestamp() + \(clockOffset.value) * interval '1 second', state = coalesce(\(state?.rawValue), state)
            WHERE id = \(nodeID) RETURNING 1
            """, idempotent: true)
        if rows.isEmpty { throw ClusterRegistryError(.noSuchNode, "no node \(nodeID)") }
    }

    public func nodes() async throws -> [NodeRecord] {
        try await directory.query("SELECT \(unescaped: Self.nodeColumns) FROM cluster_node ORDER BY name").map(Self.nodeRecord)
    }

    public func node(id: String) async throws -> NodeRecord? {
        try await directory.query("SELECT \(unescaped: Self.nodeColumns) FROM cluster_node WHERE id = \(id)").first.map(Self.nodeRecord)
    }

    public func removeNode(id: String) async throws {
        try await directory.transaction { tx in
            guard try await tx.exists("SELECT 1 FROM cluster_node WHERE id = \(id) FOR UPDATE") else {
                throw ClusterRegistryError(.noSuchNode, "no node \(id)")
            }
            let owned = try await tx.query("SELECT count(*) FROM mailbox_placement WHERE node_id = \(id) OR lease_holder = \(id)").first?.decode(Int.self) ?? 0
            guard owned == 0 else { throw ClusterRegistryError(.invalid, "node \(id) still owns \(owned) mailboxes; move them first") }
            try await tx.query("DELETE FROM cluster_node WHERE id = \(id)")
        }
    }

    public func placement(mailboxID: String) async throws -> MailboxPlacement? {
        let row = try await directory.query("""
            SELECT node_id, lease_token, lease_holder, lease_expires FROM mailbox_placement WHERE mailbox_id = \(mailboxID)
            """).first
        guard let row else { return nil }
        let (nodeID, token, holder, expires) = try row.decode((String, Int64, String?, Date?).self)
        let lease = holder.flatMap { h in
            expires.map { MailboxLease(mailboxID: mailboxID, nodeID: h, token: token, expires: ClusterRegistryRules.normalized($0)) }
        }
        return MailboxPlacement(mailboxID: mailboxID, nodeID: nodeID, lease: lease)
    }

    public func mailboxes(onNode nodeID: String) async throws -> [String] {
        try await directory.query("SELECT mailbox_id FROM mailbox_placement WHERE node_id = \(nodeID) ORDER BY mailbox_id").map {
            try $0.decode(String.self)
        }
    }

    public func chooseNode(named name: String?, liveWithin: TimeInterval) async throws -> NodeRecord {
        let now = try await currentTime()
        return try ClusterRegistryRules.choose(try await nodes(), named: name, now: now, liveWithin: liveWithin)
    }

    public func acquireLease(mailboxID: String, nodeID: String, ttl: TimeInterval) async throws -> MailboxLease {
        try ClusterRegistryRules.validateMailboxID(mailboxID)
        try ClusterRegistryRules.validateTTL(ttl)
        let offset = clockOffset.value
        return try await directory.transaction { tx in
            guard try await tx.exists("SELECT 1 FROM cluster_node WHERE id = \(nodeID) FOR SHARE") else {
                throw ClusterRegistryError(.noSuchNode, "no node \(nodeID)")
            }
            // A new mailbox: the first insert wins; the loser finds the row below (locked).
            try await tx.query("""
                INSERT INTO mailbox_placement (mailbox_id, node_id, lease_token) VALUES (\(mailboxID), \(nodeID), 0)
                ON CONFLICT (mailbox_id) DO NOTHING
                """)
            guard let row = try await tx.query("""
                SELECT lease_token, lease_holder, lease_expires, lease_expires > clock_timestamp() + \(offset) * interval '1 second'
                FROM mailbox_placement WHERE mailbox_id = \(mailboxID) FOR UPDATE
                """).first else { throw ClusterRegistryError(.leaseLost, "mailbox \(mailboxID) has no placement") }
            var (token, holder, until, unexpired) = try row.decode((Int64, String?, Date?, Bool?).self)
            if let holder, let until, unexpired == true {
                guard holder == nodeID else {
                    throw ClusterRegistryError(.leaseHeld, "mailbox \(mailboxID) is leased to node \(holder) until \(until)")
                }
            } else {
                token += 1
            }
            let expires = try await tx.query("""
                UPDATE mailbox_placement SET node_id = \(nodeID), lease_holder = \(nodeID), lease_token = \(token),
                    lease_expires = clock_timestamp() + \(offset + ttl) * interval '1 second'
                WHERE mailbox_id = \(mailboxID) RETURNING lease_expires
                """).first?.decode(Date.self)
            guard let expires else { throw ClusterRegistryError(.leaseLost, "mailbox \(mailboxID) has no placement") }
            return MailboxLease(mailboxID: mailboxID, nodeID: nodeID, token: token, expires: ClusterRegistryRules.normalized(expires))
        }
    }

    public func renewLease(_ lease: MailboxLease, ttl: TimeInterval) async throws -> MailboxLease {
        try ClusterRegistryRules.validateTTL(ttl)
        let offset = clockOffset.value
        // Run twice (a lost connection), the second finds the lease extended and extends it again
        // from a later now: what the first would have done a moment later.
        let rows = try await directory.query("""
            UPDATE mailbox_placement SET lease_expires = clock_timestamp() + \(offset + ttl) * interval '1 second'
            WHERE mailbox_id = \(lease.mailboxID) AND lease_holder = \(lease.nodeID) AND lease_token = \(lease.token)
                AND lease_expires > clock_timestamp() + \(offset) * interval '1 second'
            RETURNING lease_expires
            """, idempotent: true)
        guard let row = rows.first else {
            throw ClusterRegistryError(.leaseLost, "the lease on mailbox \(lease.mailboxID) is no longer node \(lease.nodeID)'s")
        }
        var renewed = lease
        renewed.expires = ClusterRegistryRules.normalized(try row.decode(Date.self))
        return renewed
    }

    public func renewLeases(nodeID: String, ttl: TimeInterval) async throws -> [MailboxLease] {
        try ClusterRegistryRules.validateTTL(ttl)
        let offset = clockOffset.value
        return try await directory.query("""
            UPDATE mailbox_placement SET lease_expires = clock_timestamp() + \(offset + ttl) * interval '1 second'
            WHERE node_id = \(nodeID) AND lease_holder = \(nodeID) AND lease_expires > clock_timestamp() + \(offset) * interval '1 second'
            RETURNING mailbox_id, lease_token, lease_expires
            """, idempotent: true).map { row in
                let (id, token, expires) = try row.decode((String, Int64, Date).self)
                return MailboxLease(mailboxID: id, nodeID: nodeID, token: token, expires: ClusterRegistryRules.normalized(expires))
            }.sorted { $0.mailboxID < $1.mailboxID }
    }

    public func placements() async throws -> [MailboxPlacement] {
        try await directory.query("""
            SELECT mailbox_id, node_id, lease_token, lease_holder, lease_expires FROM mailbox_placement ORDER BY mailbox_id
            """).map { row in
                let (id, nodeID, token, holder, expires) = try row.decode((String, String, Int64, String?, Date?).self)
                let lease = holder.flatMap { h in
                    expires.map { MailboxLease(mailboxID: id, nodeID: h, token: token, expires: ClusterRegistryRules.normalized($0)) }
                }
                return MailboxPlacement(mailboxID: id, nodeID: nodeID, lease: lease)
            }
    }

    public func releaseLease(_ lease: MailboxLease) async throws {
        try await directory.query("""
            UPDATE mailbox_placement SET lease_holder = NULL, lease_expires = NULL
            WHERE mailbox_id = \(lease.mailboxID) AND lease_holder = \(lease.nodeID) AND lease_token = \(lease.token)
            """, idempotent: true)
    }

    public func isLeaseValid(mailboxID: String, nodeID: String, token: Int64) async throws -> Bool {
        try await !directory.query("""
            SELECT 1 FROM mailbox_placement
            WHERE mailbox_id = \(mailboxID) AND lease_holder = \(nodeID) AND lease_token = \(token)
                AND lease_expires > clock_timestamp() + \(clockOffset.value) * interval '1 second'
            """).isEmpty
    }

    static func nodeRecord(_ row: PostgresRow) throws -> NodeRecord {
        let (id, name, address, role, state, free, capacity, registered, heartbeat, stats) =
            try row.decode((String, String, String, String, String, Int64, Int64, Date, Date, String).self)
        guard let role = NodeRole(rawValue: role), let state = NodeState(rawValue: state) else {
            throw ClusterRegistryError(.invalid, "unreadable node record \(id)")
        }
        return NodeRecord(id: id, name: name, rpcAddress: address, role: role, state: state, freeBytes: free, capacityBytes: capacity,
                          registered: ClusterRegistryRules.normalized(registered), lastHeartbeat: ClusterRegistryRules.normalized(heartbeat),
                          stats: NodeStats.decode(stats))
    }
}

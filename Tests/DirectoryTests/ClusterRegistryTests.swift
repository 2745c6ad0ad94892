import ClusterRegistry
import Foundation
import PostgresDirectory
import TestSupport
import Testing

/// The registry implementations every registry test runs against.
enum RegistryBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case postgres
    var testDescription: String { rawValue }

    /// A fresh registry, and (PostgreSQL) a second one on its own pool over the same database: two
    /// nodes' views of the cluster.
    func make() async throws -> (any ClusterRegistry, any ClusterRegistry, cleanup: @Sendable () async -> Void) {
        switch self {
        case .memory:
            let registry = InMemoryClusterRegistry()
            return (registry, registry, {})
        case .postgres:
            let server = try await PostgresServer.shared()
            let database = try await server.createDatabase()
            var configuration = PostgresDirectory.Configuration(testURL: try PostgresURL(server.url(database: database)))
            configuration.maxConnections = 4
            let a = try await PostgresDirectory.connect(configuration)
            let b = try await PostgresDirectory.connect(configuration)
            return (PostgresClusterRegistry(directory: a), PostgresClusterRegistry(directory: b), { await a.shutdown(); await b.shutdown() })
        }
    }
}

@Suite("Cluster registry: nodes, placement, leases with fencing")
struct ClusterRegistryTests {
    static let t0 = Date(timeIntervalSince1970: 1_900_000_000)
    static let mailbox = "0123456789abcdef0123456789abcdef"

    func registerTwo(_ r: any ClusterRegistry) async throws {
        _ = try await r.register(NodeRegistration(id: "node-a", name: "a", rpcAddress: "127.0.0.2:7000", role: .storage), now: Self.t0)
        _ = try await r.register(NodeRegistration(id: "node-b", name: "b", rpcAddress: "127.0.0.3:7000", role: .storage), now: Self.t0)
    }

    @Test("register, heartbeat, list; a name belongs to one node; chooseNode picks the most free space or the named node", arguments: RegistryBackend.allCases)
    func nodes(_ backend: RegistryBackend) async throws {
        let (r, _, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        try await registerTwo(r)
        _ = try await r.register(NodeRegistration(id: "front-1", name: "f1", rpcAddress: "", role: .frontend), now: Self.t0)
        try await r.heartbeat(nodeID: "node-a", freeBytes: 100, capacityBytes: 1000, state: nil, now: Self.t0.addingTimeInterval(1))
        try await r.heartbeat(nodeID: "node-b", freeBytes: 500, capacityBytes: 1000, state: nil, now: Self.t0.addingTimeInterval(1))
        try await r.heartbeat(nodeID: "front-1", freeBytes: 9999, capacityBytes: 9999, state: nil, now: Self.t0.addingTimeInterval(1))
        let listed = try await r.nodes()
        #expect(listed.map(\.name) == ["a", "b", "f1"])
        #expect(listed[0].freeBytes == 100 && listed[0].capacityBytes == 1000 && listed[0].rpcAddress == "127.0.0.2:7000")
        #expect(listed[0].lastHeartbeat == Self.t0.addingTimeInterval(1))
        let now = Self.t0.addingTimeInterval(5)
        #expect(try await r.chooseNode(named: nil, now: now, liveWithin: 30).id == "node-b")
        #expect(try await r.chooseNode(named: "a", now: now, liveWithin: 30).id == "node-a")
        // Draining takes nothing new; a silent node is not live.
        try await r.heartbeat(nodeID: "node-b", freeBytes: 500, capacityBytes: 1000, state: .draining, now: now)
        #expect(try await r.chooseNode(named: nil, now: now, liveWithin: 30).id == "node-a")
        await #expect(throws: ClusterRegistryError.self) { try await r.chooseNode(named: nil, now: now.addingTimeInterval(100), liveWithin: 30) }
        await #expect(throws: ClusterRegistryError.self) { try await r.chooseNode(named: "f1", now: now, liveWithin: 30) }
        await #expect(throws: ClusterRegistryError(.noSuchNode, "no node named zz")) { try await r.chooseNode(named: "zz", now: now, liveWithin: 30) }
        // Names are unique; a re-registration keeps the id and updates the address.
        await #expect(throws: ClusterRegistryError.self) {
            try await r.register(NodeRegistration(id: "node-c", name: "a", rpcAddress: "x:1", role: .storage), now: now)
        }
        let again = try await r.register(NodeRegistration(id: "node-a", name: "a", rpcAddress: "127.0.0.9:7000", role: .storage), now: now)
        #expect(again.rpcAddress == "127.0.0.9:7000" && again.registered == Self.t0 && again.state == .active)
        await #expect(throws: ClusterRegistryError.self) { try await r.heartbeat(nodeID: "nope", freeBytes: 1, capacityBytes: 1, state: nil, now: now) }
        await #expect(throws: ClusterRegistryError.self) {
            try await r.register(NodeRegistration(id: "bad id", name: "x", rpcAddress: "", role: .storage), now: now)
        }
    }

    @Test("a lease: acquired with token 1, renewed, checked; another node waits for expiry, then takes over with a higher token; the old holder's renew and check fail", arguments: RegistryBackend.allCases)
    func leaseTakeover(_ backend: RegistryBackend) async throws {
        let (a, b, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        try await registerTwo(a)
        #expect(try await a.placement(mailboxID: Self.mailbox) == nil)
        let first = try await a.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 30, now: Self.t0)
        #expect(first.token == 1 && first.expires == Self.t0.addingTimeInterval(30))
        #expect(try await b.placement(mailboxID: Self.mailbox)?.nodeID == "node-a")
        #expect(try await b.mailboxes(onNode: "node-a") == [Self.mailbox])
        // Held: node b is refused until it expires.
        await #expect(throws: ClusterRegistryError.self) {
            try await b.acquireLease(mailboxID: Self.mailbox, nodeID: "node-b", ttl: 30, now: Self.t0.addingTimeInterval(10))
        }
        let renewed = try await a.renewLease(first, ttl: 30, now: Self.t0.addingTimeInterval(20))
        #expect(renewed.token == 1 && renewed.expires == Self.t0.addingTimeInterval(50))
        #expect(try await b.isLeaseValid(mailboxID: Self.mailbox, nodeID: "node-a", token: 1, now: Self.t0.addingTimeInterval(40)))
        // The same holder acquiring again keeps its token.
        #expect(try await a.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 30, now: Self.t0.addingTimeInterval(21)).token == 1)
        // Expired: node b takes over, the token grows, node a's renew and check fail.
        let later = Self.t0.addingTimeInterval(60)
        #expect(try await a.isLeaseValid(mailboxID: Self.mailbox, nodeID: "node-a", token: 1, now: later) == false)
        let taken = try await b.acquireLease(mailboxID: Self.mailbox, nodeID: "node-b", ttl: 30, now: later)
        #expect(taken.token == 2 && taken.nodeID == "node-b")
        #expect(try await a.placement(mailboxID: Self.mailbox)?.nodeID == "node-b")
        await #expect(throws: ClusterRegistryError(.leaseLost, "the lease on mailbox \(Self.mailbox) is no longer node node-a's")) {
            try await a.renewLease(renewed, ttl: 30, now: later)
        }
        #expect(try await a.isLeaseValid(mailboxID: Self.mailbox, nodeID: "node-a", token: 1, now: later) == false)
        #expect(try await a.isLeaseValid(taken, now: later.addingTimeInterval(1)))
        // A stale release does nothing; the holder's release frees it; the next acquisition gets token 3.
        try await a.releaseLease(renewed)
        #expect(try await a.isLeaseValid(taken, now: later.addingTimeInterval(1)))
        try await b.releaseLease(taken)
        #expect(try await a.placement(mailboxID: Self.mailbox)?.lease == nil)
        #expect(try await a.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 30, now: later.addingTimeInterval(2)).token == 3)
        // A node that owns mailboxes is not removed.
        await #expect(throws: ClusterRegistryError.self) { try await a.removeNode(id: "node-a") }
        await #expect(throws: ClusterRegistryError.self) {
            try await a.acquireLease(mailboxID: "not-an-id", nodeID: "node-a", ttl: 30, now: later)
        }
    }

    @Test("renewLeases renews every unexpired lease of a node in one call; placements lists all; heartbeat stats are kept", arguments: RegistryBackend.allCases)
    func bulkRenewalAndStats(_ backend: RegistryBackend) async throws {
        let (a, b, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        try await registerTwo(a)
        let ids = (1...3).map { String(format: "%032x", $0) }
        for id in ids { _ = try await a.acquireLease(mailboxID: id, nodeID: "node-a", ttl: 30, now: Self.t0) }
        _ = try await a.acquireLease(mailboxID: String(format: "%032x", 9), nodeID: "node-b", ttl: 30, now: Self.t0)
        #expect(try await a.renewLeases(nodeID: "node-a", ttl: 30, now: Self.t0.addingTimeInterval(20)).map(\.mailboxID) == ids)
        // Two leases are renewed on their own; the third lapses and is taken by b: a's next bulk
        // renewal returns only what is still a's.
        for id in ids.prefix(2) {
            _ = try await a.renewLease(MailboxLease(mailboxID: id, nodeID: "node-a", token: 1, expires: Self.t0.addingTimeInterval(50)),
                                       ttl: 30, now: Self.t0.addingTimeInterval(40))
        }
        let later = Self.t0.addingTimeInterval(51)
        _ = try await b.acquireLease(mailboxID: ids[2], nodeID: "node-b", ttl: 30, now: later)
        let renewed = try await a.renewLeases(nodeID: "node-a", ttl: 30, now: later)
        #expect(renewed.map(\.mailboxID) == Array(ids.prefix(2)))
        #expect(renewed.allSatisfy { $0.token == 1 && $0.expires == later.addingTimeInterval(30) })
        let all = try await b.placements()
        #expect(all.map(\.mailboxID) == ids + [String(format: "%032x", 9)])
        #expect(all.map(\.nodeID) == ["node-a", "node-a", "node-b", "node-b"])
        #expect(all[2].lease?.token == 2)
        try await a.heartbeat(nodeID: "node-a", freeBytes: 5, capacityBytes: 10, stats: [NodeStats.sessions: 3, NodeStats.queueInbound: 1],
                              state: nil, now: later)
        #expect(try await b.node(id: "node-a")?.stats == [NodeStats.sessions: 3, NodeStats.queueInbound: 1])
        await #expect(throws: ClusterRegistryError.self) {
            try await a.heartbeat(nodeID: "node-a", freeBytes: 5, capacityBytes: 10, stats: ["Bad Key": 1], state: nil, now: later)
        }
    }

    @Test("two registries racing for one lease: exactly one wins, every round", arguments: RegistryBackend.allCases)
    func race(_ backend: RegistryBackend) async throws {
        let (a, b, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        try await registerTwo(a)
        var lastToken: Int64 = 0
        for round in 0..<20 {
            let mailbox = String(format: "%032x", round % 4)
            // Each round starts after the previous lease expired: both may take it, one must.
            let now = Self.t0.addingTimeInterval(Double(round) * 100)
            let results = await withTaskGroup(of: MailboxLease?.self) { group in
                group.addTask { try? await a.acquireLease(mailboxID: mailbox, nodeID: "node-a", ttl: 50, now: now) }
                group.addTask { try? await b.acquireLease(mailboxID: mailbox, nodeID: "node-b", ttl: 50, now: now) }
                var all: [MailboxLease?] = []
                for await result in group { all.append(result) }
                return all
            }
            let winners = results.compactMap { $0 }
            #expect(winners.count == 1, "round \(round): \(winners)")
            guard let winner = winners.first else { continue }
            #expect(try await a.isLeaseValid(winner, now: now))
            if round >= 4 { #expect(winner.token > 1) }
            if round % 4 == 3 { lastToken = winner.token }
        }
        #expect(lastToken == 5)  // mailbox 3 was taken in rounds 3, 7, 11, 15, 19
    }

    @Test("PostgreSQL ends the registry's connections (a restart): heartbeats and lease renewals go on without an error")
    func renewalsSurviveEndedConnections() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.createDatabase()
        var configuration = PostgresDirectory.Configuration(testURL: try PostgresURL(server.url(database: database)))
        configuration.maxConnections = 4
        let directory = try await PostgresDirectory.connect(configuration)
        let registry = PostgresClusterRegistry(directory: directory)
        let now = Date()
        _ = try await registry.register(NodeRegistration(id: "node-a", name: "a", rpcAddress: "127.0.0.2:7000", role: .storage), now: now)
        let lease = try await registry.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 30, now: now)
        // Several pooled connections, then all of them ended by the server.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 { group.addTask { _ = try await registry.nodes() } }
            try await group.waitForAll()
        }
        for round in 1...3 {
            let killed = try await server.psql("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'sealbox' AND datname = '\(database)'
                """)
            #expect((Int(killed.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 1)
            let later = now.addingTimeInterval(Double(round))
            try await registry.heartbeat(nodeID: "node-a", freeBytes: 10, capacityBytes: 100, state: nil, now: later)
            let renewed = try await registry.renewLeases(nodeID: "node-a", ttl: 30, now: later)
            #expect(renewed.map(\.token) == [lease.token])
        }
        try await registry.releaseLease(lease)
        #expect(try await registry.placement(mailboxID: Self.mailbox)?.lease == nil)
        await directory.shutdown()
    }
}

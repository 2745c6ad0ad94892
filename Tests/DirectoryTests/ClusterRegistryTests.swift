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
    /// nodes' views of the cluster, sharing one clock offset (the test moves time forward with it).
    func make() async throws -> (any ClusterRegistry, any ClusterRegistry, RegistryClockOffset, cleanup: @Sendable () async -> Void) {
        let clock = RegistryClockOffset()
        switch self {
        case .memory:
            let registry = InMemoryClusterRegistry(clockOffset: clock)
            return (registry, registry, clock, {})
        case .postgres:
            let server = try await PostgresServer.shared()
            let database = try await server.createDatabase()
            var configuration = PostgresDirectory.Configuration(testURL: try PostgresURL(server.url(database: database)))
            configuration.maxConnections = 4
            let a = try await PostgresDirectory.connect(configuration)
            let b = try await PostgresDirectory.connect(configuration)
            return (PostgresClusterRegistry(directory: a, clockOffset: clock), PostgresClusterRegistry(directory: b, clockOffset: clock), clock,
                    { await a.shutdown(); await b.shutdown() })
        }
    }
}

/// Times are the registry's (`currentTime`), moved forward by the test in steps of `unit` (1,000 s)
/// so that a lease expires without waiting; a test starved of CPU for minutes on a busy machine
/// still sees the same order of events. `near` allows for the time the test itself takes.
@Suite("Cluster registry: nodes, placement, leases with fencing")
struct ClusterRegistryTests {
    static let unit: TimeInterval = 1_000
    static let mailbox = "0123456789abcdef0123456789abcdef"

    func near(_ date: Date?, _ expected: Date) -> Bool {
        guard let date else { return false }
        return date >= expected && date.timeIntervalSince(expected) < Self.unit / 2
    }

    func registerTwo(_ r: any ClusterRegistry) async throws {
        _ = try await r.register(NodeRegistration(id: "node-a", name: "a", rpcAddress: "127.0.0.2:7000", role: .storage))
        _ = try await r.register(NodeRegistration(id: "node-b", name: "b", rpcAddress: "127.0.0.3:7000", role: .storage))
    }

    @Test("register, heartbeat, list; a name belongs to one node; chooseNode picks the most free space or the named node", arguments: RegistryBackend.allCases)
    func nodes(_ backend: RegistryBackend) async throws {
        let (r, _, clock, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        let start = try await r.currentTime()
        try await registerTwo(r)
        let registered = try #require(try await r.node(id: "node-a")?.registered)
        #expect(near(registered, start))
        _ = try await r.register(NodeRegistration(id: "front-1", name: "f1", rpcAddress: "", role: .frontend))
        clock.advance(by: Self.unit)
        try await r.heartbeat(nodeID: "node-a", freeBytes: 100, capacityBytes: 1000, state: nil)
        try await r.heartbeat(nodeID: "node-b", freeBytes: 500, capacityBytes: 1000, state: nil)
        try await r.heartbeat(nodeID: "front-1", freeBytes: 9999, capacityBytes: 9999, state: nil)
        let listed = try await r.nodes()
        #expect(listed.map(\.name) == ["a", "b", "f1"])
        #expect(listed[0].freeBytes == 100 && listed[0].capacityBytes == 1000 && listed[0].rpcAddress == "127.0.0.2:7000")
        #expect(near(listed[0].lastHeartbeat, start.addingTimeInterval(Self.unit)))
        #expect(try await r.chooseNode(named: nil, liveWithin: Self.unit).id == "node-b")
        #expect(try await r.chooseNode(named: "a", liveWithin: Self.unit).id == "node-a")
        // Draining takes nothing new; a silent node is not live.
        try await r.heartbeat(nodeID: "node-b", freeBytes: 500, capacityBytes: 1000, state: .draining)
        #expect(try await r.chooseNode(named: nil, liveWithin: Self.unit).id == "node-a")
        await #expect(throws: ClusterRegistryError.self) { try await r.chooseNode(named: "f1", liveWithin: Self.unit) }
        await #expect(throws: ClusterRegistryError(.noSuchNode, "no node named zz")) { try await r.chooseNode(named: "zz", liveWithin: Self.unit) }
        clock.advance(by: 2 * Self.unit)
        await #expect(throws: ClusterRegistryError.self) { try await r.chooseNode(named: nil, liveWithin: Self.unit) }
        // Names are unique; a re-registration keeps the id and updates the address.
        await #expect(throws: ClusterRegistryError.self) {
            try await r.register(NodeRegistration(id: "node-c", name: "a", rpcAddress: "x:1", role: .storage))
        }
        let again = try await r.register(NodeRegistration(id: "node-a", name: "a", rpcAddress: "127.0.0.9:7000", role: .storage))
        #expect(again.rpcAddress == "127.0.0.9:7000" && again.registered == registered && again.state == .active)
        #expect(near(again.lastHeartbeat, start.addingTimeInterval(3 * Self.unit)))
        await #expect(throws: ClusterRegistryError.self) { try await r.heartbeat(nodeID: "nope", freeBytes: 1, capacityBytes: 1, state: nil) }
        await #expect(throws: ClusterRegistryError.self) {
            try await r.register(NodeRegistration(id: "bad id", name: "x", rpcAddress: "", role: .storage))
        }
    }

    @Test("a lease: acquired with token 1, renewed, checked; another node waits for expiry, then takes over with a higher token; the old holder's renew and check fail", arguments: RegistryBackend.allCases)
    func leaseTakeover(_ backend: RegistryBackend) async throws {
        let (a, b, clock, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        let u = Self.unit, start = try await a.currentTime()
        try await registerTwo(a)
        #expect(try await a.placement(mailboxID: Self.mailbox) == nil)
        let first = try await a.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 3 * u)
        #expect(first.token == 1 && near(first.expires, start.addingTimeInterval(3 * u)))
        #expect(try await b.placement(mailboxID: Self.mailbox)?.nodeID == "node-a")
        #expect(try await b.mailboxes(onNode: "node-a") == [Self.mailbox])
        // Held: node b is refused until it expires.
        clock.advance(by: u)
        await #expect(throws: ClusterRegistryError.self) {
            try await b.acquireLease(mailboxID: Self.mailbox, nodeID: "node-b", ttl: 3 * u)
        }
        clock.advance(by: u)
        let renewed = try await a.renewLease(first, ttl: 3 * u)
        #expect(renewed.token == 1 && near(renewed.expires, start.addingTimeInterval(5 * u)))
        // The same holder acquiring again keeps its token.
        #expect(try await a.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 3 * u).token == 1)
        // Past the first expiry, within the renewed one: still valid.
        clock.advance(by: 2 * u)
        #expect(try await b.isLeaseValid(mailboxID: Self.mailbox, nodeID: "node-a", token: 1))
        // Expired: node b takes over, the token grows, node a's renew and check fail.
        clock.advance(by: 2 * u)
        #expect(try await a.isLeaseValid(mailboxID: Self.mailbox, nodeID: "node-a", token: 1) == false)
        let taken = try await b.acquireLease(mailboxID: Self.mailbox, nodeID: "node-b", ttl: 3 * u)
        #expect(taken.token == 2 && taken.nodeID == "node-b")
        #expect(try await a.placement(mailboxID: Self.mailbox)?.nodeID == "node-b")
        await #expect(throws: ClusterRegistryError(.leaseLost, "the lease on mailbox \(Self.mailbox) is no longer node node-a's")) {
            try await a.renewLease(renewed, ttl: 3 * u)
        }
        #expect(try await a.isLeaseValid(mailboxID: Self.mailbox, nodeID: "node-a", token: 1) == false)
        #expect(try await a.isLeaseValid(taken))
        // A stale release does nothing; the holder's release frees it; the next acquisition gets token 3.
        try await a.releaseLease(renewed)
        #expect(try await a.isLeaseValid(taken))
        try await b.releaseLease(taken)
        #expect(try await a.placement(mailboxID: Self.mailbox)?.lease == nil)
        #expect(try await a.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 3 * u).token == 3)
        // A node that owns mailboxes is not removed.
        await #expect(throws: ClusterRegistryError.self) { try await a.removeNode(id: "node-a") }
        await #expect(throws: ClusterRegistryError.self) {
            try await a.acquireLease(mailboxID: "not-an-id", nodeID: "node-a", ttl: 3 * u)
        }
    }

    @Test("renewLeases renews every unexpired lease of a node in one call; placements lists all; heartbeat stats are kept", arguments: RegistryBackend.allCases)
    func bulkRenewalAndStats(_ backend: RegistryBackend) async throws {
        let (a, b, clock, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        let u = Self.unit, start = try await a.currentTime()
        try await registerTwo(a)
        let ids = (1...3).map { String(format: "%032x", $0) }
        for id in ids { _ = try await a.acquireLease(mailboxID: id, nodeID: "node-a", ttl: 3 * u) }
        _ = try await a.acquireLease(mailboxID: String(format: "%032x", 9), nodeID: "node-b", ttl: 3 * u)
        clock.advance(by: 2 * u)
        #expect(try await a.renewLeases(nodeID: "node-a", ttl: 3 * u).map(\.mailboxID) == ids)
        // Two leases are renewed on their own; the third lapses and is taken by b: a's next bulk
        // renewal returns only what is still a's.
        clock.advance(by: 2 * u)
        for id in ids.prefix(2) {
            let renewed = try await a.renewLease(MailboxLease(mailboxID: id, nodeID: "node-a", token: 1, expires: .distantPast), ttl: 3 * u)
            #expect(near(renewed.expires, start.addingTimeInterval(7 * u)))
        }
        clock.advance(by: 1.5 * u)
        _ = try await b.acquireLease(mailboxID: ids[2], nodeID: "node-b", ttl: 3 * u)
        let renewed = try await a.renewLeases(nodeID: "node-a", ttl: 3 * u)
        #expect(renewed.map(\.mailboxID) == Array(ids.prefix(2)))
        #expect(renewed.allSatisfy { $0.token == 1 && near($0.expires, start.addingTimeInterval(8.5 * u)) })
        let all = try await b.placements()
        #expect(all.map(\.mailboxID) == ids + [String(format: "%032x", 9)])
        #expect(all.map(\.nodeID) == ["node-a", "node-a", "node-b", "node-b"])
        #expect(all[2].lease?.token == 2)
        try await a.heartbeat(nodeID: "node-a", freeBytes: 5, capacityBytes: 10, stats: [NodeStats.sessions: 3, NodeStats.queueInbound: 1], state: nil)
        #expect(try await b.node(id: "node-a")?.stats == [NodeStats.sessions: 3, NodeStats.queueInbound: 1])
        await #expect(throws: ClusterRegistryError.self) {
            try await a.heartbeat(nodeID: "node-a", freeBytes: 5, capacityBytes: 10, stats: ["Bad Key": 1], state: nil)
        }
    }

    @Test("two registries racing for one lease: exactly one wins, every round", arguments: RegistryBackend.allCases)
    func race(_ backend: RegistryBackend) async throws {
        let (a, b, clock, cleanup) = try await backend.make()
        defer { Task { await cleanup() } }
        try await registerTwo(a)
        var lastToken: Int64 = 0
        for round in 0..<20 {
            let mailbox = String(format: "%032x", round % 4)
            // Each round starts after the previous lease expired: both may take it, one must.
            if round > 0 { clock.advance(by: 2 * Self.unit) }
            let results = await withTaskGroup(of: MailboxLease?.self) { group in
                group.addTask { try? await a.acquireLease(mailboxID: mailbox, nodeID: "node-a", ttl: Self.unit) }
                group.addTask { try? await b.acquireLease(mailboxID: mailbox, nodeID: "node-b", ttl: Self.unit) }
                var all: [MailboxLease?] = []
                for await result in group { all.append(result) }
                return all
            }
            let winners = results.compactMap { $0 }
            #expect(winners.count == 1, "round \(round): \(winners)")
            guard let winner = winners.first else { continue }
            #expect(try await a.isLeaseValid(winner))
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
        _ = try await registry.register(NodeRegistration(id: "node-a", name: "a", rpcAddress: "127.0.0.2:7000", role: .storage))
        let lease = try await registry.acquireLease(mailboxID: Self.mailbox, nodeID: "node-a", ttl: 3 * Self.unit)
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
            try await registry.heartbeat(nodeID: "node-a", freeBytes: 10, capacityBytes: 100, state: nil)
            let renewed = try await registry.renewLeases(nodeID: "node-a", ttl: 3 * Self.unit)
            #expect(renewed.map(\.token) == [lease.token])
        }
        try await registry.releaseLease(lease)
        #expect(try await registry.placement(mailboxID: Self.mailbox)?.lease == nil)
        await directory.shutdown()
    }
}

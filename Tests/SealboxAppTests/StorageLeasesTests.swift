import ClusterRegistry
import Directory
import Foundation
import Logging
import MailboxAPI
import MailCore
import MailStore
import SealboxApp
import Synchronization
import Testing

/// A storage node's leases (issue 19) over the in-memory registry, and the commit fence they put on
/// `LocalMailboxService`: a node writes a mailbox only while its lease holds.
@Suite("Storage node leases and the commit fence")
struct StorageLeasesTests {
    static let a = NodeRegistration(id: "s1", name: "s1", rpcAddress: "127.0.0.1:1", role: .storage)
    static let b = NodeRegistration(id: "s2", name: "s2", rpcAddress: "127.0.0.1:2", role: .storage)
    static let mailbox = String(repeating: "ab", count: 16)

    func registry() async throws -> InMemoryClusterRegistry {
        let r = InMemoryClusterRegistry()
        _ = try await r.register(Self.a)
        _ = try await r.register(Self.b)
        return r
    }

    func unavailable(_ body: () async throws -> Void) async -> Bool {
        do { try await body(); return false } catch let e as MailStoreError { return e.code == .unavailable } catch { return false }
    }

    @Test("an unplaced mailbox is leased here; one leased elsewhere is refused; with shared storage an expired one is taken over")
    func claims() async throws {
        let r = try await registry()
        let s1 = StorageLeases(registry: r, nodeID: "s1", ttl: 30, sharedStorage: false, logger: Logger(label: "t"))
        let s2 = StorageLeases(registry: r, nodeID: "s2", ttl: 30, sharedStorage: true, logger: Logger(label: "t"))
        #expect(!s1.mayCommit(mailboxID: Self.mailbox))
        try await s1.claim(mailboxID: Self.mailbox)
        #expect(s1.mayCommit(mailboxID: Self.mailbox))
        #expect(try await r.placement(mailboxID: Self.mailbox)?.nodeID == "s1")
        // s2 may not while s1's lease holds, even with shared storage.
        #expect(await unavailable { try await s2.claim(mailboxID: Self.mailbox) })
        #expect(!s2.mayCommit(mailboxID: Self.mailbox))
        // s1 stops renewing; once the lease has expired, s2 (shared storage) takes it over with a new token.
        let token = try #require(try await r.placement(mailboxID: Self.mailbox)?.lease?.token)
        r.clockOffset.advance(by: 31)
        try await s2.claim(mailboxID: Self.mailbox)
        #expect(s2.mayCommit(mailboxID: Self.mailbox))
        #expect(try await r.placement(mailboxID: Self.mailbox)?.lease?.token == token + 1)
        // s1's renewal finds its lease gone and the mailbox placed on s2: it stops writing it and
        // is told to close it.
        let lost = Mutex<[String]>([])
        s1.onLost = { id in lost.withLock { $0.append(id) } }
        await s1.renew()
        #expect(!s1.mayCommit(mailboxID: Self.mailbox))
        #expect(lost.withLock { $0 } == [Self.mailbox])
        #expect(await unavailable { try await s1.claim(mailboxID: Self.mailbox) })
        // Without shared storage, a mailbox of another node is never taken, expired or not.
        let other = String(repeating: "cd", count: 16)
        _ = try await r.acquireLease(mailboxID: other, nodeID: "s2", ttl: 1)
        r.clockOffset.advance(by: 10)
        #expect(await unavailable { try await s1.claim(mailboxID: other) })
    }

    @Test("renew keeps every lease in one call; release lets the next claim raise the token")
    func renewAndRelease() async throws {
        let r = try await registry()
        let s1 = StorageLeases(registry: r, nodeID: "s1", ttl: 30, sharedStorage: false, logger: Logger(label: "t"))
        let ids = (0..<5).map { String(format: "%032x", $0 + 1) }
        for id in ids { try await s1.claim(mailboxID: id) }
        await s1.renew()
        #expect(s1.leased == ids.sorted())
        #expect(ids.allSatisfy { s1.mayCommit(mailboxID: $0) })
        let before = try #require(try await r.placement(mailboxID: ids[0])?.lease?.token)
        await s1.releaseAll()
        #expect(s1.leased.isEmpty && !s1.mayCommit(mailboxID: ids[0]))
        try await s1.claim(mailboxID: ids[0])
        #expect(try await r.placement(mailboxID: ids[0])?.lease?.token == before + 1)
    }

    @Test("a holder stops committing before the registry's lease ends: another node cannot take the mailbox while the holder still writes")
    func holderStopsFirst() async throws {
        let r = try await registry()
        // A 3 s lease; commits need 1 s of it left (the margin).
        let s1 = StorageLeases(registry: r, nodeID: "s1", ttl: 3, sharedStorage: true, logger: Logger(label: "t"))
        let s2 = StorageLeases(registry: r, nodeID: "s2", ttl: 3, sharedStorage: true, logger: Logger(label: "t"))
        try await s1.claim(mailboxID: Self.mailbox)
        #expect(s1.mayCommit(mailboxID: Self.mailbox))
        // s1 does not renew. The moment it stops committing (its own monotonic count, from when it
        // asked), the registry still holds the lease for it: s2 is refused.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while s1.mayCommit(mailboxID: Self.mailbox), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!s1.mayCommit(mailboxID: Self.mailbox))
        let placed = try #require(try await r.placement(mailboxID: Self.mailbox)?.lease)
        if try await r.currentTime() < placed.expires {
            #expect(await unavailable { try await s2.claim(mailboxID: Self.mailbox) })
        }
        // Once the registry's time passes the expiry, s2 takes it over.
        while try await r.currentTime() <= placed.expires, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try await s2.claim(mailboxID: Self.mailbox)
        #expect(s2.mayCommit(mailboxID: Self.mailbox) && !s1.mayCommit(mailboxID: Self.mailbox))
        #expect(try await r.placement(mailboxID: Self.mailbox)?.lease?.token == placed.token + 1)
    }

    /// An ownership the test switches.
    final class Switch: MailboxOwnership {
        let allowed = Mutex(true)
        func claim(mailboxID: String) async throws {
            guard allowed.withLock({ $0 }) else { throw MailStoreError(.unavailable, "not ours") }
        }
        func mayCommit(mailboxID: String) -> Bool { allowed.withLock { $0 } }
    }

    @Test("a lost lease rolls back the commit (NO [UNAVAILABLE] material) and refuses inbound mail; nothing of it is stored")
    func commitFence() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-fence-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try SealboxNode.open(dataDirectory: dir)
        let ownership = Switch()
        node.mailboxes.ownership = ownership
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let alias = try await node.directory.addAlias(try EmailAddress("fence@example.com"), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        let password = try await node.mailboxes.createMailbox(for: alias, label: nil).password
        let session = try await node.mailboxes.unlock(address: try EmailAddress("fence@example.com"), password: password)
        let message = Array("From: a@example.org\r\nSubject: one\r\n\r\nbody\r\n".utf8)
        _ = try await session.append(to: "INBOX", message: message, flags: [], keywords: [], internalDate: nil)
        ownership.allowed.withLock { $0 = false }
        #expect(await unavailable { _ = try await session.append(to: "INBOX", message: message, flags: [], keywords: [], internalDate: nil) })
        #expect(await unavailable { _ = try await session.storeFlags(in: "INBOX", uids: UIDSet(1...1), operation: .add, flags: [.seen], keywords: [], unchangedSince: nil) })
        let refreshed = try #require(try await node.directory.alias(address: try EmailAddress("fence@example.com")))
        #expect(await unavailable {
            _ = try await node.mailboxes.acceptInbound(message: message, internalDate: Date(),
                                                       mailboxes: [InboundMailbox(mailboxID: refreshed.mailboxID!, publicKey: refreshed.publicKey!)], jobs: [])
        })
        #expect(try await node.queue.count(mailboxID: refreshed.mailboxID!) == 0)
        ownership.allowed.withLock { $0 = true }
        #expect(try await session.status(of: "INBOX").messages == 1)
        #expect(try await session.messages(in: "INBOX", uids: nil, changedSince: nil).allSatisfy { $0.flags.isEmpty })
        await session.close()
        await node.shutdown()
    }
}

@Suite("cluster status report and node stats")
struct ClusterStatusReportTests {
    @Test("node stats survive the registry's text; bad keys are refused")
    func statsText() throws {
        let stats: [String: Int64] = [NodeStats.sessions: 12, NodeStats.queueInbound: 3, NodeStats.unlocked: 0]
        #expect(NodeStats.decode(try NodeStats.encode(stats)) == stats)
        #expect(NodeStats.decode("sessions=1,Bad=2,x=,=3,queue.inbound=-4") == ["sessions": 1, "queue.inbound": -4])
        #expect(throws: ClusterRegistryError.self) { try NodeStats.encode(["Sessions": 1]) }
        #expect(throws: ClusterRegistryError.self) { try NodeStats.encode(Dictionary(uniqueKeysWithValues: (0..<17).map { (String(repeating: "a", count: $0 + 1), Int64($0)) })) }
    }

    @Test("one row per node: silent when its heartbeat is older than a lease; leases counted held, expired, released")
    func report() {
        let now = Date()
        let nodes = [
            NodeRecord(id: "f1", name: "f1", rpcAddress: "", role: .frontend, state: .active, freeBytes: 0, capacityBytes: 0,
                       registered: now, lastHeartbeat: now.addingTimeInterval(-3), stats: [NodeStats.sessions: 7]),
            NodeRecord(id: "s1", name: "s1", rpcAddress: "10.0.0.1:7443", role: .storage, state: .active, freeBytes: 5_500_000_000,
                       capacityBytes: 10_000_000_000, registered: now, lastHeartbeat: now.addingTimeInterval(-100),
                       stats: [NodeStats.queueInbound: 2, NodeStats.queueOutbound: 1, NodeStats.unlocked: 4]),
        ]
        let id = { (n: Int) in String(format: "%032x", n) }
        let placements = [
            MailboxPlacement(mailboxID: id(1), nodeID: "s1", lease: MailboxLease(mailboxID: id(1), nodeID: "s1", token: 1, expires: now.addingTimeInterval(10))),
            MailboxPlacement(mailboxID: id(2), nodeID: "s1", lease: MailboxLease(mailboxID: id(2), nodeID: "s1", token: 1, expires: now.addingTimeInterval(-1))),
            MailboxPlacement(mailboxID: id(3), nodeID: "gone", lease: nil),
        ]
        let lines = ClusterStatusReport.lines(nodes: nodes, placements: placements, now: now, leaseSeconds: 30)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("NODE"))
        #expect(lines[1].hasPrefix("f1") && lines[1].contains("frontend") && lines[1].contains("active") && lines[1].contains("7"))
        #expect(lines[2].hasPrefix("s1") && lines[2].contains("silent") && lines[2].contains("5.5 GB") && lines[2].contains("10.0.0.1:7443"))
        #expect(lines[3] == "mailboxes: 3 placed; leases: 1 held, 1 expired, 1 released; on unregistered nodes: gone")
    }
}

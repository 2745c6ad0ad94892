import ClusterRPC
import Foundation
import Logging
import MailboxAPI
import MailCore
import SealboxApp
import ServiceLifecycle

/// `SealboxBench rpc [--sessions N] [--seconds S] [--messages M]`
///
/// The cluster RPC's cost, in one run: a node on a fresh data directory with one mailbox seeded
/// with M messages (StoreBench's generator, ≤ 100 KB), served by `ClusterRPCServer` on loopback
/// (mutual TLS, certificates made for the run); then for S seconds each, N concurrent sessions
/// drive the mix an IMAP session makes of the mailbox seam (STATUS, FETCH FLAGS = message states,
/// BODY[] = message bytes, STORE, SEARCH fields, APPEND) first on the node's `LocalMailboxService`,
/// then on `RemoteMailboxService` through the RPC. Prints ops/s per operation, the remote/local
/// ratio, and the RPC round-trip p50/p99 seen by the client.
func rpcBenchmark(arguments: [String]) async throws {
    func option(_ name: String, _ fallback: Int) -> Int {
        guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let n = Int(arguments[i + 1]) else { return fallback }
        return n
    }
    let sessions = option("--sessions", 8)
    let seconds = option("--seconds", 10)
    let messageCount = option("--messages", 500)
    let root = NSTemporaryDirectory() + "sealbox-bench-rpc-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: root) }
    var logger = Logger(label: "bench")
    logger.logLevel = .warning

    let pki = root + "/pki"
    try ClusterCertificates.createCA(directory: pki)
    try ClusterCertificates.issueNodeCertificate(caDirectory: pki, name: "storage-1", addresses: ["127.0.0.1"], outDirectory: pki)
    try ClusterCertificates.issueNodeCertificate(caDirectory: pki, name: "frontend-1", addresses: ["127.0.0.1"], outDirectory: pki)
    let storageTLS = try ClusterTLS(certificatePath: pki + "/storage-1.pem", keyPath: pki + "/storage-1.key", caPath: pki + "/ca.pem")
    let frontendTLS = try ClusterTLS(certificatePath: pki + "/frontend-1.pem", keyPath: pki + "/frontend-1.key", caPath: pki + "/ca.pem")

    let node = try SealboxNode.open(dataDirectory: root + "/data")
    let address = try EmailAddress("bench@example.com")
    _ = try await node.directory.addDomain(try Domain("example.com"))
    let alias = try await node.directory.addAlias(address, store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
    let password = try await node.mailboxes.createMailbox(for: alias, label: "bench").password

    var generator = MessageGenerator(seed: 11)
    var corpus: [[UInt8]] = []
    while corpus.count < messageCount {
        let m = generator.next()
        if m.count <= 100_000 { corpus.append(m) }
    }
    let seedSession = try await node.mailboxes.unlock(address: address, password: password)
    for chunk in stride(from: 0, to: corpus.count, by: 100) {
        _ = try await seedSession.append(corpus[chunk ..< min(chunk + 100, corpus.count)].map { AppendRequest(folder: "INBOX", message: $0) })
    }
    await seedSession.close()
    print("seeded \(corpus.count) messages; \(sessions) session(s), \(seconds) s per service")

    let (bound, boundContinuation) = AsyncStream<Int>.makeStream()
    let server = ClusterRPCServer(configuration: .init(host: "127.0.0.1", port: 0, tls: storageTLS), service: node.mailboxes, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [try server.makeService { boundContinuation.yield($0.port ?? 0); boundContinuation.finish() }],
                                                  logger: logger))
    let serverTask = Task { try await group.run() }
    var port = 0
    for await p in bound { port = p; break }
    let endpoint = StorageEndpoint(name: "storage-1", host: "127.0.0.1", port: port)
    let pool = RPCClientPool(tls: frontendTLS, logger: logger)
    let remote = RemoteMailboxService(router: SingleNodeRouter(endpoint), pool: pool)

    let local = try await runSessionMix(node.mailboxes, address: address, password: password, sessions: sessions, seconds: seconds, corpus: corpus)
    _ = await pool.client(endpoint).takeRoundTrips()
    let viaRPC = try await runSessionMix(remote, address: address, password: password, sessions: sessions, seconds: seconds, corpus: corpus)
    let trips = await pool.client(endpoint).takeRoundTrips().map { $0.seconds * 1000 }

    print("\n" + pad("operation", 16) + pad("local ops/s", 14) + pad("remote ops/s", 14) + "ratio")
    for op in SessionOp.allCases {
        let a = Double(local[op] ?? 0) / Double(seconds), b = Double(viaRPC[op] ?? 0) / Double(seconds)
        print(pad(op.rawValue, 16) + pad(String(format: "%10.1f", a), 14) + pad(String(format: "%10.1f", b), 14)
              + String(format: "%.2f", a > 0 ? b / a : 0))
    }
    let ta = Double(local.values.reduce(0, +)) / Double(seconds), tb = Double(viaRPC.values.reduce(0, +)) / Double(seconds)
    print(pad("TOTAL", 16) + pad(String(format: "%10.1f", ta), 14) + pad(String(format: "%10.1f", tb), 14) + String(format: "%.2f", ta > 0 ? tb / ta : 0))
    print(String(format: "RPC round trips: %d, p50 %.2f ms, p99 %.2f ms", trips.count, percentile(trips, 0.5), percentile(trips, 0.99)))

    await pool.closeAll()
    await group.triggerGracefulShutdown()
    _ = try? await serverTask.value
    await node.shutdown()
}

enum SessionOp: String, CaseIterable, Sendable { case status, fetchFlags = "fetch-flags", fetchBody = "fetch-body", store, search, append }

/// N sessions, each looping over the mix for `seconds`; the count of each operation done.
func runSessionMix(_ service: any MailboxService, address: EmailAddress, password: String, sessions: Int, seconds: Int,
                   corpus: [[UInt8]]) async throws -> [SessionOp: Int] {
    let deadline = ContinuousClock.now + .seconds(seconds)
    return try await withThrowingTaskGroup(of: [SessionOp: Int].self) { group in
        for s in 0 ..< sessions {
            group.addTask {
                let session = try await service.unlock(address: address, password: password)
                var counts: [SessionOp: Int] = [:]
                var i = s
                while ContinuousClock.now < deadline {
                    i += 1
                    let uid = UID(1 + (i * 7919) % corpus.count)
                    let op = SessionOp.allCases[i % SessionOp.allCases.count]
                    switch op {
                    case .status: _ = try await session.status(of: "INBOX")
                    case .fetchFlags: _ = try await session.messageStates(in: "INBOX", uids: UIDSet(uid ... uid + 49), changedSince: nil)
                    case .fetchBody: _ = try await session.messageBytes(in: "INBOX", uid: uid)
                    case .store: _ = try await session.storeFlags(in: "INBOX", uids: UIDSet([uid]), operation: .add, flags: .seen, keywords: [], unchangedSince: nil)
                    case .search: _ = try await session.searchFields(in: "INBOX", uids: UIDSet(uid ... uid + 99), includeHeader: false)
                    case .append:
                        guard i % 12 == 5 else { continue }  // one APPEND for every two rounds of the others
                        _ = try await session.append(to: "INBOX", message: corpus[i % corpus.count], flags: [], keywords: [], internalDate: nil)
                    }
                    counts[op, default: 0] += 1
                }
                await session.close()
                return counts
            }
        }
        var total: [SessionOp: Int] = [:]
        for try await counts in group { total.merge(counts, uniquingKeysWith: +) }
        return total
    }
}

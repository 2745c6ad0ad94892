import ClusterRPC
import ClusterRPCCore
import Foundation
import IMAPCore
@testable import IMAPServer
import Logging
import MailboxAPI
import MailCore
import MailNet
import MailStore
import NIOCore
import SealboxApp
import ServiceLifecycle
import Synchronization
import Testing

/// A storage node and a frontend in one process, talking over a real loopback mutual-TLS
/// WebSocket: a `SealboxNode` on a temporary data directory (its `LocalMailboxService` with one
/// mailbox) served by `ClusterRPCServer`, and a `RemoteMailboxService` on the frontend side that
/// the IMAP and POP3 sessions use.
final class ClusterHarness: Sendable {
    let root: String
    let node: SealboxNode
    let address = "user@example.com"
    let password: String
    let storageTLS: ClusterTLS
    let frontendTLS: ClusterTLS
    let endpoint: StorageEndpoint
    let pool: RPCClientPool
    let remote: RemoteMailboxService
    let server: Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>
    /// The storage node's RPC counters (subscriptions opened, pushes sent).
    let counters: ClusterRPCServer.Counters

    init(clientConfiguration: RPCClient.Configuration = .init()) async throws {
        root = NSTemporaryDirectory() + "sealbox-cluster-" + UUID().uuidString
        let pki = root + "/pki"
        try ClusterCertificates.createCA(directory: pki)
        try ClusterCertificates.issueNodeCertificate(caDirectory: pki, name: "storage-1", addresses: ["127.0.0.1"], outDirectory: pki)
        try ClusterCertificates.issueNodeCertificate(caDirectory: pki, name: "frontend-1", addresses: ["127.0.0.1"], outDirectory: pki)
        storageTLS = try ClusterTLS(certificatePath: pki + "/storage-1.pem", keyPath: pki + "/storage-1.key", caPath: pki + "/ca.pem")
        frontendTLS = try ClusterTLS(certificatePath: pki + "/frontend-1.pem", keyPath: pki + "/frontend-1.key", caPath: pki + "/ca.pem")

        node = try SealboxNode.open(dataDirectory: root + "/data")
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let alias = try await node.directory.addAlias(try EmailAddress(address), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        password = try await node.mailboxes.createMailbox(for: alias, label: "test").password

        let counters = ClusterRPCServer.Counters()
        let (group, task, port) = try await Self.startServer(node: node, tls: storageTLS, port: 0, counters: counters)
        self.counters = counters
        server = Mutex((group, task))
        endpoint = StorageEndpoint(name: "storage-1", host: "127.0.0.1", port: port)
        pool = RPCClientPool(tls: frontendTLS, configuration: clientConfiguration, logger: Logger(label: "test.frontend"))
        remote = RemoteMailboxService(router: SingleNodeRouter(endpoint), pool: pool)
    }

    static func startServer(node: SealboxNode, tls: ClusterTLS, port: Int,
                            counters: ClusterRPCServer.Counters = .init()) async throws -> (ServiceGroup, Task<Void, any Error>, Int) {
        let (bound, boundContinuation) = AsyncStream<Int>.makeStream()
        let rpc = ClusterRPCServer(configuration: .init(host: "127.0.0.1", port: port, tls: tls), service: node.mailboxes,
                                   counters: counters, logger: Logger(label: "test.storage"))
        let service = try rpc.makeService { address in boundContinuation.yield(address.port ?? 0); boundContinuation.finish() }
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "test.storage")))
        let task = Task { try await group.run() }
        var port = 0
        for await p in bound { port = p; break }
        try #require(port != 0)
        return (group, task, port)
    }

    /// Stops the storage node's RPC listener and waits for it (its connections close).
    func stopStorage() async {
        guard let (group, task) = server.withLock({ s in defer { s = nil }; return s }) else { return }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    func cleanUp() async {
        await pool.closeAll()
        await stopStorage()
        await node.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A delivery made on the storage node itself (as its own MX or another frontend would).
    func deliverOnStorage(_ message: String) async throws {
        _ = try await node.mailboxes.deliver(to: try EmailAddress(address), message: Array(message.utf8), internalDate: Date())
    }

    func imap(limits: IMAPLimits = IMAPLimits()) -> RemoteIMAPClient {
        var configuration = IMAPSessionConfiguration()
        configuration.allowInsecureAuth = true
        configuration.limits = limits
        return RemoteIMAPClient(configuration: configuration, mailboxes: remote)
    }
}

/// The in-memory connection of an IMAP session: what it wrote, and whether it closed.
final class RecordingTransport: IMAPTransport {
    private let state = Mutex<(output: [UInt8], closed: Bool)>(([], false))
    func write(_ buffer: ByteBuffer) async throws { state.withLock { $0.output.append(contentsOf: buffer.readableBytesView) } }
    var canStartTLS: Bool { false }
    func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool { false }
    func close() async { state.withLock { $0.closed = true } }
    var output: [UInt8] { state.withLock { $0.output } }
    var closed: Bool { state.withLock { $0.closed } }
}

/// One IMAP client talking to a real IMAP session in memory (as IMAPServerTests' TestClient); the
/// session's mailbox service is the remote one.
final class RemoteIMAPClient: Sendable {
    let transport = RecordingTransport()
    let inbox = IMAPSessionInbox()
    private let framer: Mutex<IMAPFramer>
    private let consumed = Mutex(0)
    private let task: Task<Void, Never>

    init(configuration: IMAPSessionConfiguration, mailboxes: any MailboxService) {
        framer = Mutex(IMAPFramer(limits: configuration.limits))
        let transport = self.transport, inbox = self.inbox
        task = Task {
            let session = IMAPSession(configuration: configuration, context: SessionContext(
                                      transport: transport, authenticator: SessionAuthenticator(mailboxes: mailboxes, gate: nil, limiter: nil),
                                      remoteIP: "127.0.0.1", isTLS: false, inbox: inbox, logger: .init(label: "test")))
            await session.run()
        }
    }

    func sendRaw(_ bytes: [UInt8]) async throws {
        var buffer = ByteBuffer(bytes: bytes)
        let frames: [IMAPFrame] = try framer.withLock { f in
            f.append(&buffer)
            var out: [IMAPFrame] = []
            while let frame = try f.next() { out.append(frame) }
            return out
        }
        for frame in frames { await inbox.push(frame: frame) }
    }

    func send(_ line: String) async throws { try await sendRaw(Array((line + "\r\n").utf8)) }

    /// Output after what was read, up to and including the line starting with `prefix` (bounded wait).
    func read(until prefix: String, timeout: Duration = .seconds(300)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let out = transport.output
            let start = consumed.withLock { $0 }
            let fresh = String(decoding: out[start...], as: UTF8.self)
            var offset = 0
            for line in fresh.split(separator: "\r\n", omittingEmptySubsequences: false) {
                offset += line.utf8.count + 2
                if line.hasPrefix(prefix) {
                    let end = min(start + offset, out.count)
                    consumed.withLock { $0 = end }
                    return String(decoding: out[start ..< end], as: UTF8.self)
                }
            }
            if ContinuousClock.now > deadline {
                Issue.record("timed out waiting for \(prefix.debugDescription); got: \(String(fresh.suffix(300)).debugDescription)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @discardableResult
    func command(_ tag: String, _ text: String) async throws -> String {
        try await send("\(tag) \(text)")
        return try await read(until: "\(tag) ")
    }

    /// `APPEND INBOX [flags] {n}`, the literal after the continuation: the tagged answer.
    func append(_ tag: String, _ message: String, flags: String? = nil) async throws -> String {
        try await send("\(tag) APPEND INBOX \(flags.map { $0 + " " } ?? ""){\(message.utf8.count)}")
        _ = try await read(until: "+")
        try await sendRaw(Array((message + "\r\n").utf8))
        return try await read(until: "\(tag) ")
    }

    func login(_ h: ClusterHarness) async throws -> String {
        _ = try await read(until: "* OK")
        return try await command("L0", "LOGIN \(h.address) \(h.password)")
    }

    func close() async {
        inbox.pushClosed()
        await task.value
    }
}

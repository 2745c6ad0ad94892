import Foundation
import IMAPCore
@testable import IMAPServer
import MailboxAPI
import MailboxTesting
import MailCore
import MailNet
import MailStore
import NIOCore
import SealboxApp
import Synchronization
import Testing

/// A node on a temporary data directory with one mailbox, and IMAP sessions driven in memory:
/// bytes in through the real framer, bytes out as the session wrote them (protocol transcripts).
final class SessionHarness: Sendable {
    /// The real node (encrypted store, sealed queue, scrypt) when a test needs it; otherwise nil
    /// and the sessions run on the in-memory mailbox service.
    let node: SealboxNode?
    let dataDirectory: String?
    let mailboxes: any MailboxService
    let address = "user@example.com"
    let password: String

    init(quotaBytes: Int64? = nil, realStore: Bool = false) async throws {
        guard realStore else {
            let memory = InMemoryMailboxService()
            password = "correct-horse-battery-staple"
            _ = try memory.addMailbox(address: address, password: password, quotaBytes: quotaBytes)
            node = nil; dataDirectory = nil; mailboxes = memory
            return
        }
        let dataDirectory = NSTemporaryDirectory() + "sealbox-imap-" + UUID().uuidString
        let node = try SealboxNode.open(dataDirectory: dataDirectory)
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let alias = try await node.directory.addAlias(try EmailAddress(address), store: true, forwardTo: [], webhooks: [], quotaBytes: quotaBytes)
        password = try await node.mailboxes.createMailbox(for: alias, label: "test").password
        self.node = node; self.dataDirectory = dataDirectory; mailboxes = node.mailboxes
    }

    func cleanUp() async {
        await node?.shutdown()
        if let dataDirectory { try? FileManager.default.removeItem(atPath: dataDirectory) }
    }

    func deliver(_ message: String) async throws {
        _ = try await mailboxes.deliver(to: try EmailAddress(address), message: Array(message.utf8), internalDate: Date())
    }

    func connect(allowInsecureAuth: Bool = true, limits: IMAPLimits = IMAPLimits(), authGate: (any IMAPAuthGate)? = nil,
                 configure: (inout IMAPSessionConfiguration) -> Void = { _ in }) -> TestClient {
        var configuration = IMAPSessionConfiguration()
        configuration.allowInsecureAuth = allowInsecureAuth
        configuration.limits = limits
        configure(&configuration)
        return TestClient(configuration: configuration, mailboxes: mailboxes, authGate: authGate)
    }
}

/// The in-memory connection: what the session wrote, and whether it closed.
final class MemoryTransport: IMAPTransport {
    private let state = Mutex<(output: [UInt8], closed: Bool)>(([], false))
    func write(_ buffer: ByteBuffer) async throws {
        state.withLock { $0.output.append(contentsOf: buffer.readableBytesView) }
    }
    var canStartTLS: Bool { false }
    func startTLS(reply: ByteBuffer, framesConsumed: Int) async throws -> Bool { false }
    func close() async { state.withLock { $0.closed = true } }
    var output: [UInt8] { state.withLock { $0.output } }
    var closed: Bool { state.withLock { $0.closed } }
}

/// One IMAP client talking to a session in memory.
final class TestClient: Sendable {
    let transport = MemoryTransport()
    let inbox = IMAPSessionInbox()
    private let framer: Mutex<IMAPFramer>
    private let consumed = Mutex(0)
    private let task: Task<Void, Never>

    init(configuration: IMAPSessionConfiguration, mailboxes: any MailboxService, authGate: (any IMAPAuthGate)?) {
        framer = Mutex(IMAPFramer(limits: configuration.limits))
        let transport = self.transport, inbox = self.inbox
        task = Task {
            let session = IMAPSession(configuration: configuration, context: SessionContext(
                                      transport: transport, authenticator: SessionAuthenticator(mailboxes: mailboxes, gate: authGate, limiter: nil),
                                      remoteIP: "127.0.0.1", isTLS: false, inbox: inbox, logger: .init(label: "test")))
            await session.run()
        }
    }

    /// Sends raw bytes (CRLF is not added).
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

    /// Sends one line (CRLF added).
    func send(_ line: String) async throws { try await sendRaw(Array((line + "\r\n").utf8)) }

    /// All output so far, as text.
    var text: String { String(decoding: transport.output, as: UTF8.self) }

    /// Output after `consumed` bytes up to and including the line that starts with `prefix`
    /// (e.g. the tagged reply `a1 `), waiting for it (bounded: a guard against a hang, not a
    /// timing; on 2 cores the suite's first tests were seen to wait 140 s for the pool's threads).
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
                    return String(decoding: out[start..<end], as: UTF8.self)
                }
            }
            if ContinuousClock.now > deadline {
                Issue.record("timed out waiting for \(prefix.debugDescription); got: \(fresh.debugDescription)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Sends a tagged command and returns everything up to its tagged reply.
    @discardableResult
    func command(_ tag: String, _ text: String) async throws -> String {
        try await send("\(tag) \(text)")
        return try await read(until: "\(tag) ")
    }

    func login(_ harness: SessionHarness) async throws {
        _ = try await read(until: "* OK")
        let reply = try await command("L0", "LOGIN \(harness.address) \(harness.password)")
        #expect(reply.contains("L0 OK"), "\(reply)")
    }

    func close() async {
        inbox.pushClosed()
        await task.value
    }
}

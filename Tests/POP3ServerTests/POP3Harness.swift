import Foundation
import MailboxAPI
import MailboxTesting
import MailCore
import MailNet
import MailStore
import NIOCore
import POP3Core
@testable import POP3Server
import SealboxApp
import SessionTesting
import Synchronization
import Testing

/// A node on a temporary data directory with one mailbox, and POP3 sessions driven in memory:
/// bytes in through the real framer, bytes out as the session wrote them (protocol transcripts).
final class POP3Harness: Sendable {
    /// The real node (encrypted store, sealed queue, scrypt) when a test needs it; otherwise nil
    /// and the sessions run on the in-memory mailbox service.
    let node: SealboxNode?
    let dataDirectory: String?
    let mailboxes: any MailboxService
    let address = "user@example.com"
    let password: String

    init(realStore: Bool = false) async throws {
        guard realStore else {
            let memory = InMemoryMailboxService()
            password = "correct-horse-battery-staple"
            _ = try memory.addMailbox(address: address, password: password, quotaBytes: nil)
            node = nil; dataDirectory = nil; mailboxes = memory
            return
        }
        let dataDirectory = NSTemporaryDirectory() + "sealbox-pop3-" + UUID().uuidString
        let node = try SealboxNode.open(dataDirectory: dataDirectory)
        _ = try await node.directory.addDomain(try Domain("example.com"))
        let alias = try await node.directory.addAlias(try EmailAddress(address), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
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

    func connect(allowInsecureAuth: Bool = true, canStartTLS: Bool = false, authGate: (any AuthGate)? = nil,
                 sessionLimiter: SessionLimiter? = nil,
                 configure: (inout POP3SessionConfiguration) -> Void = { _ in }) -> POP3TestClient {
        var configuration = POP3SessionConfiguration()
        configuration.allowInsecureAuth = allowInsecureAuth
        configure(&configuration)
        return POP3TestClient(configuration: configuration, mailboxes: mailboxes, authGate: authGate,
                              canStartTLS: canStartTLS, sessionLimiter: sessionLimiter)
    }

    /// An unlocked session on the mailbox (to look at it the way IMAP does).
    func open() async throws -> any MailboxSession {
        try await mailboxes.unlock(address: try EmailAddress(address), password: password)
    }
}

/// One POP3 client talking to a session in memory.
final class POP3TestClient: Sendable {
    let transport: MemorySessionTransport
    let inbox = SessionInbox<POP3Frame>()
    private let framer = Mutex(POP3LineFramer())
    private let consumed = Mutex(0)
    private let task: Task<Void, Never>

    init(configuration: POP3SessionConfiguration, mailboxes: any MailboxService, authGate: (any AuthGate)?,
         canStartTLS: Bool, sessionLimiter: SessionLimiter?) {
        let transport = MemorySessionTransport(tlsAvailable: canStartTLS)
        self.transport = transport
        let inbox = self.inbox
        task = Task {
            let session = POP3Session(configuration: configuration, context: SessionContext(
                                      transport: transport, authenticator: SessionAuthenticator(mailboxes: mailboxes, gate: authGate, limiter: sessionLimiter),
                                      remoteIP: "127.0.0.1", isTLS: false, inbox: inbox, logger: .init(label: "test")))
            await session.run()
        }
    }

    /// Sends raw bytes (no line ending added).
    func sendRaw(_ bytes: [UInt8]) async {
        let frames: [POP3Frame] = framer.withLock { f in
            f.append(bytes)
            var out: [POP3Frame] = []
            while let frame = f.next() { out.append(frame) }
            return out
        }
        transport.framesSent.withLock { $0 += frames.count }
        for frame in frames { await inbox.push(frame: frame) }
    }

    func send(_ line: String) async { await sendRaw(Array((line + "\r\n").utf8)) }

    var text: String { String(decoding: transport.output, as: UTF8.self) }

    /// The output after what was already read, up to and including `lines` status lines or, for
    /// a multi-line reply, its terminating ".", waiting for it (bounded).
    func read(multiline: Bool = false, timeout: Duration = .seconds(300)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let out = transport.output
            let start = consumed.withLock { $0 }
            let fresh = Array(out[start...])
            if let end = Self.replyEnd(fresh, multiline: multiline) {
                consumed.withLock { $0 = start + end }
                return String(decoding: fresh[..<end], as: UTF8.self)
            }
            if ContinuousClock.now > deadline {
                Issue.record("timed out; got: \(String(decoding: fresh, as: UTF8.self).debugDescription)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    static func replyEnd(_ bytes: [UInt8], multiline: Bool) -> Int? {
        guard let firstEnd = firstIndex(of: [0x0D, 0x0A], in: bytes, from: 0) else { return nil }
        let statusEnd = firstEnd + 2
        // A multi-line reply only follows +OK.
        if !multiline || !bytes.starts(with: Array("+OK".utf8)) { return statusEnd }
        if bytes[statusEnd...].starts(with: [0x2E, 0x0D, 0x0A]) { return statusEnd + 3 }
        guard let end = firstIndex(of: [0x0D, 0x0A, 0x2E, 0x0D, 0x0A], in: bytes, from: statusEnd - 2) else { return nil }
        return end + 5
    }

    static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard bytes.count >= needle.count, from <= bytes.count - needle.count else { return nil }
        for i in from...(bytes.count - needle.count) where bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }

    /// Sends a command and returns its reply (status line, and the body for multi-line replies).
    @discardableResult
    func command(_ line: String, multiline: Bool = false) async throws -> String {
        await send(line)
        return try await read(multiline: multiline)
    }

    /// USER/PASS; `greeting`: the greeting has not been read yet.
    func login(_ harness: POP3Harness, greeting: Bool = true) async throws {
        if greeting { _ = try await read() }
        #expect(try await command("USER \(harness.address)") == "+OK Send PASS\r\n")
        let reply = try await command("PASS \(harness.password)")
        #expect(reply.hasPrefix("+OK Logged in"), "\(reply)")
    }

    /// Waits until the session has closed the connection (bounded).
    func waitClosed(timeout: Duration = .seconds(300)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !transport.closed {
            if ContinuousClock.now > deadline { Issue.record("session did not close"); throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func close() async {
        inbox.pushClosed()
        await task.value
    }
}

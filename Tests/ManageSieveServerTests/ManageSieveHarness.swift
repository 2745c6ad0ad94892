import Directory
import Foundation
import MailboxAPI
import MailboxTesting
import MailCore
import MailNet
import ManageSieveCore
@testable import ManageSieveServer
import NIOCore
import SealboxApp
import SessionTesting
import Synchronization
import Testing

/// Scripts in memory, with the directory's rules and limits: the owner of a login is its address
/// while its password is still one of the mailbox's (the in-memory mailbox service says).
final class MemorySieveScriptStore: SieveScriptStore {
    struct Script { var content: String; var active: Bool }
    let mailboxes: InMemoryMailboxService
    let scripts = Mutex<[String: [String: Script]]>([:])
    /// Set: every operation fails as a broken store would.
    let broken = Mutex(false)

    init(mailboxes: InMemoryMailboxService) { self.mailboxes = mailboxes }

    struct Broken: Error {}

    var quota: SieveScriptQuota {
        SieveScriptQuota(maxScriptBytes: SieveScriptRecord.maxScriptBytes, maxScripts: SieveScriptRecord.maxScripts,
                         maxStorageBytes: SieveScriptRecord.maxStorageBytes)
    }
    func check() throws { if broken.withLock({ $0 }) { throw Broken() } }

    func owner(of account: SieveAccount) async throws -> String? {
        try check()
        return mailboxes.passwordIDs(address: account.address).contains(account.passwordID) ? account.address : nil
    }
    func list(owner: String) async throws -> [SieveScriptEntry] {
        try check()
        return scripts.withLock { $0[owner, default: [:]] }.map { SieveScriptEntry(name: $0.key, active: $0.value.active, size: $0.value.content.utf8.count) }
            .sorted { $0.name < $1.name }
    }
    func script(owner: String, name: String) async throws -> String? {
        try check()
        return scripts.withLock { $0[owner]?[name]?.content }
    }
    func put(owner: String, name: String, content: String) async throws {
        try check()
        if let problem = nameProblem(name) { throw SieveStoreError(.invalidName, problem) }
        scripts.withLock { $0[owner, default: [:]][name] = Script(content: content, active: $0[owner]?[name]?.active ?? false) }
    }
    func rename(owner: String, from: String, to: String) async throws {
        try check()
        try scripts.withLock { s in
            guard let script = s[owner]?[from] else { throw SieveStoreError(.noSuchScript, "no script") }
            guard s[owner]?[to] == nil else { throw SieveStoreError(.scriptExists, "exists") }
            s[owner]?[from] = nil
            s[owner]?[to] = script
        }
    }
    func delete(owner: String, name: String) async throws {
        try check()
        try scripts.withLock { s in
            guard let script = s[owner]?[name] else { throw SieveStoreError(.noSuchScript, "no script") }
            guard !script.active else { throw SieveStoreError(.scriptActive, "active") }
            s[owner]?[name] = nil
        }
    }
    func activate(owner: String, name: String?) async throws {
        try check()
        try scripts.withLock { s in
            if let name, s[owner]?[name] == nil { throw SieveStoreError(.noSuchScript, "no script") }
            for key in s[owner, default: [:]].keys { s[owner]?[key]?.active = key == name }
        }
    }
    func nameProblem(_ name: String) -> String? { SieveScriptRecord.nameProblem(name) }
}

/// A failed-login gate that answers at once (the session tests do not wait the real delay).
struct ImmediateGate: AuthGate {
    func begin(ip: String, account: String) async -> Duration? { nil }
    func failed(ip: String, account: String) async -> AuthFailureVerdict { AuthFailureVerdict(answerAfter: .zero) }
    func succeeded(ip: String, account: String) async {}
    func cancelled(ip: String, account: String) async {}
}

/// A mailbox and its scripts, and ManageSieve sessions driven in memory: bytes in as the client
/// sends them, bytes out as the session wrote them (protocol transcripts).
final class ManageSieveHarness: Sendable {
    let node: SealboxNode?
    let dataDirectory: String?
    let mailboxes: any MailboxService
    let memory: InMemoryMailboxService?
    let store: any SieveScriptStore
    let address = "alice@example.org"
    let password: String

    init(realStore: Bool = false) async throws {
        guard realStore else {
            let memory = InMemoryMailboxService()
            password = "correct-horse-battery-staple"
            _ = try memory.addMailbox(address: address, password: password, quotaBytes: nil)
            node = nil; dataDirectory = nil; mailboxes = memory; self.memory = memory
            store = MemorySieveScriptStore(mailboxes: memory)
            return
        }
        let dataDirectory = NSTemporaryDirectory() + "sealbox-managesieve-" + UUID().uuidString
        let node = try SealboxNode.open(dataDirectory: dataDirectory)
        _ = try await node.directory.addDomain(try Domain("example.org"))
        let alias = try await node.directory.addAlias(try EmailAddress(address), store: true, forwardTo: [], webhooks: [], quotaBytes: nil)
        password = try await node.mailboxes.createMailbox(for: alias, label: "test").password
        self.node = node; self.dataDirectory = dataDirectory; mailboxes = node.mailboxes; memory = nil
        store = DirectorySieveScriptStore(directory: node.directory)
    }

    func cleanUp() async {
        await node?.shutdown()
        if let dataDirectory { try? FileManager.default.removeItem(atPath: dataDirectory) }
    }

    func connect(allowInsecureAuth: Bool = true, canStartTLS: Bool = false, authGate: (any AuthGate)? = ImmediateGate(),
                 configure: (inout ManageSieveSessionConfiguration) -> Void = { _ in }) -> ManageSieveTestClient {
        var configuration = ManageSieveSessionConfiguration()
        configuration.allowInsecureAuth = allowInsecureAuth
        configuration.store = store
        configure(&configuration)
        return ManageSieveTestClient(configuration: configuration, mailboxes: mailboxes, authGate: authGate, canStartTLS: canStartTLS)
    }

    /// `AUTHENTICATE "PLAIN"` with the initial response as a quoted string.
    var plainLogin: String {
        "AUTHENTICATE \"PLAIN\" \"" + Data("\0\(address)\0\(password)".utf8).base64EncodedString() + "\""
    }
}

/// One ManageSieve client talking to a session in memory.
final class ManageSieveTestClient: Sendable {
    let transport: MemorySessionTransport
    let inbox = SessionInbox<[UInt8]>()
    private let consumed = Mutex(0)
    private let task: Task<Void, Never>

    init(configuration: ManageSieveSessionConfiguration, mailboxes: any MailboxService, authGate: (any AuthGate)?, canStartTLS: Bool) {
        let transport = MemorySessionTransport(tlsAvailable: canStartTLS)
        self.transport = transport
        let inbox = self.inbox
        task = Task {
            await ManageSieve.runSession(configuration: configuration, context: SessionContext(
                transport: transport, authenticator: SessionAuthenticator(mailboxes: mailboxes, gate: authGate, limiter: nil),
                remoteIP: "127.0.0.1", isTLS: false, inbox: inbox, logger: .init(label: "test")))
        }
    }

    /// Sends raw bytes as one read from the socket.
    func sendRaw(_ bytes: [UInt8]) async {
        transport.framesSent.withLock { $0 += 1 }
        await inbox.push(frame: bytes)
    }

    func send(_ text: String) async { await sendRaw(Array(text.utf8)) }

    /// The next whole response after what was read: data lines, then its OK/NO/BYE line (a
    /// literal in any of them read whole), waiting for it (bounded).
    func read(timeout: Duration = .seconds(300)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let start = consumed.withLock { $0 }
            let fresh = Array(transport.output[start...])
            if let end = Self.responseEnd(fresh) {
                consumed.withLock { $0 = start + end }
                return String(decoding: fresh[..<end], as: UTF8.self)
            }
            if ContinuousClock.now > deadline {
                Issue.record("timed out; got: \(String(decoding: fresh, as: UTF8.self).debugDescription)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Where the first complete response in `bytes` ends.
    static func responseEnd(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            guard let lf = bytes[i...].firstIndex(of: 10) else { return nil }
            var line = Array(bytes[i..<lf])
            if line.last == 13 { line.removeLast() }
            var next = lf + 1
            if line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")),
               let n = Int(String(decoding: line[(open + 1)..<(line.count - 1)], as: UTF8.self)) {
                guard bytes.count >= next + n + 2 else { return nil }
                next += n + 2  // the literal and the CRLF ending its line
            }
            let text = String(decoding: line.prefix(4), as: UTF8.self)
            if text.hasPrefix("OK") || text.hasPrefix("NO") || text.hasPrefix("BYE") { return next }
            i = next
        }
        return nil
    }

    /// The next line (a SASL challenge), waiting for it (bounded).
    func readLine(timeout: Duration = .seconds(300)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let start = consumed.withLock { $0 }
            let fresh = Array(transport.output[start...])
            if let lf = fresh.firstIndex(of: 10) {
                consumed.withLock { $0 = start + lf + 1 }
                return String(decoding: fresh[...lf], as: UTF8.self)
            }
            if ContinuousClock.now > deadline { Issue.record("timed out"); throw CancellationError() }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Sends a command (CRLF added) and returns its response.
    @discardableResult
    func command(_ line: String) async throws -> String {
        await send(line + "\r\n")
        return try await read()
    }

    /// Reads the greeting, logs in with PLAIN.
    func login(_ harness: ManageSieveHarness) async throws {
        _ = try await read()
        #expect(try await command(harness.plainLogin) == "OK \"Logged in.\"\r\n")
    }

    /// Waits until the session has taken everything sent so far (bounded).
    func waitTaken(timeout: Duration = .seconds(300)) async throws {
        let deadline = ContinuousClock.now + timeout
        while inbox.framesTaken < transport.framesSent.withLock({ $0 }) {
            if ContinuousClock.now > deadline { Issue.record("input not taken"); throw CancellationError() }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    func waitClosed(timeout: Duration = .seconds(300)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !transport.closed {
            if ContinuousClock.now > deadline { Issue.record("session did not close"); throw CancellationError() }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    func close() async {
        inbox.pushClosed()
        await task.value
    }
}

/// A literal+ of `text` as clients send script bodies.
func literal(_ text: String) -> String { "{\(text.utf8.count)+}\r\n\(text)" }

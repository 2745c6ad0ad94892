import Foundation
import Logging
import MailCore
import MailNet
import MailboxAPI
import Synchronization
import Testing

/// A mailbox service whose unlock answers as told (the authenticator never looks further).
private struct ScriptedService: MailboxService {
    enum Answer: Sendable { case wrongPassword, storeDown }
    let answer: Answer
    func unlock(address: EmailAddress, password: String) async throws -> any MailboxSession {
        switch answer {
        case .wrongPassword: throw MailStoreError(.authenticationFailed, "authentication failed")
        case .storeDown: throw CocoaError(.fileReadCorruptFile)
        }
    }
    func deliver(to recipient: EmailAddress, message: [UInt8], internalDate: Date) async throws -> DeliveryOutcome { .notStored }
    func acceptInbound(message: [UInt8], prefix: [UInt8], internalDate: Date, mailboxes: [InboundMailbox], jobs: [OutboundJob]) async throws -> [Int64] { [] }
    func storedBytes(mailboxID: String) async throws -> Int64 { 0 }
}

/// A mailbox service whose every unlock is a wrong password, counting the password checks, each
/// held until `release` (so that all attempts are in flight at once, as under a parallel attack).
private final class CountingService: MailboxService, Sendable {
    let checks = Mutex(0)
    /// Attempts answered (the test counts them here too).
    let answered = Mutex(0)
    private let waiting = Mutex<(open: Bool, list: [CheckedContinuation<Void, Never>])>((false, []))

    func release() {
        let list = waiting.withLock { w in
            w.open = true
            defer { w.list = [] }
            return w.list
        }
        for c in list { c.resume() }
    }

    func unlock(address: EmailAddress, password: String) async throws -> any MailboxSession {
        checks.withLock { $0 += 1 }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = waiting.withLock { w in
                if !w.open { w.list.append(c) }
                return w.open
            }
            if now { c.resume() }
        }
        throw MailStoreError(.authenticationFailed, "authentication failed")
    }
    func deliver(to recipient: EmailAddress, message: [UInt8], internalDate: Date) async throws -> DeliveryOutcome { .notStored }
    func acceptInbound(message: [UInt8], prefix: [UInt8], internalDate: Date, mailboxes: [InboundMailbox], jobs: [OutboundJob]) async throws -> [Int64] { [] }
    func storedBytes(mailboxID: String) async throws -> Int64 { 0 }
}

/// Log lines in memory.
final class LogLines: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])
    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }
    var notices: [String] { lines.withLock { $0.filter { $0.0 >= .notice }.map(\.1) } }

    struct Handler: LogHandler {
        let sink: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { metadata[key] } set { metadata[key] = newValue } }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            sink.lines.withLock { $0.append((level, message.description)) }
        }
    }
}

extension AuthAudit {
    static var discard: AuthAudit { AuthAudit(protocolName: "test", logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) }
}

@Suite("One login for every protocol")
struct SessionAuthenticatorTests {
    @Test("a failure is answered after the throttle's delay, on the injected clock; unknown address and wrong password alike")
    func failureDelay() async {
        let slept = Mutex<[Duration]>([])
        var policy = AuthThrottle.Policy()
        policy.jitter = .zero
        policy.failureDelay = .seconds(3)
        let auth = SessionAuthenticator(mailboxes: ScriptedService(answer: .wrongPassword), gate: AuthThrottle(policy: policy),
                                        limiter: nil, sleep: { d in slept.withLock { $0.append(d) } })
        for user in ["user@example.com", "not an address"] {
            guard case .failed = await auth.authenticate(user: user, password: "x", remoteIP: "127.0.0.1", audit: .discard) else {
                Issue.record("not a plain failure for \(user)"); return
            }
        }
        let waits = slept.withLock { $0 }
        #expect(waits.count == 2)
        #expect(waits.allSatisfy { $0 > .milliseconds(2_900) && $0 <= .seconds(3) }, "\(waits)")
    }

    @Test("a store failure is reported as unavailable, is not charged as a failed login, and is not slowed down")
    func storeDown() async {
        var policy = AuthThrottle.Policy()
        policy.maxFailuresPerIP = 2
        let throttle = AuthThrottle(policy: policy)
        let slept = Mutex(0)
        let auth = SessionAuthenticator(mailboxes: ScriptedService(answer: .storeDown), gate: throttle, limiter: nil,
                                        sleep: { _ in slept.withLock { $0 += 1 } })
        for _ in 0..<5 {
            guard case .unavailable = await auth.authenticate(user: "user@example.com", password: "x", remoteIP: "10.1.1.1", audit: .discard) else {
                Issue.record("not unavailable"); return
            }
        }
        #expect(slept.withLock { $0 } == 0)
        #expect(await throttle.check(ip: "10.1.1.1", account: "user@example.com") == .allowed)
    }

    @Test("45 parallel wrong passwords from one IP through the authenticator: at most the limit reach the password check",
          arguments: [false, true])
    func parallelAttempts(differentAccounts: Bool) async {
        let policy = AuthThrottle.Policy()  // the defaults: 10 failures an IP, 20 an account
        let service = CountingService()
        let auth = SessionAuthenticator(mailboxes: service, gate: AuthThrottle(policy: policy), limiter: nil, sleep: { _ in })
        let lines = LogLines()
        let audit = AuthAudit(protocolName: "imap", logger: lines.logger)
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<45 {
                group.addTask {
                    let user = differentAccounts ? "user\(i)@example.com" : "user@example.com"
                    _ = await auth.authenticate(user: user, password: "guess-\(i)", remoteIP: "203.0.113.5", audit: audit)
                    service.answered.withLock { $0 += 1 }
                }
            }
            // The password checks are held until every other attempt has been answered: all are in
            // flight together, the race the issue measured (28 checks against a limit of 10).
            while service.answered.withLock({ $0 }) + service.checks.withLock({ $0 }) < 45 { await Task.yield() }
            service.release()
        }
        #expect(service.checks.withLock { $0 } == policy.maxFailuresPerIP)
        let notices = lines.notices
        #expect(notices.filter { $0.hasSuffix("reason=bad-credentials") }.count == policy.maxFailuresPerIP)
        #expect(notices.filter { $0.hasSuffix("reason=throttled") }.count == 45 - policy.maxFailuresPerIP)
        #expect(notices.filter { $0.hasPrefix("auth lockout: protocol=imap ip=203.0.113.5 ") && $0.contains(" scope=ip until=") }.count == 1)
        #expect(!notices.contains { $0.contains("guess-") })
    }

    @Test("audit lines: one failure line per attempt, the address escaped, never the password")
    func auditLines() async {
        var policy = AuthThrottle.Policy()
        policy.maxFailuresPerAccount = 2
        policy.maxFailuresPerIP = 100
        let lines = LogLines()
        let audit = AuthAudit(protocolName: "pop3", logger: lines.logger)
        let auth = SessionAuthenticator(mailboxes: ScriptedService(answer: .wrongPassword), gate: AuthThrottle(policy: policy),
                                        limiter: nil, sleep: { _ in })
        let evil = "a\"b=c\r\nauth failure: protocol=imap ip=192.0.2.66 user=\"x\" é"
        for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
            _ = await auth.authenticate(user: evil, password: "hunter2-secret", remoteIP: ip, audit: audit)
        }
        let notices = lines.notices
        let escaped = "a\\x22b\\x3Dc\\x0D\\x0Aauth\\x20failure:\\x20protocol\\x3Dimap\\x20ip\\x3D192.0.2.66\\x20user\\x3D\\x22x\\x22\\x20\\xC3\\xA9"
        #expect(notices.count == 4, "\(notices)")
        guard notices.count == 4 else { return }
        #expect(notices[0] == "auth failure: protocol=pop3 ip=198.51.100.1 user=\"\(escaped)\" reason=bad-credentials")
        #expect(notices[1] == "auth failure: protocol=pop3 ip=198.51.100.2 user=\"\(escaped)\" reason=bad-credentials")
        // The second failure locks the account out (its IPs never logged in); the third IP is refused untried.
        #expect(notices[2].hasPrefix("auth lockout: protocol=pop3 ip=198.51.100.2 user=\"\(escaped)\" scope=account until=20"))
        #expect(notices[2].hasSuffix("Z"))
        #expect(notices[3] == "auth failure: protocol=pop3 ip=198.51.100.3 user=\"\(escaped)\" reason=throttled")
        #expect(!notices.contains { $0.contains("hunter2") || $0.contains("\n") || $0.contains("192.0.2.66 ") })
    }

    @Test("the throttle is checked and charged in one step: parallel attempts cannot all slip under the limit")
    func atomicCharge() async {
        var policy = AuthThrottle.Policy()
        policy.maxFailuresPerIP = 3
        policy.maxFailuresPerAccount = 100
        let throttle = AuthThrottle(policy: policy)
        // Ten attempts begun before any is answered: only three may go ahead.
        var allowed = 0
        for i in 0..<10 where await throttle.begin(ip: "10.0.0.9", account: "a\(i)") == nil { allowed += 1 }
        #expect(allowed == 3)
        // They fail: the IP is now refused for the refusal duration, not just while they were in flight.
        for i in 0..<3 { _ = await throttle.failed(ip: "10.0.0.9", account: "a\(i)") }
        guard case .refused(let wait) = await throttle.check(ip: "10.0.0.9", account: "z") else { Issue.record("not refused"); return }
        #expect(wait > .seconds(60))
        // A success gives its charge back.
        #expect(await throttle.begin(ip: "10.0.0.10", account: "b") == nil)
        await throttle.succeeded(ip: "10.0.0.10", account: "b")
        for i in 0..<3 { #expect(await throttle.begin(ip: "10.0.0.10", account: "c\(i)") == nil) }
    }
}

import Foundation
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
    func acceptInbound(message: [UInt8], internalDate: Date, mailboxes: [InboundMailbox], jobs: [OutboundJob]) async throws -> [Int64] { [] }
    func storedBytes(mailboxID: String) async throws -> Int64 { 0 }
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
            guard case .failed = await auth.authenticate(user: user, password: "x", remoteIP: "127.0.0.1") else {
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
            guard case .unavailable = await auth.authenticate(user: "user@example.com", password: "x", remoteIP: "10.1.1.1") else {
                Issue.record("not unavailable"); return
            }
        }
        #expect(slept.withLock { $0 } == 0)
        #expect(await throttle.check(ip: "10.1.1.1", account: "user@example.com") == .allowed)
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

import MailCore
import MailboxAPI
import Metrics
import Synchronization

/// The one login of every protocol session (IMAP, POP3, submission): the failed-login throttle
/// checked and charged in one step, the same answer after the same delay for an unknown address,
/// a wrong password or a non-storing alias, the per-mailbox session limit, and a store failure
/// reported as such (never as a wrong password, never as a dropped connection). Protocol
/// sessions only turn the outcome into their own words.
public struct SessionAuthenticator: Sendable {
    public enum Outcome: Sendable {
        case authenticated(MailboxLogin)
        /// Too many failures from this IP or for this account: the password was not tried.
        case throttled(retryAfter: Duration)
        /// Unknown address, wrong password or no mailbox: all alike, answered after the same delay.
        case failed
        /// The mailbox already has as many sessions as it may.
        case tooManySessions
        /// The store could not open the mailbox (not the client's fault): try again later.
        case unavailable(any Error)
    }

    public let mailboxes: any MailboxService
    /// The failed-login throttle (the HTTP API counts its admin token failures here too).
    public let gate: (any AuthGate)?
    let limiter: SessionLimiter?
    let now: @Sendable () -> ContinuousClock.Instant
    let sleep: @Sendable (Duration) async -> Void
    let metrics = LoginMetrics()

    /// `now` and `sleep` are the clock: tests pass their own and check the failure delay without waiting it.
    public init(mailboxes: any MailboxService, gate: (any AuthGate)?, limiter: SessionLimiter?,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
                sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }) {
        self.mailboxes = mailboxes; self.gate = gate; self.limiter = limiter; self.now = now; self.sleep = sleep
    }

    /// Logs in; every failure and refusal, and every lockout it starts, goes to `audit` (never the password).
    public func authenticate(user: String, password: String, remoteIP: String, audit: AuthAudit) async -> Outcome {
        let outcome = await check(user: user, password: password, remoteIP: remoteIP, audit: audit)
        metrics.count(outcome, protocolName: audit.protocolName)
        return outcome
    }

    private func check(user: String, password: String, remoteIP: String, audit: AuthAudit) async -> Outcome {
        let started = now()
        let account = user.lowercased()
        if let gate, let wait = await gate.begin(ip: remoteIP, account: account) {
            audit.failure(ip: remoteIP, user: user, reason: .throttled)
            return .throttled(retryAfter: wait)
        }
        let session: any MailboxSession
        do {
            guard let address = try? EmailAddress(user) else { throw MailStoreError(.authenticationFailed, "bad address") }
            session = try await mailboxes.unlock(address: address, password: password)
        } catch let error as MailStoreError where error.code == .authenticationFailed || error.code == .noMailbox {
            // The same answer, after the same delay, whether the address exists or not.
            let verdict = await gate?.failed(ip: remoteIP, account: account) ?? AuthFailureVerdict(answerAfter: .seconds(1))
            audit.failure(ip: remoteIP, user: user, reason: .badCredentials)
            for lockout in verdict.lockouts {
                audit.lockout(ip: remoteIP, user: user, lockout)
                metrics.lockout(lockout.scope)
            }
            let answerAt = verdict.answerAfter
            let elapsed = now() - started
            if answerAt > elapsed { await sleep(answerAt - elapsed) }
            return .failed
        } catch {
            await gate?.cancelled(ip: remoteIP, account: account)
            return .unavailable(error)
        }
        await gate?.succeeded(ip: remoteIP, account: account)
        if let limiter, !limiter.acquire(session.mailboxID) {
            await session.close()
            return .tooManySessions
        }
        return .authenticated(MailboxLogin(session: session, limiter: limiter))
    }
}

/// A logged-in mailbox session with what it holds: its slot in the session limit and the task
/// watching its changes. `end()` gives all of it back.
public final class MailboxLogin: Sendable {
    public let session: any MailboxSession
    let limiter: SessionLimiter?
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    init(session: any MailboxSession, limiter: SessionLimiter?) { self.session = session; self.limiter = limiter }

    /// Calls `onChange` for every change of `folder` (nil: every folder) made anywhere, and with
    /// `revoked: true` when this session's own password is revoked (the session must end then).
    public func watch(folder: String?, onChange: @escaping @Sendable (_ revoked: Bool) -> Void) {
        watch(folder: folder) { _, revoked in onChange(revoked) }
    }

    /// The same, with each change (IMAP NOTIFY tells which folder changed how). A revocation of
    /// another password is not passed on.
    public func watch(folder: String?, onEvent: @escaping @Sendable (_ change: MailboxChange, _ revoked: Bool) -> Void) {
        let stream = session.changes(folder: folder)
        let passwordID = session.passwordID
        let task = Task {
            for await change in stream {
                if case .passwordRevoked(let id) = change.kind {
                    if id == passwordID { onEvent(change, true) }
                    continue
                }
                onEvent(change, false)
            }
        }
        watcher.withLock { $0?.cancel(); $0 = task }
    }

    public func end() async {
        watcher.withLock { $0?.cancel(); $0 = nil }
        limiter?.release(session.mailboxID)
        await session.close()
    }
}

/// `sealbox_logins_total{protocol, result}` and `sealbox_auth_lockouts_total{scope}`: the series of
/// the protocols the node serves are made once, with the authenticator; another name gets its own
/// when first seen.
struct LoginMetrics: Sendable {
    static let protocols = ["imap", "pop3", "smtp", "managesieve", "http"]
    static let results = ["ok", "failed", "throttled", "too_many_sessions", "unavailable"]
    let known: [String: [Counter]]
    let lockouts: [AuthLockout.Scope: Counter]

    init() {
        var known: [String: [Counter]] = [:]
        for name in Self.protocols { known[name] = Self.results.map { Self.counter(name, $0) } }
        self.known = known
        lockouts = [.ip: Counter(label: "sealbox_auth_lockouts_total", dimensions: [("scope", "ip")]),
                    .account: Counter(label: "sealbox_auth_lockouts_total", dimensions: [("scope", "account")])]
    }

    static func counter(_ protocolName: String, _ result: String) -> Counter {
        Counter(label: "sealbox_logins_total", dimensions: [("protocol", protocolName), ("result", result)])
    }

    func count(_ outcome: SessionAuthenticator.Outcome, protocolName: String) {
        let index: Int
        switch outcome {
        case .authenticated: index = 0
        case .failed: index = 1
        case .throttled: index = 2
        case .tooManySessions: index = 3
        case .unavailable: index = 4
        }
        if let counters = known[protocolName] { counters[index].increment() } else { Self.counter(protocolName, Self.results[index]).increment() }
    }

    func lockout(_ scope: AuthLockout.Scope) { lockouts[scope]?.increment() }
}

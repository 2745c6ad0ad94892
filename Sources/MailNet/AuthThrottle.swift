/// Failed-authentication throttling, per IP and per account, shared by IMAP, POP3 and SMTP AUTH.
///
/// Every failure is answered after the same delay (plus jitter) whether the account exists or not;
/// an IP with too many recent failures is refused for a while, and so is an account from IPs that
/// have not logged in to it successfully. Memory is bounded: the oldest entries are dropped.
public actor AuthThrottle {
    public struct Policy: Sendable {
        /// Time from the start of a failed attempt to its answer.
        public var failureDelay: Duration = .seconds(1)
        public var jitter: Duration = .milliseconds(250)
        public var window: Duration = .seconds(15 * 60)
        public var maxFailuresPerIP: Int = 10
        public var maxFailuresPerAccount: Int = 20
        public var refusalDuration: Duration = .seconds(15 * 60)
        public var maxTracked: Int = 100_000
        public init() {}
    }

    public enum Verdict: Sendable, Equatable { case allowed, refused(retryAfter: Duration) }

    struct Record {
        var failures: [ContinuousClock.Instant] = []
        var refusedUntil: ContinuousClock.Instant?
    }

    let policy: Policy
    var ips: [String: Record] = [:]
    var accounts: [String: Record] = [:]
    /// IPs that logged in to an account successfully (they are not locked out with it).
    var trusted: Set<String> = []
    /// Attempts begun and not yet answered, per IP and per account: they count as failures until
    /// they end, so parallel attempts cannot all pass the check before any is charged.
    var pendingIPs: [String: Int] = [:]
    var pendingAccounts: [String: Int] = [:]
    let now: @Sendable () -> ContinuousClock.Instant

    public init(policy: Policy = .init(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.policy = policy
        self.now = now
    }

    public func check(ip: String, account: String) -> Verdict {
        let t = now()
        if let until = ips[ip]?.refusedUntil, until > t { return .refused(retryAfter: until - t) }
        if !trusted.contains(ip + "\u{0}" + account), let until = accounts[account]?.refusedUntil, until > t {
            return .refused(retryAfter: until - t)
        }
        return .allowed
    }

    /// `check`, and when allowed, charges the attempt as pending (one step: the actor runs it whole).
    public func beginAttempt(ip: String, account: String) -> Verdict {
        if case .refused(let retryAfter) = check(ip: ip, account: account) { return .refused(retryAfter: retryAfter) }
        let t = now()
        func recent(_ r: Record?) -> Int { r?.failures.filter { t - $0 < policy.window }.count ?? 0 }
        // An IP that logged in to this account before is not guessing its password: its parallel
        // logins (a client opening many connections, an office behind one address reconnecting)
        // are not held to the budget of failures in flight. Its failures still count.
        let isTrusted = trusted.contains(ip + "\u{0}" + account)
        let busyIP = !isTrusted && recent(ips[ip]) + pendingIPs[ip, default: 0] >= policy.maxFailuresPerIP
        let busyAccount = !isTrusted
            && recent(accounts[account]) + pendingAccounts[account, default: 0] >= policy.maxFailuresPerAccount
        // Refused for as long as the attempts in flight take to be answered.
        if busyIP || busyAccount { return .refused(retryAfter: policy.failureDelay + policy.jitter) }
        guard pendingIPs.count + pendingAccounts.count < policy.maxTracked else { return .refused(retryAfter: policy.failureDelay) }
        pendingIPs[ip, default: 0] += 1
        pendingAccounts[account, default: 0] += 1
        return .allowed
    }

    /// Ends a pending attempt without a verdict.
    public func endAttempt(ip: String, account: String) {
        func drop(_ table: inout [String: Int], _ key: String) {
            guard let n = table[key] else { return }
            table[key] = n > 1 ? n - 1 : nil
        }
        drop(&pendingIPs, ip)
        drop(&pendingAccounts, account)
    }

    /// Records a failure; returns how long after the attempt began the answer should go out.
    public func recordFailure(ip: String, account: String) -> Duration {
        fail(ip: ip, account: account).answerAfter
    }

    /// Records a failure: when the answer should go out, and the lockouts it started.
    public func fail(ip: String, account: String) -> AuthFailureVerdict {
        endAttempt(ip: ip, account: account)
        let t = now()
        var lockouts: [AuthLockout] = []
        if bump(&ips, ip, at: t, limit: policy.maxFailuresPerIP) {
            lockouts.append(AuthLockout(scope: .ip, duration: policy.refusalDuration))
        }
        if bump(&accounts, account, at: t, limit: policy.maxFailuresPerAccount) {
            lockouts.append(AuthLockout(scope: .account, duration: policy.refusalDuration))
        }
        prune()
        let jitterMs = Int64.random(in: 0...max(0, policy.jitter.components.seconds * 1000 + policy.jitter.components.attoseconds / 1_000_000_000_000_000))
        return AuthFailureVerdict(answerAfter: policy.failureDelay + .milliseconds(jitterMs), lockouts: lockouts)
    }

    public func recordSuccess(ip: String, account: String) {
        endAttempt(ip: ip, account: account)
        ips[ip] = nil
        if trusted.count < policy.maxTracked { trusted.insert(ip + "\u{0}" + account) }
    }

    /// Counts a failure; true when it starts a refusal.
    private func bump(_ table: inout [String: Record], _ key: String, at t: ContinuousClock.Instant, limit: Int) -> Bool {
        var r = table[key] ?? Record()
        r.failures = r.failures.filter { t - $0 < policy.window }
        r.failures.append(t)
        var locked = false
        if r.failures.count >= limit { r.refusedUntil = t + policy.refusalDuration; r.failures = []; locked = true }
        table[key] = r
        return locked
    }

    private func prune() {
        guard ips.count + accounts.count > policy.maxTracked else { return }
        let t = now()
        func stale(_ r: Record) -> Bool { (r.refusedUntil.map { $0 <= t } ?? true) && r.failures.allSatisfy { t - $0 >= policy.window } }
        ips = ips.filter { !stale($0.value) }
        accounts = accounts.filter { !stale($0.value) }
        // Still too many: drop arbitrary entries (an attacker spraying IPs cannot grow memory).
        while ips.count > policy.maxTracked / 2, let k = ips.keys.first { ips[k] = nil }
        while accounts.count > policy.maxTracked / 2, let k = accounts.keys.first { accounts[k] = nil }
    }

    /// Entries tracked (for tests).
    public var trackedCount: Int { ips.count + accounts.count }
}

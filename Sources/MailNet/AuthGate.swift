/// Failed-login throttling as a protocol session sees it (AuthThrottle in the server; tests supply
/// their own). Shared by IMAP, POP3 and submission through `SessionAuthenticator`.
public protocol AuthGate: Sendable {
    /// Checks and charges one attempt in one step: nil when it may go ahead (it then counts as a
    /// failure until `succeeded` or `cancelled`), otherwise how long until an attempt may.
    /// Concurrent attempts therefore cannot all slip under the limit.
    func begin(ip: String, account: String) async -> Duration?
    /// The attempt failed; returns how long after it began the answer should go out, and the
    /// lockouts this failure started (for the audit log).
    func failed(ip: String, account: String) async -> AuthFailureVerdict
    func succeeded(ip: String, account: String) async
    /// The attempt ended without a verdict on the password (the store was unavailable).
    func cancelled(ip: String, account: String) async
}

/// What a failed login leads to.
public struct AuthFailureVerdict: Sendable, Hashable {
    /// How long after the attempt began the answer should go out.
    public var answerAfter: Duration
    /// The lockouts this very failure started (none when the limits were not reached now).
    public var lockouts: [AuthLockout]
    public init(answerAfter: Duration, lockouts: [AuthLockout] = []) { self.answerAfter = answerAfter; self.lockouts = lockouts }
}

extension AuthThrottle: AuthGate {
    public func begin(ip: String, account: String) async -> Duration? {
        switch beginAttempt(ip: ip, account: account) {
        case .allowed: nil
        case .refused(let retryAfter): retryAfter
        }
    }
    public func failed(ip: String, account: String) async -> AuthFailureVerdict { fail(ip: ip, account: account) }
    public func succeeded(ip: String, account: String) async { recordSuccess(ip: ip, account: account) }
    public func cancelled(ip: String, account: String) async { endAttempt(ip: ip, account: account) }
}

/// Failed-login throttling as a protocol session sees it (AuthThrottle in the server; tests supply
/// their own). Shared by IMAP, POP3 and submission through `SessionAuthenticator`.
public protocol AuthGate: Sendable {
    /// Checks and charges one attempt in one step: nil when it may go ahead (it then counts as a
    /// failure until `succeeded` or `cancelled`), otherwise how long until an attempt may.
    /// Concurrent attempts therefore cannot all slip under the limit.
    func begin(ip: String, account: String) async -> Duration?
    /// The attempt failed; returns how long after it began the answer should go out.
    func failed(ip: String, account: String) async -> Duration
    func succeeded(ip: String, account: String) async
    /// The attempt ended without a verdict on the password (the store was unavailable).
    func cancelled(ip: String, account: String) async
}

extension AuthThrottle: AuthGate {
    public func begin(ip: String, account: String) async -> Duration? {
        switch beginAttempt(ip: ip, account: account) {
        case .allowed: nil
        case .refused(let retryAfter): retryAfter
        }
    }
    public func failed(ip: String, account: String) async -> Duration { recordFailure(ip: ip, account: account) }
    public func succeeded(ip: String, account: String) async { recordSuccess(ip: ip, account: account) }
    public func cancelled(ip: String, account: String) async { endAttempt(ip: ip, account: account) }
}

/// Failed-login throttling as a protocol session sees it (AuthThrottle in the server; tests supply
/// their own). Shared by IMAP, POP3 and SMTP AUTH.
public protocol AuthGate: Sendable {
    /// nil when the attempt may go ahead; otherwise how long until it may.
    func refusal(ip: String, account: String) async -> Duration?
    /// Records a failure; returns how long after the attempt began the answer should go out.
    func failed(ip: String, account: String) async -> Duration
    func succeeded(ip: String, account: String) async
}

extension AuthThrottle: AuthGate {
    public func refusal(ip: String, account: String) async -> Duration? {
        switch check(ip: ip, account: account) {
        case .allowed: nil
        case .refused(let retryAfter): retryAfter
        }
    }
    public func failed(ip: String, account: String) async -> Duration { recordFailure(ip: ip, account: account) }
    public func succeeded(ip: String, account: String) async { recordSuccess(ip: ip, account: account) }
}

import MailNet

extension AuthThrottle: IMAPAuthGate {
    public func refusal(ip: String, account: String) async -> Duration? {
        switch check(ip: ip, account: account) {
        case .allowed: nil
        case .refused(let retryAfter): retryAfter
        }
    }
    public func failed(ip: String, account: String) async -> Duration { recordFailure(ip: ip, account: account) }
    public func succeeded(ip: String, account: String) async { recordSuccess(ip: ip, account: account) }
}

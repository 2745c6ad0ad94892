import IMAPCore
import MailNet

public struct IMAPSessionConfiguration: Sendable {
    /// Allow LOGIN / AUTHENTICATE PLAIN without TLS (local testing only).
    public var allowInsecureAuth: Bool = false
    public var limits: IMAPLimits = IMAPLimits()
    /// Autologout after this long without a command (RFC 3501 §5.4: at least 30 minutes).
    public var idleTimeout: Duration = .seconds(1800)
    /// Before login (RFC 3501 allows less than 30 minutes there): slow or idle unauthenticated
    /// connections are dropped early.
    public var preAuthTimeout: Duration = .seconds(60)
    /// Longest IDLE without any client activity before autologout (clients re-IDLE every 29 min).
    public var idleCommandTimeout: Duration = .seconds(3600)
    /// How often `* OK Still here` is sent during IDLE (keeps NAT mappings alive).
    public var idleKeepalive: Duration = .seconds(120)
    public var hostname: String = "localhost"
    public var version: String = "0.1"
    /// The time timeouts are measured in (tests move a manual clock instead of sleeping).
    public var clock = SessionClock()
    public init() {}
}

import MailNet
import POP3Core

public struct POP3SessionConfiguration: Sendable {
    /// Allow USER/PASS and AUTH PLAIN without TLS (local testing only).
    public var allowInsecureAuth: Bool = false
    public var limits: POP3Limits = POP3Limits()
    /// Autologout after this long without a command in the TRANSACTION state (RFC 1939 §3: at
    /// least 10 minutes). The session closes without entering UPDATE: nothing is deleted.
    public var idleTimeout: Duration = .seconds(600)
    /// Before login: slow or idle unauthenticated connections are dropped early.
    public var preAuthTimeout: Duration = .seconds(60)
    public var hostname: String = "localhost"
    public var version: String = "0.1"
    /// The time timeouts are measured in (tests move a manual clock instead of sleeping).
    public var clock = SessionClock()
    public init() {}
}

import MailNet
import POP3Core

public struct POP3SessionConfiguration: LoginSessionConfiguration {
    /// Login and timeouts. Autologout in the TRANSACTION state after at least 10 minutes (RFC 1939
    /// §3); the session then closes without entering UPDATE: nothing is deleted.
    public var login = LoginSessionPolicy(idleTimeout: .seconds(600))
    public var limits: POP3Limits = POP3Limits()
    public init() {}
}

import MailNet
import ManageSieveCore

public struct ManageSieveSessionConfiguration: LoginSessionConfiguration {
    /// Login and timeouts: 30 minutes without a command after login (a client editing a script
    /// keeps its connection), 60 seconds before.
    public var login = LoginSessionPolicy(idleTimeout: .seconds(1800))
    public var limits = ManageSieveLimits()
    /// How long one command may take to arrive once it has begun, however steadily its bytes
    /// come (a 1 MiB script over a slow link fits; a client trickling bytes does not hold on).
    public var commandTimeout: Duration = .seconds(300)
    /// `MAXREDIRECTS` (RFC 5804 §1.7): the `redirect`s one run may do (`SieveLimits.maxRedirects`).
    public var maxRedirects = 4
    /// Where scripts live; nil only in configurations that never reach a session.
    public var store: (any SieveScriptStore)?
    public init() {}
}

import Foundation
import IMAPCore
import MailNet

public struct IMAPSessionConfiguration: LoginSessionConfiguration {
    /// Login, timeouts before login and after (RFC 3501 §5.4: autologout after at least 30 minutes).
    public var login = LoginSessionPolicy(idleTimeout: .seconds(1800))
    public var limits: IMAPLimits = IMAPLimits()
    /// Longest IDLE without any client activity before autologout (clients re-IDLE every 29 min).
    public var idleCommandTimeout: Duration = .seconds(3600)
    /// How often `* OK Still here` is sent during IDLE (keeps NAT mappings alive).
    public var idleKeepalive: Duration = .seconds(120)
    /// The wall clock SEARCH's WITHIN keys (YOUNGER / OLDER, RFC 5032) count back from.
    public var now: @Sendable () -> Date = { Date() }
    public init() {}
}

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
    /// APPEND literals all sessions of the server may hold in memory at once (one instance shared
    /// by every session the configuration is copied to). A message's bytes count twice while
    /// read (the literal and its CRLF-canonical copy), until it is stored.
    public var appendMemory = MemoryBudget(limit: 1 << 30)
    /// An APPEND's literals must all have come within the larger of `appendTimeout` and their
    /// size at `minAppendRate` bytes a second, however steadily they trickle (slowloris); a
    /// silent client is ended by the idle limit as between commands.
    public var appendTimeout: Duration = .seconds(600)
    public var minAppendRate = 1024
    /// The wall clock SEARCH's WITHIN keys (YOUNGER / OLDER, RFC 5032) count back from.
    public var now: @Sendable () -> Date = { Date() }
    public init() {}
}

import Logging

/// What every login protocol's session (IMAP, POP3, the coming submission server) is configured
/// with, apart from its own limits. A protocol's session configuration holds one as `login` and
/// reads its fields as its own (`configuration.idleTimeout`).
public struct LoginSessionPolicy: Sendable {
    /// Allow password logins without TLS (local testing only).
    public var allowInsecureAuth = false
    /// Autologout after this long without a command once logged in.
    public var idleTimeout: Duration
    /// Before login: slow or idle unauthenticated connections are dropped early.
    public var preAuthTimeout: Duration = .seconds(60)
    /// The name the server greets with.
    public var hostname = "localhost"
    public var version = "0.1"
    /// The time timeouts are measured in (tests move a manual clock instead of sleeping).
    public var clock = SessionClock()

    public init(idleTimeout: Duration) { self.idleTimeout = idleTimeout }
}

/// A session configuration built on a `LoginSessionPolicy`: its fields read as the configuration's own.
@dynamicMemberLookup
public protocol LoginSessionConfiguration: Sendable {
    var login: LoginSessionPolicy { get set }
    /// The protocol's defaults.
    init()
}

extension LoginSessionConfiguration {
    public subscript<T>(dynamicMember field: WritableKeyPath<LoginSessionPolicy, T>) -> T {
        get { login[keyPath: field] }
        set { login[keyPath: field] = newValue }
    }
}

/// Where one session runs: its connection and the node's login service. The listener makes one
/// per connection; tests make one over a transport in memory.
public struct SessionContext<Frame: Sendable>: Sendable {
    public var transport: any SessionTransport
    public var authenticator: SessionAuthenticator
    public var remoteIP: String
    /// Implicit TLS (STARTTLS is the session's own business later).
    public var isTLS: Bool
    public var inbox: SessionInbox<Frame>
    public var logger: Logger
    /// What the session did, for the summary line its listener logs at its end.
    public var meter: SessionMeter

    public init(transport: any SessionTransport, authenticator: SessionAuthenticator, remoteIP: String, isTLS: Bool,
                inbox: SessionInbox<Frame>, logger: Logger, meter: SessionMeter = SessionMeter()) {
        self.transport = transport; self.authenticator = authenticator; self.remoteIP = remoteIP
        self.isTLS = isTLS; self.inbox = inbox; self.logger = logger; self.meter = meter
    }
}

/// A session that logs in to a mailbox (IMAP, POP3, submission): it runs on a `SessionContext`
/// and holds its `MailboxLogin` until it ends.
public protocol LoginSession: MailSession {
    var context: SessionContext<Frame> { get }
    var login: MailboxLogin? { get set }
    /// Drops what the session kept of the mailbox and marks it finished (its end has come).
    func forgetMailbox()
}

extension LoginSession {
    public var inbox: SessionInbox<Frame> { context.inbox }
    public var meter: SessionMeter? { context.meter }

    public func end() async {
        if let login { context.meter.account = login.session.address.description }
        await login?.end()
        login = nil
        forgetMailbox()
        await context.transport.close()
    }
}

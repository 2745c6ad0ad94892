import Synchronization

/// The time a session reads (idle timeouts, IDLE keepalives). Tests pass a clock they move
/// forward, then push a tick: timeouts are tested without real sleeps.
public struct SessionClock: Sendable {
    public let now: @Sendable () -> ContinuousClock.Instant
    public init(now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) { self.now = now }

    /// A clock that stands still until `advance(by:)` moves it.
    public static func manual() -> (clock: SessionClock, advance: @Sendable (Duration) -> Void) {
        let time = Mutex(ContinuousClock.now)
        return (SessionClock { time.withLock { $0 } }, { d in time.withLock { $0 += d } })
    }
}

/// What a protocol session (IMAP, POP3, SMTP, submission) gives the one run loop they share.
/// The session is a class owned by one task; the loop calls it from that task only.
public protocol MailSession: AnyObject {
    associatedtype Frame: Sendable
    var inbox: SessionInbox<Frame> { get }
    var clock: SessionClock { get }
    /// When the client last sent something (the loop sets it at every frame; long commands such
    /// as IDLE and APPEND set it as their data comes).
    var lastActivity: ContinuousClock.Instant { get set }
    /// LOGOUT, QUIT or a BYE: the loop stops.
    var isFinished: Bool { get }
    /// How long the client may stay silent now (shorter before login).
    var idleLimit: Duration { get }
    /// When the command line or transfer in progress must be complete, however steadily its bytes
    /// come (nil: none in progress). The idle limit only measures gaps: a client sending one byte
    /// every few seconds is never idle (slowloris). Checked after each frame and at each tick.
    var inputDeadline: ContinuousClock.Instant? { get }

    func handle(_ frame: Frame) async throws
    /// After a frame: flush now, or wait while the client has pipelined more commands.
    func flushAfterFrame() async throws
    /// The mailbox changed somewhere; `revoked`: this session's password was revoked.
    func mailboxChanged(revoked: Bool) async throws
    /// The periodic tick, before the idle check (e.g. is the password still valid).
    func tick() async throws
    /// Says goodbye for an idle timeout / a server shutdown (the loop flushes and stops).
    func sayIdleTimeout()
    /// Says goodbye when `inputDeadline` passed (the loop flushes and stops).
    func sayInputTimeout()
    func sayShutdown()
    func flush() async throws
    /// The loop ended by an error (the connection broke): log it.
    func sessionFailed(_ error: any Error)
    /// Gives everything back and closes the connection (the inbox is closed already).
    func end() async
    /// What the session did, for its summary line (nil: not counted).
    var meter: SessionMeter? { get }
}

extension MailSession {
    public var meter: SessionMeter? { nil }

    /// Sessions that frame whole commands before they see them (IMAP, POP3) have no deadline of
    /// their own: the idle limit, measured from the last whole frame, bounds a trickled line.
    public var inputDeadline: ContinuousClock.Instant? { nil }
    public func sayInputTimeout() { sayIdleTimeout() }

    /// Says goodbye when the input in progress passed its deadline; true when the session ends.
    func inputTimedOut() async throws -> Bool {
        guard !isFinished, let deadline = inputDeadline, clock.now() > deadline else { return false }
        sayInputTimeout()
        try await flush()
        return true
    }

    /// Runs the session until it finishes, the client leaves or stays silent past `idleLimit`,
    /// or the server shuts down; then `end()`. The greeting is expected in the output already.
    public func runLoop() async {
        let meter = self.meter
        do {
            try await flush()
            loop: while !isFinished {
                switch await inbox.next() {
                case .frame(let frame):
                    lastActivity = clock.now()
                    try await handle(frame)
                    if isFinished { meter?.ended(.quit) }
                    if try await inputTimedOut() { meter?.ended(.inputTimeout); break loop }
                    try await flushAfterFrame()
                case .changes(let revoked):
                    try await mailboxChanged(revoked: revoked)
                    if isFinished { meter?.ended(.closed) }
                case .tick:
                    try await tick()
                    if isFinished { meter?.ended(.closed); break loop }
                    if try await inputTimedOut() { meter?.ended(.inputTimeout); break loop }
                    if clock.now() - lastActivity > idleLimit {
                        meter?.ended(.idleTimeout)
                        sayIdleTimeout()
                        try await flush()
                        break loop
                    }
                case .shutdown:
                    meter?.ended(.shutdown)
                    sayShutdown()
                    try await flush()
                    break loop
                case .closed:
                    meter?.ended(.disconnected)
                    break loop
                }
            }
            try await flush()
        } catch {
            meter?.ended(.error)
            sessionFailed(error)
        }
        inbox.pushClosed()
        await end()
    }
}

import Logging
import Metrics
import NIOCore
import Synchronization

/// What one connection did, for the line logged when it ends (`MailListener`): bytes in and out
/// (counted by `ByteCountingHandler` in the channel), commands, the account that logged in and how
/// the session ended. The listener makes one per connection; the session fills in what only it
/// knows. Cheap on the hot path: atomics for the counts, a lock only for the account and the end.
public final class SessionMeter: Sendable {
    /// How a session ended, as the summary line says it (`session.end=`).
    public enum End: String, Sendable {
        /// The client said LOGOUT / QUIT.
        case quit
        /// The server ended it: a BYE / 421 of its own (revoked password, too many errors, probing).
        case closed
        case idleTimeout = "idle-timeout"
        case inputTimeout = "input-timeout"
        case shutdown
        /// The client went away without saying goodbye.
        case disconnected
        /// A write failed or the connection broke.
        case error
        /// Recipient enumeration: the MX closed the session (`SMTPProbePolicy`).
        case probing
    }

    public let started: ContinuousClock.Instant
    private let bytesInCount = Atomic<Int>(0)
    private let bytesOutCount = Atomic<Int>(0)
    private let commandCount = Atomic<Int>(0)
    private let state = Mutex<(account: String?, end: End?)>((nil, nil))

    public init(started: ContinuousClock.Instant = .now) { self.started = started }

    public var bytesIn: Int { bytesInCount.load(ordering: .relaxed) }
    public var bytesOut: Int { bytesOutCount.load(ordering: .relaxed) }
    public var commands: Int { commandCount.load(ordering: .relaxed) }

    public func received(_ count: Int) { bytesInCount.wrappingAdd(count, ordering: .relaxed) }
    public func sent(_ count: Int) { bytesOutCount.wrappingAdd(count, ordering: .relaxed) }
    public func countCommand() { commandCount.wrappingAdd(1, ordering: .relaxed) }

    /// The account the session logged in to (the address; never a password).
    public var account: String? {
        get { state.withLock { $0.account } }
        set { state.withLock { $0.account = newValue } }
    }

    /// How it ended; the first reason given stands (a session names its own before the loop's).
    public var end: End? { state.withLock { $0.end } }
    public func ended(_ reason: End) { state.withLock { if $0.end == nil { $0.end = reason } } }

    /// The summary line's fields (`session.*`), for `protocolName`/`listener` from `ip`.
    public func summary(protocolName: String, listener: String, ip: String, now: ContinuousClock.Instant = .now) -> Logger.Metadata {
        let elapsed = now - started
        let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        var metadata: Logger.Metadata = [
            "session.protocol": "\(protocolName)",
            "session.listener": "\(listener)",
            "session.ip": "\(ip)",
            "session.duration": "\(Double(ms) / 1000)s",
            "session.commands": "\(commands)",
            "session.bytes.in": "\(bytesIn)",
            "session.bytes.out": "\(bytesOut)",
            "session.end": "\((end ?? .disconnected).rawValue)",
        ]
        if let account { metadata["session.user"] = "\(AuthAudit.escape(account))" }
        return metadata
    }
}

/// Counts the bytes that cross a connection into its `SessionMeter`: placed right after TLS (when
/// there is TLS from the first byte) and before the framer, so it counts the protocol's bytes,
/// decrypted (STARTTLS puts its TLS handler in front of it) and, under COMPRESS, compressed.
final class ByteCountingHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let meter: SessionMeter
    init(meter: SessionMeter) { self.meter = meter }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        meter.received(unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        meter.sent(unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
    }
}

/// The listeners' metrics of one protocol (`sealbox_sessions_active`, `sealbox_sessions_total`,
/// `sealbox_connections_refused_total`, label `protocol`). Made once per listener, after the
/// metrics system is bootstrapped; listeners of the same protocol share the series.
struct ListenerMetrics: Sendable {
    let active: Meter
    let total: Counter
    let refused: Counter

    init(protocolName: String) {
        let dimensions = [("protocol", protocolName)]
        active = Meter(label: "sealbox_sessions_active", dimensions: dimensions)
        total = Counter(label: "sealbox_sessions_total", dimensions: dimensions)
        refused = Counter(label: "sealbox_connections_refused_total", dimensions: dimensions)
    }
}

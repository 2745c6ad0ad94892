import Logging
import MailNet
import NIOCore
import NIOSSL
import SMTPCore
import ServiceLifecycle

/// Message submission (RFC 6409, RFC 8314): port 587 with STARTTLS and port 465 with implicit
/// TLS, the SMTP session with AUTH required before MAIL, over MailNet's listener pair (the same
/// per-IP limits and shutdown as IMAP's and POP3's).
public struct SMTPSubmissionServer: Sendable {
    public struct Configuration: Sendable {
        public var listeners = ListenerPairSettings(plainPort: 587, implicitTLSPort: 465)
        /// Message bytes all submission sessions may hold in memory at once (see `SMTPMemoryBudget`).
        public var maxInFlightBytes: Int = 1 << 30
        public var session = SMTPSessionConfiguration()
        public init() {}
    }

    public static let listenerNames = (plain: "submission", implicit: "submissions")

    public let configuration: Configuration
    let tls: NIOSSLContext
    let submission: SMTPSubmissionContext
    let memory: SMTPMemoryBudget
    let logger: Logger
    let metrics = SMTPMetrics()

    public init(configuration: Configuration, tls: NIOSSLContext, submission: SMTPSubmissionContext, logger: Logger) {
        self.configuration = configuration; self.tls = tls; self.submission = submission; self.logger = logger
        memory = SMTPMemoryBudget(limit: configuration.maxInFlightBytes)
    }

    /// One Service per enabled listener; `onBound(name, address)` reports each bound address.
    public func services(onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) -> [any Service] {
        let refusal = SMTPReply(421, "4.7.0", "\(configuration.session.hostname) Too many connections, try again later").encoded
        let server = self
        return MailListener<[UInt8]>.pair(
            configuration.listeners, names: Self.listenerNames, tls: tls, refusal: ByteBuffer(bytes: refusal), logger: logger,
            onBound: onBound,
            childChannelInitializer: { channel in try channel.pipeline.syncOperations.addHandler(SMTPFrameHandler()) },
            serve: { connection, implicitTLS in await server.serve(connection, implicitTLS: implicitTLS) })
    }

    func serve(_ connection: MailConnection<[UInt8]>, implicitTLS: Bool) async {
        let inbox = SessionInbox<[UInt8]>()
        let transport = ChannelSessionTransport(connection: connection, tls: implicitTLS ? nil : tls, framer: SMTPFrameHandler.self)
        var logger = self.logger
        logger[metadataKey: "smtp.session.id"] = "\(connection.id)"
        logger[metadataKey: "smtp.listener"] = "\(implicitTLS ? Self.listenerNames.implicit : Self.listenerNames.plain)"
        let session = SMTPSession(configuration: configuration.session, transport: transport, handler: SubmissionOnlyInboundHandler(),
                                  remoteIP: connection.remoteAddress?.ipAddress ?? "unknown", isTLS: implicitTLS, inbox: inbox,
                                  rateLimiter: nil, probeLimiter: nil, memory: memory, submission: submission, logger: logger,
                                  metrics: metrics, meter: connection.meter)
        await transport.run(inbox: inbox, writeTimeout: configuration.listeners.writeTimeout) { await session.run() }
    }
}

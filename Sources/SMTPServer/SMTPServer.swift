import Logging
import MailNet
import NIOCore
import NIOSSL
import SMTPCore
import ServiceLifecycle

/// The inbound SMTP listener (the MX): port 25 with STARTTLS, over MailNet's listener.
public struct SMTPServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        public var port: Int = 25
        public var maxConnections: Int = 10_000
        public var maxConnectionsPerIP: Int = 20
        /// Messages accepted per client address per minute (nil: no limit).
        public var maxMessagesPerMinutePerIP: Int? = 300
        /// Message bytes all sessions may hold in memory at once (see `SMTPMemoryBudget`).
        public var maxInFlightBytes: Int = 1 << 30
        /// A write that cannot complete this long (the client stopped reading) ends the connection.
        public var writeTimeout: Duration = .seconds(300)
        public var session = SMTPSessionConfiguration()
        public init() {}
    }

    public let configuration: Configuration
    let tls: NIOSSLContext?
    let handler: any SMTPInboundHandler
    let rateLimiter: SMTPRateLimiter?
    let probeLimiter: SMTPRateLimiter?
    let memory: SMTPMemoryBudget
    let logger: Logger
    let metrics = SMTPMetrics()

    /// `tls` is offered as STARTTLS (nil: plaintext only).
    public init(configuration: Configuration, tls: NIOSSLContext?, handler: any SMTPInboundHandler, logger: Logger) {
        self.configuration = configuration; self.tls = tls; self.handler = handler; self.logger = logger
        rateLimiter = configuration.maxMessagesPerMinutePerIP.map { SMTPRateLimiter(perMinute: $0) }
        let probes = configuration.session.probes
        probeLimiter = probes.perIPLimit.map { SMTPRateLimiter(limit: $0, window: probes.perIPWindow) }
        memory = SMTPMemoryBudget(limit: configuration.maxInFlightBytes)
    }

    /// The listener Service; `onBound(name, address)` reports the bound address.
    public func services(onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) -> [any Service] {
        let refusal = SMTPReply(421, "4.7.0", "\(configuration.session.hostname) Too many connections, try again later").encoded
        let listenerConfiguration = MailListener<[UInt8]>.Configuration(
            name: "smtp", host: configuration.host, port: configuration.port, implicitTLS: nil,
            maxConnections: configuration.maxConnections, maxConnectionsPerIP: configuration.maxConnectionsPerIP,
            refusal: ByteBuffer(bytes: refusal))
        let server = self
        return [MailListener<[UInt8]>(
            configuration: listenerConfiguration, logger: logger,
            onBound: { address in onBound("smtp", address) },
            childChannelInitializer: { channel in
                try channel.pipeline.syncOperations.addHandler(SMTPFrameHandler())
            },
            handler: { connection in
                await server.serve(connection)
            })]
    }

    func serve(_ connection: MailConnection<[UInt8]>) async {
        let inbox = SessionInbox<[UInt8]>()
        let transport = ChannelSessionTransport(connection: connection, tls: tls, framer: SMTPFrameHandler.self)
        var logger = self.logger
        logger[metadataKey: "smtp.session.id"] = "\(connection.id)"
        let session = SMTPSession(configuration: configuration.session, transport: transport, handler: handler,
                                  remoteIP: connection.remoteAddress?.ipAddress ?? "unknown", isTLS: false, inbox: inbox,
                                  rateLimiter: rateLimiter, probeLimiter: probeLimiter, memory: memory, logger: logger,
                                  metrics: metrics, meter: connection.meter)
        await transport.run(inbox: inbox, writeTimeout: configuration.writeTimeout) { await session.run() }
    }
}

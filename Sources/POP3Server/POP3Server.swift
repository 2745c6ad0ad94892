import Logging
import MailNet
import MailboxAPI
import NIOCore
import NIOSSL
import POP3Core
import ServiceLifecycle

/// The POP3 listeners: `pop3` (STLS) and `pop3s` (implicit TLS), over MailNet's listener.
public struct POP3Server: Sendable {
    public struct Configuration: Sendable {
        public var listeners = ListenerPairSettings(plainPort: 110, implicitTLSPort: 995)
        public var session = POP3SessionConfiguration()
        public init() {}
    }

    public let configuration: Configuration
    let tls: NIOSSLContext
    let authenticator: SessionAuthenticator
    let logger: Logger

    /// `authenticator` is the node's, shared with IMAP: failed logins count across protocols, and
    /// so do sessions per mailbox.
    public init(configuration: Configuration, tls: NIOSSLContext, authenticator: SessionAuthenticator, logger: Logger) {
        self.configuration = configuration; self.tls = tls; self.authenticator = authenticator; self.logger = logger
    }

    /// One Service per enabled listener; `onBound(name, address)` reports each bound address.
    public func services(onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) -> [any Service] {
        var refusal: [UInt8] = []
        POP3Response.err("Too many connections", code: .sysTemp, into: &refusal)
        let limits = configuration.session.limits
        let server = self
        return MailListener<POP3Frame>.pair(
            configuration.listeners, names: ("pop3", "pop3s"), tls: tls,
            refusal: ByteBuffer(bytes: refusal), logger: logger, onBound: onBound,
            childChannelInitializer: { channel in try channel.pipeline.syncOperations.addHandler(POP3FrameHandler(limits: limits)) },
            serve: { connection, implicitTLS in await server.serve(connection, implicitTLS: implicitTLS) })
    }

    func serve(_ connection: MailConnection<POP3Frame>, implicitTLS: Bool) async {
        let inbox = SessionInbox<POP3Frame>()
        let transport = ChannelSessionTransport(connection: connection, tls: implicitTLS ? nil : tls, framer: POP3FrameHandler.self)
        var logger = self.logger
        logger[metadataKey: "pop3.session.id"] = "\(connection.id)"
        let session = POP3Session(configuration: configuration.session, transport: transport, authenticator: authenticator,
                                  remoteIP: connection.remoteAddress?.ipAddress ?? "unknown", isTLS: implicitTLS, inbox: inbox,
                                  logger: logger)
        await transport.run(inbox: inbox, writeTimeout: configuration.listeners.writeTimeout) { await session.run() }
    }
}

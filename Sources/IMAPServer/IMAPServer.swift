import IMAPCore
import Logging
import MailNet
import MailboxAPI
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The IMAP listeners: `imap` (STARTTLS) and `imaps` (implicit TLS), over MailNet's listener.
public struct IMAPServer: Sendable {
    public struct Configuration: Sendable {
        public var listeners = ListenerPairSettings(plainPort: 143, implicitTLSPort: 993)
        public var session = IMAPSessionConfiguration()
        public init() {}
    }

    public let configuration: Configuration
    let tls: NIOSSLContext
    let authenticator: SessionAuthenticator
    let logger: Logger

    /// `authenticator` is the node's, shared with its other protocol servers: failed logins and
    /// sessions per mailbox count across protocols.
    public init(configuration: Configuration, tls: NIOSSLContext, authenticator: SessionAuthenticator, logger: Logger) {
        self.configuration = configuration; self.tls = tls; self.authenticator = authenticator; self.logger = logger
    }

    /// One Service per enabled listener; `onBound(name, address)` reports each bound address.
    public func services(onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) -> [any Service] {
        var refusal = ByteBuffer()
        IMAPResponseEncoder.encode(.untagged(.condition(status: .bye, code: .unavailable, text: "Too many connections")), into: &refusal)
        let limits = configuration.session.limits
        let server = self
        return MailListener<IMAPFrame>.pair(
            configuration.listeners, names: ("imap", "imaps"), tls: tls,
            refusal: refusal,
            logger: logger, onBound: onBound,
            childChannelInitializer: { channel in try channel.pipeline.syncOperations.addHandler(IMAPFrameHandler(limits: limits)) },
            serve: { connection, implicitTLS in await server.serve(connection, implicitTLS: implicitTLS) })
    }

    func serve(_ connection: MailConnection<IMAPFrame>, implicitTLS: Bool) async {
        let inbox = IMAPSessionInbox()
        let transport = ChannelSessionTransport(connection: connection, tls: implicitTLS ? nil : tls, framer: IMAPFrameHandler.self)
        var logger = self.logger
        logger[metadataKey: "imap.session.id"] = "\(connection.id)"
        let ip = connection.remoteAddress?.ipAddress ?? "unknown"
        let session = IMAPSession(configuration: configuration.session, transport: transport, authenticator: authenticator,
                                  remoteIP: ip, isTLS: implicitTLS, inbox: inbox, logger: logger)
        await transport.run(inbox: inbox, writeTimeout: configuration.listeners.writeTimeout) { await session.run() }
    }
}

import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// A protocol a `ProtocolServer` serves over a plaintext (STARTTLS) and an implicit-TLS listener:
/// how its bytes become frames, what it says when the node is full, and how one session runs.
/// IMAP and POP3 conform; the submission server is next.
public protocol ServedProtocol {
    associatedtype SessionConfiguration: Sendable
    associatedtype Frame: Sendable
    associatedtype Framer: FrameCountingHandler

    /// The listeners' names, e.g. ("imap", "imaps").
    static var listenerNames: (plain: String, implicit: String) { get }
    /// The standard ports, e.g. 143 and 993.
    static var standardPorts: (plain: Int, implicit: Int) { get }
    /// The log metadata key of a session's id, e.g. "imap.session.id".
    static var sessionIDKey: String { get }
    /// Sent, then the connection closed, when the node is at its connection limit.
    static var refusal: ByteBuffer { get }
    /// A connection's frame decoder.
    static func makeFramer(_ configuration: SessionConfiguration) -> Framer
    /// Runs one session to its end.
    static func runSession(configuration: SessionConfiguration, context: SessionContext<Frame>) async
}

/// The listeners of one protocol and the sessions on them.
public struct ProtocolServer<P: ServedProtocol>: Sendable {
    public struct Configuration: Sendable {
        public var listeners = ListenerPairSettings(plainPort: P.standardPorts.plain, implicitTLSPort: P.standardPorts.implicit)
        public var session: P.SessionConfiguration

        public init(session: P.SessionConfiguration) { self.session = session }
    }

    public let configuration: Configuration
    let tls: NIOSSLContext
    let authenticator: SessionAuthenticator
    let logger: Logger

    /// `authenticator` is the node's, shared by its protocol servers: failed logins and sessions
    /// per mailbox count across protocols.
    public init(configuration: Configuration, tls: NIOSSLContext, authenticator: SessionAuthenticator, logger: Logger) {
        self.configuration = configuration; self.tls = tls; self.authenticator = authenticator; self.logger = logger
    }

    /// One Service per enabled listener; `onBound(name, address)` reports each bound address.
    public func services(onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }) -> [any Service] {
        let session = configuration.session
        let server = self
        return MailListener<P.Frame>.pair(
            configuration.listeners, names: P.listenerNames, tls: tls, refusal: P.refusal, logger: logger, onBound: onBound,
            childChannelInitializer: { channel in try channel.pipeline.syncOperations.addHandler(P.makeFramer(session)) },
            serve: { connection, implicitTLS in await server.serve(connection, implicitTLS: implicitTLS) })
    }

    func serve(_ connection: MailConnection<P.Frame>, implicitTLS: Bool) async {
        let inbox = SessionInbox<P.Frame>()
        let transport = ChannelSessionTransport(connection: connection, tls: implicitTLS ? nil : tls, framer: P.Framer.self)
        var logger = self.logger
        logger[metadataKey: P.sessionIDKey] = "\(connection.id)"
        let configuration = self.configuration
        let authenticator = self.authenticator
        await transport.run(inbox: inbox, writeTimeout: configuration.listeners.writeTimeout) {
            let context = SessionContext(transport: transport, authenticator: authenticator,
                                         remoteIP: connection.remoteAddress?.ipAddress ?? "unknown", isTLS: implicitTLS,
                                         inbox: inbox, logger: logger, meter: connection.meter)
            await P.runSession(configuration: configuration.session, context: context)
        }
    }
}

extension ProtocolServer.Configuration where P.SessionConfiguration: LoginSessionConfiguration {
    /// The standard ports and the protocol's session defaults.
    public init() { self.init(session: P.SessionConfiguration()) }
}

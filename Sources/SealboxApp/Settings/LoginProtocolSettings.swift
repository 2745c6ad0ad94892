import MailNet

/// What the settings of a login protocol (IMAP, POP3) give its listeners and sessions.
protocol LoginProtocolSettings {
    var port: ListenerPort { get }
    var implicitTLSPort: ListenerPort { get }
    var allowInsecureAuth: Bool { get }
    var maxConnectionsPerIP: Int { get }
    var idleTimeout: Duration { get }
}

extension IMAPSettings: LoginProtocolSettings {}
extension POP3Settings: LoginProtocolSettings {}

extension ProtocolServer.Configuration where P.SessionConfiguration: LoginSessionConfiguration {
    /// The listeners and sessions of one protocol as the node's and the protocol's settings say.
    init(_ settings: some LoginProtocolSettings, node: NodeSettings, session: P.SessionConfiguration) {
        self.init(session: session)
        listeners.host = node.listenAddress
        listeners.plainPort = settings.port.bindPort
        listeners.implicitTLSPort = settings.implicitTLSPort.bindPort
        listeners.maxConnectionsPerIP = settings.maxConnectionsPerIP
        self.session.allowInsecureAuth = settings.allowInsecureAuth
        self.session.idleTimeout = settings.idleTimeout
        self.session.hostname = node.hostname
    }
}

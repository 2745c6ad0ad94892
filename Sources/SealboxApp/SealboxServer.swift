import IMAPServer
import Logging
import MailNet
import NIOCore
import ServiceLifecycle

/// `sealbox serve`: every long-running part of a node, wired in one place.
public enum SealboxServer {
    /// The services of a node: the IMAP listeners and the queue watcher. `onBound(name, address)`
    /// reports each listener's address once bound (port 0 becomes a real port).
    public static func buildServices(
        configuration: SealboxConfiguration, node: SealboxNode, logger: Logger,
        onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }
    ) throws -> [any Service] {
        var hostnames = [configuration.hostname, "localhost", "127.0.0.1", "::1"]
        if !hostnames.contains(configuration.listenAddress), !["0.0.0.0", "::"].contains(configuration.listenAddress) {
            hostnames.append(configuration.listenAddress)
        }
        let tls = try ServerTLS.makeContext(certificatePath: configuration.tlsCertificatePath, keyPath: configuration.tlsKeyPath,
                                            dataDirectory: node.dataDirectory, hostnames: hostnames)
        var imap = IMAPServer.Configuration()
        imap.host = configuration.listenAddress
        imap.imapPort = configuration.imapPort
        imap.imapsPort = configuration.imapsPort
        imap.maxConnectionsPerIP = configuration.imapMaxConnectionsPerIP
        imap.maxSessionsPerMailbox = configuration.imapMaxSessionsPerMailbox
        imap.session.allowInsecureAuth = configuration.imapAllowInsecureAuth
        imap.session.idleTimeout = configuration.imapIdleTimeout
        imap.session.hostname = configuration.hostname
        imap.session.limits.maxAppendSize = configuration.appendLimit
        let server = IMAPServer(configuration: imap, tls: tls, mailboxes: node.mailboxes, authGate: AuthThrottle(), logger: logger)
        return server.services(onBound: onBound) + [QueueWatcher(queue: node.queue, mailboxes: node.mailboxes, logger: logger)]
    }
}

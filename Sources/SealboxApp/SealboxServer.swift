import IMAPServer
import Logging
import POP3Server
import MailNet
import NIOCore
import Outbound
import ServiceLifecycle
import SMTPServer
import MailCore

/// `sealbox serve`: every long-running part of a node, wired in one place.
public enum SealboxServer {
    /// The services of a node: the IMAP and POP3 listeners, the backup schedule (when a destination is configured) and the queue watcher. `onBound(name, address)`
    /// reports each listener's address once bound (port 0 becomes a real port).
    public static func buildServices(
        configuration: SealboxConfiguration, node: SealboxNode, logger: Logger,
        onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }
    ) throws -> [any Service] {
        var hostnames = [configuration.node.hostname, "localhost", "127.0.0.1", "::1"]
        if !hostnames.contains(configuration.node.listenAddress), !["0.0.0.0", "::"].contains(configuration.node.listenAddress) {
            hostnames.append(configuration.node.listenAddress)
        }
        let tls = try ServerTLS.makeContext(certificatePath: configuration.node.tlsCertificatePath, keyPath: configuration.node.tlsKeyPath,
                                            dataDirectory: node.dataDirectory, hostnames: hostnames)
        var imapSession = IMAPSessionConfiguration()
        imapSession.limits.maxAppendSize = configuration.imap.appendLimit
        let imap = IMAPServer.Configuration(configuration.imap, node: configuration.node, session: imapSession)
        // One throttle and one per-mailbox session count for every protocol of the node.
        let authenticator = SessionAuthenticator(
            mailboxes: node.mailboxes, gate: AuthThrottle(),
            limiter: SessionLimiter(maxPerMailbox: configuration.imap.maxSessionsPerMailbox))
        let server = IMAPServer(configuration: imap, tls: tls, authenticator: authenticator, logger: logger)
        var services = server.services(onBound: onBound)
        let outbound = try OutboundWorker.make(configuration: configuration, node: node, logger: logger)
        if configuration.pop3.enabled {
            let pop3 = POP3Server.Configuration(configuration.pop3, node: configuration.node, session: POP3SessionConfiguration())
            services += POP3Server(configuration: pop3, tls: tls, authenticator: authenticator, logger: logger)
                .services(onBound: onBound)
        }
        if configuration.smtp.enabled {
            var smtp = SMTPServer.Configuration()
            smtp.host = configuration.node.listenAddress
            smtp.port = configuration.smtp.port
            smtp.maxConnectionsPerIP = configuration.smtp.maxConnectionsPerIP
            smtp.maxMessagesPerMinutePerIP = configuration.smtp.maxMessagesPerMinutePerIP
            smtp.session.hostname = configuration.node.hostname
            smtp.session.idleTimeout = configuration.smtp.idleTimeout
            smtp.session.requireTLS = configuration.smtp.requireTLS
            smtp.session.limits.maxMessageSize = configuration.smtp.maxMessageSize
            smtp.session.limits.maxChunkSize = configuration.smtp.maxMessageSize
            smtp.session.limits.maxRecipients = configuration.smtp.maxRecipients
            smtp.maxInFlightBytes = max(configuration.smtp.maxInFlightBytes, configuration.smtp.maxMessageSize)
            let postmaster = try configuration.smtp.postmaster.map { text in
                do { return try EmailAddress(text) } catch {
                    throw SealboxConfiguration.Failure(description: "configuration smtp.postmaster = \"\(text)\" is not an address")
                }
            }
            let handler = DirectoryInboundHandler(directory: node.directory, mailboxes: node.mailboxes, postmaster: postmaster,
                                                  rewriteSender: outbound.rewriteSender, onJobsQueued: outbound.wake,
                                                  srsDomain: outbound.srsDomain, reverseSRS: outbound.reverseSender)
            services += SMTPServer(configuration: smtp, tls: tls, handler: handler, logger: logger).services(onBound: onBound)
        }
        services.append(outbound)
        if let interval = configuration.backup.interval, configuration.backup.destination != nil {
            services.append(BackupScheduler(service: try SealboxBackups.service(configuration: configuration, node: node, logger: logger),
                                            interval: interval, logger: logger))
        }
        return services + [QueueWatcher(queue: node.queue, mailboxes: node.mailboxes, logger: logger)]
    }
}

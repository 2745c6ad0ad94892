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
        var hostnames = [configuration.hostname, "localhost", "127.0.0.1", "::1"]
        if !hostnames.contains(configuration.listenAddress), !["0.0.0.0", "::"].contains(configuration.listenAddress) {
            hostnames.append(configuration.listenAddress)
        }
        let tls = try ServerTLS.makeContext(certificatePath: configuration.tlsCertificatePath, keyPath: configuration.tlsKeyPath,
                                            dataDirectory: node.dataDirectory, hostnames: hostnames)
        var imap = IMAPServer.Configuration()
        imap.listeners.host = configuration.listenAddress
        imap.listeners.plainPort = configuration.imapPort
        imap.listeners.implicitTLSPort = configuration.imapsPort
        imap.listeners.maxConnectionsPerIP = configuration.imapMaxConnectionsPerIP
        imap.session.allowInsecureAuth = configuration.imapAllowInsecureAuth
        imap.session.idleTimeout = configuration.imapIdleTimeout
        imap.session.hostname = configuration.hostname
        imap.session.limits.maxAppendSize = configuration.appendLimit
        // One throttle and one per-mailbox session count for every protocol of the node.
        let authenticator = SessionAuthenticator(
            mailboxes: node.mailboxes, gate: AuthThrottle(),
            limiter: SessionLimiter(maxPerMailbox: configuration.imapMaxSessionsPerMailbox))
        let server = IMAPServer(configuration: imap, tls: tls, authenticator: authenticator, logger: logger)
        var services = server.services(onBound: onBound)
        let outbound = try OutboundWorker.make(configuration: configuration, node: node, logger: logger)
        if configuration.pop3Enabled {
            var pop3 = POP3Server.Configuration()
            pop3.listeners.host = configuration.listenAddress
            pop3.listeners.plainPort = configuration.pop3Port
            pop3.listeners.implicitTLSPort = configuration.pop3sPort
            pop3.listeners.maxConnectionsPerIP = configuration.pop3MaxConnectionsPerIP
            pop3.session.allowInsecureAuth = configuration.pop3AllowInsecureAuth
            pop3.session.idleTimeout = configuration.pop3IdleTimeout
            pop3.session.hostname = configuration.hostname
            services += POP3Server(configuration: pop3, tls: tls, authenticator: authenticator, logger: logger)
                .services(onBound: onBound)
        }
        if configuration.smtpEnabled {
            var smtp = SMTPServer.Configuration()
            smtp.host = configuration.listenAddress
            smtp.port = configuration.smtpPort
            smtp.maxConnectionsPerIP = configuration.smtpMaxConnectionsPerIP
            smtp.maxMessagesPerMinutePerIP = configuration.smtpMaxMessagesPerMinutePerIP
            smtp.session.hostname = configuration.hostname
            smtp.session.idleTimeout = configuration.smtpIdleTimeout
            smtp.session.requireTLS = configuration.smtpRequireTLS
            smtp.session.limits.maxMessageSize = configuration.smtpMaxMessageSize
            smtp.session.limits.maxChunkSize = configuration.smtpMaxMessageSize
            smtp.session.limits.maxRecipients = configuration.smtpMaxRecipients
            smtp.maxInFlightBytes = max(configuration.smtpMaxInFlightBytes, configuration.smtpMaxMessageSize)
            let postmaster = try configuration.smtpPostmaster.map { text in
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
        if let interval = configuration.backupInterval, configuration.backupDestination != nil {
            services.append(BackupScheduler(service: try SealboxBackups.service(configuration: configuration, node: node, logger: logger),
                                            interval: interval, logger: logger))
        }
        return services + [QueueWatcher(queue: node.queue, mailboxes: node.mailboxes, logger: logger)]
    }
}

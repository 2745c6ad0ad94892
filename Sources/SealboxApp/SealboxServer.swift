import ClusterRegistry
import Directory
import MailboxAPI
import DNSCore
import DNSResolver
import HTTPServer
import IMAPServer
import Logging
import POP3Server
import MailNet
import ManageSieveServer
import MailStore
import NIOCore
import NIOSSL
import Outbound
import ServiceLifecycle
import SMTPServer
import MailCore

/// `sealbox serve`: every long-running part of a node, wired in one place.
public enum SealboxServer {
    /// The services of a node: the IMAP, POP3, ManageSieve and SMTP listeners, the outbound worker, the backup
    /// schedule (when a destination is configured) and the queue watcher. A listener whose port
    /// setting is off is not made, and a protocol with every listener off is not started;
    /// `onOff(name, key)` reports each such listener (of a protocol that is enabled) and the key
    /// that turned it off. `onBound(name, address)` reports each listener's address once bound (an
    /// `auto` port becomes a real port). `dns`: the resolver every part that needs DNS gets (nil:
    /// the node's own, made from `configuration.dns` and shut when the services end).
    ///
    /// In a cluster (`cluster`, issue 19): a storage node (`node` and `cluster`) runs no client
    /// listeners but the cluster RPC, its leases, the outbound worker, backups of its own mailboxes
    /// and HTTP; a frontend (`cluster` alone, `node` nil) runs the client listeners over the RPC and
    /// nothing that keeps state.
    public static func buildServices(
        configuration: SealboxConfiguration, node: SealboxNode?, cluster: ClusterRuntime? = nil, logger: Logger, dns: (any DNSResolving)? = nil,
        onOff: @escaping @Sendable (_ name: String, _ key: String) -> Void = { _, _ in },
        onBound: @escaping @Sendable (String, SocketAddress) -> Void = { _, _ in }
    ) throws -> [any Service] {
        guard let dataDirectory = node?.dataDirectory ?? cluster?.dataDirectory,
              let directory: any MailDirectory = node?.directory ?? cluster?.directory else {
            preconditionFailure("buildServices needs a node or a cluster runtime")
        }
        let role = cluster?.role ?? .all
        // What the protocol servers use: the node's own mailboxes, or on a frontend the storage nodes'.
        let mailboxes: any MailboxService = role == .frontend || node == nil ? cluster!.remote : node!.mailboxes
        // A storage node serves clients only through frontends.
        let clientListeners = role != .storage
        let sieveMemory = cluster?.secrets.sieveMemory ?? node!.sieveMemoryHasher
        // Before any metric object is made: they bind to the factory of their time.
        let metrics = SealboxMetrics.shared
        // Every listener's bound port (autoconfiguration, the web pages); `/readyz`: every listener
        // made here must have bound.
        let bound = BoundListenerPorts()
        let readiness = ListenerReadiness()
        let onListenerBound: @Sendable (String, SocketAddress) -> Void = { name, address in
            bound.record(name, address)
            readiness.bound(name)
            onBound(name, address)
        }
        /// Reports the listeners that are off; whether any of them is on (those are expected to bind).
        func anyOn(_ listeners: [(name: String, key: SettingKey, port: ListenerPort)]) -> Bool {
            for l in listeners where l.port.isOff { onOff(l.name, l.key.name) }
            for l in listeners where !l.port.isOff { readiness.expect(l.name) }
            return listeners.contains { !$0.port.isOff }
        }
        var hostnames = [configuration.node.hostname, "localhost", "127.0.0.1", "::1"]
        if !hostnames.contains(configuration.node.listenAddress), !["0.0.0.0", "::"].contains(configuration.node.listenAddress) {
            hostnames.append(configuration.node.listenAddress)
        }
        let tlsConfiguration = try ServerTLS.makeConfiguration(certificatePath: configuration.node.tlsCertificatePath, keyPath: configuration.node.tlsKeyPath,
                                                               dataDirectory: dataDirectory, hostnames: hostnames)
        let tls = try NIOSSLContext(configuration: tlsConfiguration)
        var imapSession = IMAPSessionConfiguration()
        imapSession.limits.maxAppendSize = configuration.imap.appendLimit
        // One message of the largest size always fits (it counts twice while read).
        imapSession.appendMemory = MemoryBudget(limit: max(configuration.imap.maxAppendInFlightBytes, 2 * configuration.imap.appendLimit))
        let imap = IMAPServer.Configuration(configuration.imap, node: configuration.node, session: imapSession)
        // A login after a long absence is answered within about this long; the rest of its queued
        // mail moves in the background (IMAP sessions see it arrive as EXISTS).
        node?.mailboxes.loginDrainBudget = .seconds(2)
        node?.mailboxes.defaultQuotaBytes = configuration.storage.defaultQuotaBytes
        // Below the free-space floor nothing new is stored; each crossing is logged once.
        if let node, configuration.storage.minFreeBytes != 0 {
            node.mailboxes.spaceGuard = DiskSpaceGuard(path: node.dataDirectory, floor: configuration.storage.minFreeBytes, onChange: { low, space, floor in
                let metadata: Logger.Metadata = ["storage.freeBytes": "\(space.free)", "storage.floorBytes": "\(floor)", "storage.path": "\(node.dataDirectory)"]
                if low {
                    logger.warning("disk below its free-space floor: new mail is refused (452 4.3.1) and APPEND/COPY get NO until space is freed", metadata: metadata)
                } else {
                    logger.notice("disk above its free-space floor again: mail is accepted", metadata: metadata)
                }
            })
        }
        // One throttle and one per-mailbox session count for every protocol of the node.
        let limiter = SessionLimiter(maxPerMailbox: configuration.imap.maxSessionsPerMailbox)
        let authenticator = SessionAuthenticator(mailboxes: mailboxes, gate: AuthThrottle(), limiter: limiter)
        var services: [any Service] = []
        // The node's one DNS resolver. Its service comes first so that it is stopped last.
        let resolver: any DNSResolving
        if let dns {
            resolver = dns
        } else {
            let own = try NodeResolver(configuration.dns, logger: logger)
            services.append(DNSResolverService(resolver: own, logger: logger))
            resolver = own
        }
        if clientListeners, anyOn([(IMAP.listenerNames.plain, IMAPSettings.Key.port, configuration.imap.port),
                  (IMAP.listenerNames.implicit, IMAPSettings.Key.implicitTLSPort, configuration.imap.implicitTLSPort)]) {
            services += IMAPServer(configuration: imap, tls: tls, authenticator: authenticator, logger: logger).services(onBound: onListenerBound)
        }
        // Direct delivery (MX, MTA-STS, DANE) and the MX's SPF/DKIM/DMARC/ARC checks ask the node's resolver.
        let outbound = try node.map { try OutboundWorker.make(configuration: configuration, node: $0, dns: resolver, cluster: cluster?.secrets, logger: logger) }
        if let node, let outbound {
            node.setOutboundWaker(outbound.wake)
            // Jobs a frontend's MX committed here over the RPC go at once.
            node.mailboxes.onJobsQueued = outbound.wake
        }
        let srs = SRS(secret: try OutboundWorker.srsSecret(configuration, dataDirectory: dataDirectory, cluster: cluster?.secrets),
                      domain: configuration.outbound.srsDomain ?? configuration.node.hostname)
        if clientListeners, configuration.pop3.enabled,
           anyOn([(POP3.listenerNames.plain, POP3Settings.Key.port, configuration.pop3.port),
                  (POP3.listenerNames.implicit, POP3Settings.Key.implicitTLSPort, configuration.pop3.implicitTLSPort)]) {
            let pop3 = POP3Server.Configuration(configuration.pop3, node: configuration.node, session: POP3SessionConfiguration())
            services += POP3Server(configuration: pop3, tls: tls, authenticator: authenticator, logger: logger)
                .services(onBound: onListenerBound)
        }
        if clientListeners, configuration.manageSieve.enabled,
           anyOn([(ManageSieve.listenerNames.plain, ManageSieveSettings.Key.port, configuration.manageSieve.port)]) {
            services += ManageSieveServer(configuration: .init(configuration.manageSieve, node: configuration.node, directory: directory),
                                          tls: tls, authenticator: authenticator, logger: logger).services(onBound: onListenerBound)
        }
        let postmaster = try configuration.smtp.postmaster.map { text in
            do { return try EmailAddress(text) } catch {
                throw SealboxConfiguration.Failure(description: "configuration smtp.postmaster = \"\(text)\" is not an address")
            }
        }
        // Local delivery, for the MX and for submission alike (on a storage node, for its outbound
        // worker's bounces and forwards to local aliases: over the RPC, as the mailbox may live on
        // another storage node).
        let deliveryMailboxes: any MailboxService = cluster.map { $0.remote } ?? mailboxes
        let rewriteSender: @Sendable (String) -> String = { sender in sender.isEmpty ? "" : srs.forward(sender) }
        var jobsQueued: @Sendable () -> Void = {}
        if let outbound { jobsQueued = outbound.wake }
        let handler = DirectoryInboundHandler(directory: directory, mailboxes: deliveryMailboxes, postmaster: postmaster,
                                              rewriteSender: rewriteSender, onJobsQueued: jobsQueued,
                                              srsDomain: srs.domain, reverseSRS: { srs.reverse($0) },
                                              defaultQuotaBytes: configuration.storage.defaultQuotaBytes,
                                              authenticator: try SealboxAuth.makeAuthenticator(configuration, resolver: resolver, logger: logger),
                                              sieve: SieveDelivery(filtering: DirectorySieveFilter(directory: directory),
                                                                   hasher: sieveMemory, hostname: configuration.node.hostname))
        outbound?.deliverLocally(through: DirectoryLocalDelivery(directory: directory, handler: handler, hostname: configuration.node.hostname,
                                                                 srsDomain: srs.domain))
        if clientListeners, configuration.smtp.enabled, anyOn([("smtp", SMTPSettings.Key.port, configuration.smtp.port)]),
           let port = configuration.smtp.port.bindPort {
            var smtp = SMTPServer.Configuration()
            smtp.host = configuration.node.listenAddress
            smtp.port = port
            smtp.maxConnectionsPerIP = configuration.smtp.maxConnectionsPerIP
            smtp.maxMessagesPerMinutePerIP = configuration.smtp.maxMessagesPerMinutePerIP
            smtp.session.hostname = configuration.node.hostname
            smtp.session.idleTimeout = configuration.smtp.idleTimeout
            smtp.session.commandTimeout = configuration.smtp.commandTimeout
            smtp.session.dataTimeout = configuration.smtp.dataTimeout
            smtp.session.minDataRate = configuration.smtp.minDataRate
            smtp.session.probes.tarpitAfter = configuration.smtp.unknownRecipientsTarpit
            smtp.session.probes.closeAfter = configuration.smtp.unknownRecipientsLimit
            smtp.session.probes.perIPLimit = configuration.smtp.unknownRecipientsPerIP
            smtp.session.requireTLS = configuration.smtp.requireTLS
            smtp.session.limits.maxMessageSize = configuration.smtp.maxMessageSize
            smtp.session.limits.maxChunkSize = configuration.smtp.maxMessageSize
            smtp.session.limits.maxRecipients = configuration.smtp.maxRecipients
            // The budget counts every copy a message takes (`DirectoryInboundHandler.copiesHeld`):
            // it must hold at least one message of the largest size to one mailbox.
            smtp.maxInFlightBytes = max(configuration.smtp.maxInFlightBytes,
                                        DirectoryInboundHandler.copiesHeld(storingMailboxes: 1) * configuration.smtp.maxMessageSize)
            services += SMTPServer(configuration: smtp, tls: tls, handler: handler, logger: logger).services(onBound: onListenerBound)
        }
        if clientListeners, anyOn([(SMTPSubmissionServer.listenerNames.plain, SubmissionSettings.Key.port, configuration.submission.port),
                  (SMTPSubmissionServer.listenerNames.implicit, SubmissionSettings.Key.implicitTLSPort, configuration.submission.implicitTLSPort)]) {
            services += SMTPSubmissionServer(configuration: .init(configuration.submission, node: configuration.node, smtp: configuration.smtp), tls: tls,
                                             submission: SMTPSubmissionContext(
                                                authenticator: authenticator,
                                                handler: DirectorySubmissionHandler(
                                                    directory: directory, inbound: handler,
                                                    limits: SubmissionLimits(maxMessagesPerHour: configuration.submission.maxMessagesPerHour,
                                                                             maxRecipientsPerDay: configuration.submission.maxRecipientsPerDay)),
                                                allowInsecureAuth: configuration.submission.allowInsecureAuth),
                                             logger: logger).services(onBound: onListenerBound)
        }
        if let cluster { services += try cluster.services(node: node, sessions: { limiter.total }, logger: logger, onBound: onListenerBound) }
        let httpPort = configuration.http.enabled && anyOn([(configuration.http.tls ? "https" : "http", HTTPSettings.Key.port, configuration.http.port)])
            ? configuration.http.port.bindPort : nil
        let httpTLS = configuration.http.tls ? tlsConfiguration : nil
        guard let node, let outbound else {
            // A frontend: no outbound worker, queue or backups (storage nodes run them). Its HTTP
            // serves health, metrics, autoconfiguration and MTA-STS (the API and pages: storage nodes).
            if let httpPort {
                services += try SealboxHTTP.server(configuration: configuration, port: httpPort, tls: httpTLS, directory: directory, backend: nil,
                                                   logger: logger, bound: bound, listeners: readiness, metrics: { metrics.exposition() })
                    .services(onBound: onListenerBound)
            }
            return services
        }
        services.append(outbound)
        let backupMetrics = configuration.backup.interval != nil && configuration.backup.destination != nil ? BackupMetrics() : nil
        let gauges = NodeGauges(node: node, backup: backupMetrics)
        if let httpPort {
            services += try SealboxHTTP.server(configuration: configuration, port: httpPort, tls: httpTLS,
                                               node: node, authenticator: authenticator, logger: logger, bound: bound,
                                               listeners: readiness, metrics: { await gauges.refresh(); return metrics.exposition() })
                .services(onBound: onListenerBound)
        }
        if let interval = configuration.backup.interval, configuration.backup.destination != nil {
            var owns: (@Sendable (String) async -> Bool)?
            if let cluster { owns = { mailboxID in await cluster.owns(mailboxID: mailboxID) } }
            services.append(BackupScheduler(service: try SealboxBackups.service(configuration: configuration, node: node, logger: logger),
                                            interval: interval, logger: logger, metrics: backupMetrics, owns: owns))
        }
        return services + [QueueWatcher(queue: node.queue, mailboxes: node.mailboxes, logger: logger)]
    }
}

import ArgumentParser
import Directory
import Foundation
import Logging
import NIOCore
import SealboxApp
import ServiceLifecycle
import UnixSignals

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Sealbox node (IMAP, POP3 and submission, each on a STARTTLS and an implicit-TLS port; ManageSieve; SMTP for inbound mail) until SIGTERM or SIGINT.",
        discussion: """
            Settings come from these flags, then SEALBOX_* environment variables, then a JSON file \
            (--config, or sealbox.json in the data directory), then defaults. With no certificate \
            configured, a self-signed one is made on first start and kept in <data-dir>/tls/.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("A JSON configuration file.", valueName: "file")) var config: String?
    @Option(help: ArgumentHelp("Address to listen on (listen.address).", valueName: "address")) var listen: String?
    // Each port: a number, 0 or `off` (no such listener), `auto` (any free port); checked with the settings.
    @Option(help: ArgumentHelp("IMAP port with STARTTLS (imap.port; 0 or off: none; auto: any free port).", valueName: "port")) var imapPort: String?
    @Option(help: ArgumentHelp("IMAP port with implicit TLS (imaps.port; 0 or off: none; auto: any free port).", valueName: "port")) var imapsPort: String?
    @Option(help: ArgumentHelp("POP3 port with STLS (pop3.port; 0 or off: none; auto: any free port).", valueName: "port")) var pop3Port: String?
    @Option(help: ArgumentHelp("POP3 port with implicit TLS (pop3s.port; 0 or off: none; auto: any free port).", valueName: "port")) var pop3sPort: String?
    @Option(help: ArgumentHelp("SMTP port receiving mail for the server's domains, with STARTTLS (smtp.port; 0 or off: none; auto: any free port).", valueName: "port")) var smtpPort: String?
    @Option(help: ArgumentHelp("Submission port with STARTTLS, AUTH required (submission.port; 0 or off: none; auto: any free port).", valueName: "port")) var submissionPort: String?
    @Option(help: ArgumentHelp("Submission port with implicit TLS (submissions.port; 0 or off: none; auto: any free port).", valueName: "port")) var submissionsPort: String?
    @Option(help: ArgumentHelp("ManageSieve port with STARTTLS (managesieve.port; 0 or off: none; auto: any free port).", valueName: "port")) var managesievePort: String?
    @Option(help: ArgumentHelp("HTTP port: API, web pages, autoconfiguration, metrics (http.port; 0 or off: none; auto: any free port).", valueName: "port")) var httpPort: String?
    @Flag(help: "Allow password logins without TLS: IMAP, POP3, submission and ManageSieve (imap.allowInsecureAuth, pop3.allowInsecureAuth, submission.allowInsecureAuth, managesieve.allowInsecureAuth; local testing only).")
    var allowInsecureAuth = false
    @Option(help: ArgumentHelp("TLS certificate chain, PEM (tls.certificate).", valueName: "file")) var tlsCertificate: String?
    @Option(help: ArgumentHelp("TLS private key, PEM (tls.key).", valueName: "file")) var tlsKey: String?
    @Option(help: ArgumentHelp("all (one machine, the default), storage or frontend: the node's part in a cluster (node.role; docs/cluster.md).", valueName: "role")) var role: String?

    func run() async throws {
        try await runReportingErrors {
            var overrides: [String: String] = ["data.directory": global.dataDir]
            if let listen { overrides["listen.address"] = listen }
            if let imapPort { overrides["imap.port"] = imapPort }
            if let imapsPort { overrides["imaps.port"] = imapsPort }
            if let pop3Port { overrides["pop3.port"] = pop3Port }
            if let pop3sPort { overrides["pop3s.port"] = pop3sPort }
            if let smtpPort { overrides["smtp.port"] = smtpPort }
            if let submissionPort { overrides["submission.port"] = submissionPort }
            if let submissionsPort { overrides["submissions.port"] = submissionsPort }
            if let managesievePort { overrides["managesieve.port"] = managesievePort }
            if let httpPort { overrides["http.port"] = httpPort }
            if allowInsecureAuth {
                overrides["imap.allowInsecureAuth"] = "true"; overrides["pop3.allowInsecureAuth"] = "true"
                overrides["submission.allowInsecureAuth"] = "true"; overrides["managesieve.allowInsecureAuth"] = "true"
                overrides["http.allowInsecureAuth"] = "true"
            }
            if let tlsCertificate { overrides["tls.certificate"] = tlsCertificate }
            if let tlsKey { overrides["tls.key"] = tlsKey }
            if let role { overrides["node.role"] = role }
            let settings = try await SealboxConfiguration.load(overrides: overrides, configFile: config)

            for warning in try SecretFilePermissions.check(dataDirectory: settings.node.dataDirectory, tlsKeyPath: settings.node.tlsKeyPath) {
                printError(warning)
            }
            let lock = try DataDirectoryLock(dataDirectory: settings.node.dataDirectory)
            // log.format / log.level (SEALBOX_LOG_LEVEL): every logger of the process writes through it.
            SealboxLogHandler.bootstrap(format: settings.log.format, level: settings.log.level)
            var logger = Logger(label: "sealbox")
            logger.logLevel = settings.log.level
            // A frontend keeps no durable state: no node key, directory file, queue or mailboxes.
            var node: SealboxNode?
            if settings.cluster.role != .frontend {
                let opened = try await SealboxNode.open(dataDirectory: settings.node.dataDirectory, key: nodeKeyOptions(settings),
                                                        directoryURL: settings.directory.url)
                for line in NodeKeyNotice.lines(mode: opened.keyMode, dataDirectory: opened.dataDirectory) + opened.keyWarnings { printError(line) }
                if let warning = NodeKeyNotice.passphraseInDataDirectory(dataDirectory: opened.dataDirectory, configFile: config) { printError(warning) }
                node = opened
            }
            unsetenv("SEALBOX_NODE_KEY_PASSPHRASE")
            let cluster: ClusterRuntime?
            do {
                cluster = settings.cluster.role == .all ? nil : try await ClusterRuntime.join(configuration: settings, node: node, logger: logger)
            } catch {
                await node?.shutdown()
                throw error
            }
            // Trap SIGTERM/SIGINT before saying "ready": a signal that arrives while the services are
            // still being built is remembered by the group and ends it gracefully, not by default action.
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
            guard let directory: any MailDirectory = node?.directory ?? cluster?.directory else { return }
            let domains = try await directory.domains().count
            let aliases = try await directory.aliases(domain: nil).count
            printError("node ready: data directory \(settings.node.dataDirectory), \(domains) domain(s), \(aliases) alias(es)")
            if let postgres = node?.postgresDirectory ?? cluster?.directory {
                printError("directory: PostgreSQL \(postgres.configuration.url)")
            }
            if let cluster {
                printError("cluster: node \(cluster.name), role \(cluster.role.rawValue)" + (cluster.leases.map { " (\($0.leased.count) mailbox lease(s))" } ?? ""))
            }
            // Domains added before DKIM signing existed get their keys now (and a line saying so).
            for domain in try await DomainKeys.ensureEveryDomainHasKeys(directory: directory) {
                printError("made DKIM keys for \(domain.ascii): publish the records `sealbox domain dns \(domain.ascii)` prints")
            }
            printError("dns: \(settings.dns.summary)")
            if settings.imap.allowInsecureAuth {
                printError("warning: plaintext authentication without TLS is allowed (imap.allowInsecureAuth)")
            }
            if settings.pop3.enabled && settings.pop3.allowInsecureAuth && !settings.imap.allowInsecureAuth {
                printError("warning: plaintext authentication without TLS is allowed (pop3.allowInsecureAuth)")
            }
            if settings.manageSieve.enabled && settings.manageSieve.allowInsecureAuth && !settings.imap.allowInsecureAuth {
                printError("warning: plaintext authentication without TLS is allowed (managesieve.allowInsecureAuth)")
            }
            if settings.submission.allowInsecureAuth && !settings.imap.allowInsecureAuth {
                printError("warning: plaintext authentication without TLS is allowed (submission.allowInsecureAuth)")
            }
            printError(settings.outbound.relayHost.map { "outbound: through the smarthost \($0):\(settings.outbound.relayPort)" }
                       ?? "outbound: direct to each recipient domain's MX (port \(settings.outbound.mxPort); MTA-STS \(settings.outbound.mtaSTS ? "honoured" : "off"), DANE where DNSSEC validates)")
            let services = try SealboxServer.buildServices(configuration: settings, node: node, cluster: cluster, logger: logger, onOff: { name, key in
                printError("listener off: \(name) (\(key))")
            }) { name, address in
                let mode = name == "http" ? "plain" : name == "cluster-rpc" ? "mutual TLS" : name.hasSuffix("s") ? "TLS" : "STARTTLS"
                printError("listening: \(name) \(address.ipAddress ?? "?"):\(address.port ?? 0) (\(mode))")
            }
            // The CLI beside the running node: its commands run here, on this node (ControlClient).
            var all = services
            if let node {
                all.append(ControlServer(socketPath: ControlServer.socketPath(dataDirectory: node.dataDirectory), logger: logger, onReady: { path in
                    printError("control socket: \(path) (the CLI's commands run in this node while it serves)")
                }) { request, session in
                    await ControlClient.runHere(request, session: session, node: node)
                })
            }
            let group = ServiceGroup(configuration: .init(services: all.map { .init(service: $0) }, logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await _ in signals {
                        await group.triggerGracefulShutdown()
                    }
                }
                try await group.run()
                tasks.cancelAll()
            }
            printError("shutting down")
            await cluster?.shutdown(node: node)
            await node?.shutdown()
            withExtendedLifetime(lock) {}
        }
    }
}

import Configuration
import Foundation

private let asRoot = geteuid() == 0

/// What every component of the node shares: where it keeps its data, where it listens, its name
/// and its certificate.
public struct NodeSettings: ComponentSettings {
    public static let title = "Node"
    enum Key {
        static let dataDirectory = SettingKey("data.directory", .text, default: "`./sealbox-data`",
                                              "The data directory (also `SEALBOX_DATA_DIR`).", flag: "--data-dir")
        static let listenAddress = SettingKey("listen.address", .text, default: "`127.0.0.1`",
                                              "The address every listener binds (`0.0.0.0` or `::` for all).", flag: "serve --listen")
        static let hostname = SettingKey("server.hostname", .text, default: "the machine's host name",
                                         "The name in greetings, Received headers, bounces and the self-signed certificate.")
        static let certificate = SettingKey("tls.certificate", .text, default: "a self-signed certificate in `<data-dir>/tls/`",
                                            "The TLS certificate chain (PEM); with `tls.key`.", flag: "serve --tls-certificate")
        static let key = SettingKey("tls.key", .text, default: "with the self-signed certificate",
                                    "The TLS private key (PEM); with `tls.certificate`.", flag: "serve --tls-key")
        static let nodeKeyFile = SettingKey("node.keyFile", .text, default: "`<data-dir>/node.key`, or where `sealbox node key move` put it",
                                            "The node key (32 bytes, mode 0600) outside the data directory: a systemd credential, a mounted secret. Wins over the place `node key move --to` recorded; made on first start for a new node.")
        static let nodeKeyPassphrase = SettingKey("node.keyPassphrase", .secret, default: "none: a prompt on a terminal",
                                                  "Opens the node key sealed with a passphrase (`<data-dir>/node.key.sealed`, `node key move --passphrase`); give it through the environment, not a file in the data directory. For a new node: seal its key.")
    }
    public static let keys = [Key.dataDirectory, Key.listenAddress, Key.hostname, Key.certificate, Key.key, Key.nodeKeyFile, Key.nodeKeyPassphrase]

    public var dataDirectory: String
    public var listenAddress: String
    public var hostname: String
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// nil: the key's place in the data directory says (NodeKeyStore).
    public var keyFile: String?
    /// Secret: never printed or logged.
    public var keyPassphrase: String?

    init(_ r: SettingsReader) throws {
        dataDirectory = r.string(Key.dataDirectory) ?? "./sealbox-data"
        listenAddress = r.string(Key.listenAddress) ?? "127.0.0.1"
        hostname = r.string(Key.hostname) ?? ProcessInfo.processInfo.hostName
        tlsCertificatePath = r.string(Key.certificate)
        tlsKeyPath = r.string(Key.key)
        keyFile = r.string(Key.nodeKeyFile)
        keyPassphrase = r.string(Key.nodeKeyPassphrase)
        if (tlsCertificatePath == nil) != (tlsKeyPath == nil) {
            throw SealboxConfiguration.Failure(description: "configuration tls.certificate and tls.key must be given together")
        }
    }
}

/// IMAP: its two ports and the session policy.
public struct IMAPSettings: ComponentSettings {
    public static let title = "IMAP"
    enum Key {
        static let port = SettingKey("imap.port", .port, default: "143 as root, else 1143", "The IMAP port (STARTTLS).", flag: "serve --imap-port")
        static let implicitTLSPort = SettingKey("imaps.port", .port, default: "993 as root, else 1993",
                                                "The IMAP port with implicit TLS.", flag: "serve --imaps-port")
        static let allowInsecureAuth = SettingKey("imap.allowInsecureAuth", .boolean, default: "false",
                                                  "Allow password logins without TLS (local testing only).", flag: "serve --allow-insecure-auth")
        static let maxConnectionsPerIP = SettingKey("imap.maxConnectionsPerIP", .integer(1...100_000), default: "50",
                                                    "Connections at once from one address.")
        static let maxSessionsPerMailbox = SettingKey("imap.maxSessionsPerMailbox", .integer(1...100_000), default: "100",
                                                      "Logged-in sessions at once on one mailbox, IMAP and POP3 together.")
        static let idleTimeout = SettingKey("imap.idleTimeout", .seconds(60...86_400), default: "1800",
                                            "Seconds without a command before the connection is closed (IDLE itself: 3600, with `* OK Still here` every 2 min).")
        static let appendLimit = SettingKey("imap.appendLimit", .bytes(1024...(1 << 31)), default: "67108864",
                                            "The largest APPEND (announced as APPENDLIMIT).")
        static let maxAppendInFlightBytes = SettingKey("imap.maxAppendInFlightBytes", .bytes((1 << 20)...(1 << 40)), default: "1073741824",
                                                       "APPEND bytes all IMAP sessions may hold in memory at once (a message counts twice while read); past it an APPEND is answered NO [LIMIT] and the client tries again. At least twice `imap.appendLimit`.")
    }
    public static let keys = [Key.port, Key.implicitTLSPort, Key.allowInsecureAuth, Key.maxConnectionsPerIP,
                              Key.maxSessionsPerMailbox, Key.idleTimeout, Key.appendLimit, Key.maxAppendInFlightBytes]

    public var port: ListenerPort
    public var implicitTLSPort: ListenerPort
    public var allowInsecureAuth: Bool
    public var maxConnectionsPerIP: Int
    public var maxSessionsPerMailbox: Int
    public var idleTimeout: Duration
    public var appendLimit: Int
    public var maxAppendInFlightBytes: Int

    init(_ r: SettingsReader) throws {
        port = try r.listenerPort(Key.port, default: asRoot ? 143 : 1143)
        implicitTLSPort = try r.listenerPort(Key.implicitTLSPort, default: asRoot ? 993 : 1993)
        allowInsecureAuth = try r.bool(Key.allowInsecureAuth, default: false)
        maxConnectionsPerIP = try r.int(Key.maxConnectionsPerIP, default: 50)
        maxSessionsPerMailbox = try r.int(Key.maxSessionsPerMailbox, default: 100)
        idleTimeout = try r.seconds(Key.idleTimeout, default: 1800)
        appendLimit = try r.int(Key.appendLimit, default: 64 * 1024 * 1024)
        maxAppendInFlightBytes = try r.int(Key.maxAppendInFlightBytes, default: 1 << 30)
    }
}

/// POP3: its two ports; its policy follows IMAP's unless set.
public struct POP3Settings: ComponentSettings {
    public static let title = "POP3"
    enum Key {
        static let enabled = SettingKey("pop3.enabled", .boolean, default: "true", "Run the POP3 listeners.")
        static let port = SettingKey("pop3.port", .port, default: "110 as root, else 1110", "The POP3 port (STLS).", flag: "serve --pop3-port")
        static let implicitTLSPort = SettingKey("pop3s.port", .port, default: "995 as root, else 1995",
                                                "The POP3 port with implicit TLS.", flag: "serve --pop3s-port")
        static let allowInsecureAuth = SettingKey("pop3.allowInsecureAuth", .boolean, default: "the value of `imap.allowInsecureAuth`",
                                                  "Allow password logins without TLS.", flag: "serve --allow-insecure-auth")
        static let maxConnectionsPerIP = SettingKey("pop3.maxConnectionsPerIP", .integer(1...100_000),
                                                    default: "the value of `imap.maxConnectionsPerIP`", "Connections at once from one address.")
        static let idleTimeout = SettingKey("pop3.idleTimeout", .seconds(600...86_400), default: "600",
                                            "Seconds without a command before the connection is closed (at least 600, RFC 1939).")
    }
    public static let keys = [Key.enabled, Key.port, Key.implicitTLSPort, Key.allowInsecureAuth, Key.maxConnectionsPerIP, Key.idleTimeout]

    public var enabled: Bool
    public var port: ListenerPort
    public var implicitTLSPort: ListenerPort
    public var allowInsecureAuth: Bool
    public var maxConnectionsPerIP: Int
    public var idleTimeout: Duration

    init(_ r: SettingsReader, imap: IMAPSettings) throws {
        enabled = try r.bool(Key.enabled, default: true)
        port = try r.listenerPort(Key.port, default: asRoot ? 110 : 1110)
        implicitTLSPort = try r.listenerPort(Key.implicitTLSPort, default: asRoot ? 995 : 1995)
        allowInsecureAuth = try r.bool(Key.allowInsecureAuth, default: imap.allowInsecureAuth)
        maxConnectionsPerIP = try r.int(Key.maxConnectionsPerIP, default: imap.maxConnectionsPerIP)
        idleTimeout = try r.seconds(Key.idleTimeout, default: 600)
    }
}

/// The MX: inbound SMTP for the node's domains.
public struct SMTPSettings: ComponentSettings {
    public static let title = "SMTP (the MX)"
    enum Key {
        static let enabled = SettingKey("smtp.enabled", .boolean, default: "true", "Run the MX (inbound mail for the node's domains).")
        static let port = SettingKey("smtp.port", .port, default: "25 as root, else 2525", "The MX port (STARTTLS).", flag: "serve --smtp-port")
        static let maxMessageSize = SettingKey("smtp.maxMessageSize", .bytes(1024...(1 << 31)), default: "52428800",
                                               "The largest message (announced as SIZE).")
        static let maxRecipients = SettingKey("smtp.maxRecipients", .integer(1...10_000), default: "100", "Recipients of one message.")
        static let maxInFlightBytes = SettingKey("smtp.maxInFlightBytes", .bytes((1 << 20)...(1 << 40)), default: "1073741824",
                                                 "Memory all SMTP sessions' messages take at once, every copy counted up to the commit (a message to one mailbox: 4 × its size; at least 4 × smtp.maxMessageSize); past it, 452 4.3.1.")
        static let maxConnectionsPerIP = SettingKey("smtp.maxConnectionsPerIP", .integer(1...100_000), default: "20",
                                                    "Connections at once from one address.")
        static let maxMessagesPerMinutePerIP = SettingKey("smtp.maxMessagesPerMinutePerIP", .integer(0...1_000_000), default: "300",
                                                          "Messages a minute from one address (0: no limit).")
        static let requireTLS = SettingKey("smtp.requireTLS", .boolean, default: "false",
                                           "Refuse MAIL before STARTTLS (a public MX must accept plaintext senders).")
        static let idleTimeout = SettingKey("smtp.idleTimeout", .seconds(300...86_400), default: "300",
                                            "Seconds without a command (at least 300, RFC 5321 §4.5.3.2).")
        static let commandTimeout = SettingKey("smtp.commandTimeout", .seconds(300...86_400), default: "300",
                                               "Seconds a command line may take from its first byte (slowloris; then 421 4.4.2).")
        static let dataTimeout = SettingKey("smtp.dataTimeout", .seconds(600...86_400), default: "600",
                                            "Seconds a DATA or BDAT transfer may take, or longer at `smtp.minDataRate` (then 421 4.4.2).")
        static let minDataRate = SettingKey("smtp.minDataRate", .integer(1...(1 << 30)), default: "1024",
                                            "Bytes a second a transfer longer than `smtp.dataTimeout` must average.")
        static let unknownRecipientsTarpit = SettingKey("smtp.unknownRecipientsTarpit", .integer(1...10_000), default: "10",
                                                        "Refused recipients in a session before each further refusal is answered late (1 s more each, up to 5 s).")
        static let unknownRecipientsLimit = SettingKey("smtp.unknownRecipientsLimit", .integer(1...10_000), default: "20",
                                                       "Refused recipients in a session before 421 4.7.0 and close.")
        static let unknownRecipientsPerIP = SettingKey("smtp.unknownRecipientsPerIP", .integer(0...1_000_000), default: "100",
                                                       "Refused recipients an address may have in an hour across sessions, then 421 4.7.0 (0: no limit).")
        static let postmaster = SettingKey("smtp.postmaster", .text, default: "none",
                                           "The alias that receives mail for postmaster@ a domain without one.")
    }
    public static let keys = [Key.enabled, Key.port, Key.maxMessageSize, Key.maxRecipients, Key.maxInFlightBytes,
                              Key.maxConnectionsPerIP, Key.maxMessagesPerMinutePerIP, Key.requireTLS, Key.idleTimeout,
                              Key.commandTimeout, Key.dataTimeout, Key.minDataRate, Key.unknownRecipientsTarpit,
                              Key.unknownRecipientsLimit, Key.unknownRecipientsPerIP, Key.postmaster]

    public var enabled: Bool
    public var port: ListenerPort
    public var maxMessageSize: Int
    public var maxRecipients: Int
    public var maxInFlightBytes: Int
    public var maxConnectionsPerIP: Int
    /// nil: no limit.
    public var maxMessagesPerMinutePerIP: Int?
    public var requireTLS: Bool
    public var idleTimeout: Duration
    public var commandTimeout: Duration
    public var dataTimeout: Duration
    public var minDataRate: Int
    public var unknownRecipientsTarpit: Int
    public var unknownRecipientsLimit: Int
    /// nil: no limit.
    public var unknownRecipientsPerIP: Int?
    public var postmaster: String?

    init(_ r: SettingsReader) throws {
        enabled = try r.bool(Key.enabled, default: true)
        port = try r.listenerPort(Key.port, default: asRoot ? 25 : 2525)
        maxMessageSize = try r.int(Key.maxMessageSize, default: 50 * 1024 * 1024)
        maxRecipients = try r.int(Key.maxRecipients, default: 100)
        maxInFlightBytes = try r.int(Key.maxInFlightBytes, default: 1 << 30)
        maxConnectionsPerIP = try r.int(Key.maxConnectionsPerIP, default: 20)
        let perMinute = try r.int(Key.maxMessagesPerMinutePerIP, default: 300)
        maxMessagesPerMinutePerIP = perMinute == 0 ? nil : perMinute
        requireTLS = try r.bool(Key.requireTLS, default: false)
        idleTimeout = try r.seconds(Key.idleTimeout, default: 300)
        commandTimeout = try r.seconds(Key.commandTimeout, default: 300)
        dataTimeout = try r.seconds(Key.dataTimeout, default: 600)
        minDataRate = try r.int(Key.minDataRate, default: 1024)
        unknownRecipientsTarpit = try r.int(Key.unknownRecipientsTarpit, default: 10)
        unknownRecipientsLimit = try r.int(Key.unknownRecipientsLimit, default: 20)
        let perIP = try r.int(Key.unknownRecipientsPerIP, default: 100)
        unknownRecipientsPerIP = perIP == 0 ? nil : perIP
        postmaster = r.string(Key.postmaster)
    }
}

/// Outbound mail: the smarthost forwards and bounces go through, SRS, webhooks, retries.
public struct OutboundSettings: ComponentSettings {
    public static let title = "Outbound (forwards, bounces, webhooks)"
    enum Key {
        static let relayHost = SettingKey("smtp.relay.host", .text, default: "none (direct delivery to each domain's MX)",
                                          "A smarthost that all outgoing mail (submitted, forwarded, bounces) goes through instead of direct delivery.")
        static let relayPort = SettingKey("smtp.relay.port", .integer(1...65535), default: "587", "The smarthost's port.")
        static let relaySecurity = SettingKey("smtp.relay.security", .choice(["none", "starttls", "tls"]), default: "`starttls`",
                                              "How to reach the smarthost.")
        static let relayUsername = SettingKey("smtp.relay.username", .text, default: "none", "The smarthost login.")
        static let relayPassword = SettingKey("smtp.relay.password", .secret, default: "none", "The smarthost password.")
        static let relayCAFile = SettingKey("smtp.relay.caFile", .text, default: "the system's trust roots",
                                            "A PEM file of roots to trust for the smarthost instead.")
        static let srsDomain = SettingKey("srs.domain", .text, default: "`server.hostname`",
                                          "The domain of rewritten senders of forwarded mail.")
        static let srsSecret = SettingKey("srs.secret", .secret, default: "32 random bytes in `<data-dir>/srs.key`",
                                          "The key of SRS addresses.")
        static let webhookSecret = SettingKey("webhook.secret", .secret, default: "32 random bytes in `<data-dir>/webhook.key`",
                                              "The key that signs webhook posts (X-Sealbox-Signature).")
        static let webhookIncludeRaw = SettingKey("webhook.includeRaw", .boolean, default: "false",
                                                  "Also post the raw message (base64).")
        static let retryInterval = SettingKey("outbound.retryInterval", .seconds(1...86_400), default: "300",
                                              "The first wait after a temporary failure; it doubles up to `outbound.maxRetryInterval`.")
        static let maxRetryInterval = SettingKey("outbound.maxRetryInterval", .seconds(1...(7 * 86_400)), default: "3600",
                                                 "The longest wait between attempts.")
        static let maxAge = SettingKey("outbound.maxAge", .seconds(60...(30 * 86_400)), default: "432000 (5 days)",
                                       "Then a forward bounces and a webhook is dropped.")
        static let mxPort = SettingKey("outbound.mxPort", .integer(1...65535), default: "25",
                                       "The port of recipients' MX hosts in direct delivery (another only for tests on loopback).")
        static let mtaSTS = SettingKey("outbound.mtaSTS", .boolean, default: "true",
                                       "Honour recipient domains' MTA-STS policies (RFC 8461) in direct delivery.")
        static let concurrency = SettingKey("outbound.concurrency", .integer(1...256), default: "20",
                                            "Outbound jobs (deliveries, forwards, webhooks) worked on at once.")
        static let tlsCAFile = SettingKey("outbound.caFile", .text, default: "the system's trust roots",
                                          "A PEM file of extra roots trusted for MX certificates under MTA-STS and for policy fetches.")
    }
    public static let keys = [Key.relayHost, Key.relayPort, Key.relaySecurity, Key.relayUsername, Key.relayPassword, Key.relayCAFile,
                              Key.srsDomain, Key.srsSecret, Key.webhookSecret, Key.webhookIncludeRaw,
                              Key.retryInterval, Key.maxRetryInterval, Key.maxAge, Key.mxPort, Key.mtaSTS, Key.tlsCAFile, Key.concurrency]

    public var relayHost: String?
    public var relayPort: Int
    public var relaySecurity: String
    public var relayUsername: String?
    /// Secret: never printed or logged.
    public var relayPassword: String?
    public var relayCAFile: String?
    public var srsDomain: String?
    /// Secret: never printed or logged (nil: `<data>/srs.key`).
    public var srsSecret: String?
    /// Secret: never printed or logged (nil: `<data>/webhook.key`).
    public var webhookSecret: String?
    public var webhookIncludeRaw: Bool
    public var retryInterval: Duration
    public var maxRetryInterval: Duration
    public var maxAge: Duration
    public var mxPort: Int
    public var mtaSTS: Bool
    public var tlsCAFile: String?
    public var concurrency: Int

    init(_ r: SettingsReader) throws {
        relayHost = r.string(Key.relayHost)
        relayPort = try r.int(Key.relayPort, default: 587)
        relaySecurity = try r.choice(Key.relaySecurity, default: "starttls")
        relayUsername = r.string(Key.relayUsername)
        relayPassword = r.string(Key.relayPassword)
        relayCAFile = r.string(Key.relayCAFile)
        srsDomain = r.string(Key.srsDomain)
        srsSecret = r.string(Key.srsSecret)
        webhookSecret = r.string(Key.webhookSecret)
        webhookIncludeRaw = try r.bool(Key.webhookIncludeRaw, default: false)
        retryInterval = try r.seconds(Key.retryInterval, default: 300)
        maxRetryInterval = try r.seconds(Key.maxRetryInterval, default: 3600)
        maxAge = try r.seconds(Key.maxAge, default: 5 * 86_400)
        mxPort = try r.int(Key.mxPort, default: 25)
        mtaSTS = try r.bool(Key.mtaSTS, default: true)
        tlsCAFile = r.string(Key.tlsCAFile)
        concurrency = try r.int(Key.concurrency, default: 20)
    }
}

/// Backups: where to, how many generations, how often.
public struct BackupSettings: ComponentSettings {
    public static let title = "Backups"
    enum Key {
        static let destination = SettingKey("backup.destination", .text, default: "none: no backups",
                                            "`s3://BUCKET/PREFIX` or `file:///PATH`.")
        static let s3Endpoint = SettingKey("backup.s3.endpoint", .text, default: "`https://s3.<region>.amazonaws.com`",
                                           "The S3-compatible endpoint (R2, MinIO…: their URL).")
        static let s3Region = SettingKey("backup.s3.region", .text, default: "`us-east-1`", "The S3 region.")
        static let s3AccessKeyID = SettingKey("backup.s3.accessKeyID", .text, default: "none", "The S3 access key ID.")
        static let s3SecretAccessKey = SettingKey("backup.s3.secretAccessKey", .secret, default: "none", "The S3 secret access key.")
        static let s3PathStyle = SettingKey("backup.s3.pathStyle", .boolean, default: "false",
                                            "Path-style URLs (true for MinIO-like servers; false: `BUCKET.endpoint`).")
        static let s3Concurrency = SettingKey("backup.s3.concurrency", .integer(1...64), default: "4",
                                              "Parts of a multipart upload in flight at once (each holds a 16 MiB part in memory).")
        static let generations = SettingKey("backup.generations", .integer(1...1000), default: "7", "Generations kept per mailbox.")
        static let interval = SettingKey("backup.interval", .seconds(0...(365 * 86_400)), default: "86400",
                                         "Seconds between scheduled backups (0: no schedule; at least 60).")
    }
    public static let keys = [Key.destination, Key.s3Endpoint, Key.s3Region, Key.s3AccessKeyID, Key.s3SecretAccessKey,
                              Key.s3PathStyle, Key.s3Concurrency, Key.generations, Key.interval]

    public var destination: String?
    public var s3Endpoint: String?
    public var s3Region: String
    public var s3AccessKeyID: String?
    /// Secret: never printed or logged.
    public var s3SecretAccessKey: String?
    public var s3PathStyle: Bool
    public var s3Concurrency: Int
    public var generations: Int
    /// nil: no scheduled backups.
    public var interval: Duration?

    init(_ r: SettingsReader) throws {
        destination = r.string(Key.destination)
        if let d = destination, !(d.hasPrefix("s3://") || d.hasPrefix("file:///")) {
            throw SealboxConfiguration.Failure(description: "configuration backup.destination = \"\(d)\" must be s3://BUCKET/PREFIX or file:///PATH")
        }
        s3Endpoint = r.string(Key.s3Endpoint)
        s3Region = r.string(Key.s3Region) ?? "us-east-1"
        s3AccessKeyID = r.string(Key.s3AccessKeyID)
        s3SecretAccessKey = r.string(Key.s3SecretAccessKey)
        s3PathStyle = try r.bool(Key.s3PathStyle, default: false)
        s3Concurrency = try r.int(Key.s3Concurrency, default: 4)
        generations = try r.int(Key.generations, default: 7)
        let seconds = try r.int(Key.interval, default: 86_400)
        interval = seconds == 0 ? nil : .seconds(max(seconds, 60))
        if destination?.hasPrefix("s3://") == true, s3AccessKeyID == nil || s3SecretAccessKey == nil {
            throw SealboxConfiguration.Failure(description: "configuration backup.destination is s3://…: set backup.s3.accessKeyID and backup.s3.secretAccessKey "
                + "(SEALBOX_BACKUP_S3_ACCESS_KEY_ID, SEALBOX_BACKUP_S3_SECRET_ACCESS_KEY)")
        }
    }
}

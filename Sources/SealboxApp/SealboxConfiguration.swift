import Configuration
import Foundation
import SystemPackage

/// The node's settings. Precedence: explicit overrides (command-line flags) > environment
/// variables (`SEALBOX_` + the key in upper case, dots and camelCase as underscores:
/// `imap.allowInsecureAuth` → `SEALBOX_IMAP_ALLOW_INSECURE_AUTH`) > a JSON file (`--config FILE`,
/// or `sealbox.json` in the data directory; nested objects or dotted keys) > defaults.
///
/// | key | default |
/// |---|---|
/// | `data.directory` | `./sealbox-data` (env `SEALBOX_DATA_DIR` too) |
/// | `listen.address` | `127.0.0.1` |
/// | `imap.port` | 143 as root, else 1143 |
/// | `imaps.port` | 993 as root, else 1993 |
/// | `imap.allowInsecureAuth` | false |
/// | `imap.maxConnectionsPerIP` | 50 |
/// | `imap.maxSessionsPerMailbox` | 100 |
/// | `imap.idleTimeout` | 1800 (seconds) |
/// | `imap.appendLimit` | 67108864 (bytes) |
/// | `pop3.enabled` | true |
/// | `pop3.port` | 110 as root, else 1110 |
/// | `pop3s.port` | 995 as root, else 1995 |
/// | `pop3.allowInsecureAuth` | the value of `imap.allowInsecureAuth` |
/// | `pop3.maxConnectionsPerIP` | the value of `imap.maxConnectionsPerIP` |
/// | `pop3.idleTimeout` | 600 (seconds) |
/// | `smtp.enabled` | true (the MX: inbound mail for the server's domains) |
/// | `smtp.port` | 25 as root, else 2525 |
/// | `smtp.maxMessageSize` | 52428800 (bytes; advertised as SIZE) |
/// | `smtp.maxRecipients` | 100 |
/// | `smtp.maxInFlightBytes` | 1073741824 (message bytes all SMTP sessions hold in memory at once) |
/// | `smtp.maxConnectionsPerIP` | 20 |
/// | `smtp.maxMessagesPerMinutePerIP` | 300 (0: no limit) |
/// | `smtp.requireTLS` | false (a public MX must accept plaintext senders) |
/// | `smtp.idleTimeout` | 300 (seconds; RFC 5321 §4.5.3.2 minimum) |
/// | `smtp.postmaster` | none: the alias that receives mail for postmaster@ a domain without one |
/// | `smtp.relay.host`, `smtp.relay.port` | none, 587: the smarthost forwarded mail and bounces go through |
/// | `smtp.relay.security` | `starttls` (`none`, `starttls` or `tls`) |
/// | `smtp.relay.username`, `smtp.relay.password` | none (secret: never printed) |
/// | `smtp.relay.caFile` | none: the system's trust roots (a PEM file to trust instead) |
/// | `srs.domain` | `server.hostname`: the domain of rewritten senders of forwarded mail |
/// | `srs.secret` | generated in `<data>/srs.key` (secret) |
/// | `webhook.secret` | generated in `<data>/webhook.key` (secret): signs webhook posts |
/// | `webhook.includeRaw` | false: also post the raw message (base64) |
/// | `outbound.retryInterval`, `outbound.maxRetryInterval` | 300, 3600 (seconds: first wait, doubling up to the cap) |
/// | `outbound.maxAge` | 432000 (5 days: then a forward bounces and a webhook is dropped) |
/// | `backup.destination` | none (`s3://BUCKET/PREFIX` or `file:///PATH`) |
/// | `backup.s3.endpoint`, `backup.s3.region` | AWS (`https://s3.<region>.amazonaws.com`), `us-east-1` |
/// | `backup.s3.accessKeyID`, `backup.s3.secretAccessKey` | none (secret: never printed) |
/// | `backup.s3.pathStyle` | false |
/// | `backup.generations` | 7 |
/// | `backup.interval` | 86400 (seconds; 0 turns the schedule off) |
/// | `tls.certificate`, `tls.key` | none: a self-signed certificate in `<data>/tls/` |
/// | `server.hostname` | the machine's host name |
public struct SealboxConfiguration: Sendable {
    public var dataDirectory: String
    public var listenAddress: String
    public var imapPort: Int
    public var imapsPort: Int
    public var imapAllowInsecureAuth: Bool
    public var imapMaxConnectionsPerIP: Int
    public var imapMaxSessionsPerMailbox: Int
    public var imapIdleTimeout: Duration
    public var backupDestination: String?
    public var backupS3Endpoint: String?
    public var backupS3Region: String
    public var backupS3AccessKeyID: String?
    /// Secret: never printed or logged.
    public var backupS3SecretAccessKey: String?
    public var backupS3PathStyle: Bool
    public var backupGenerations: Int
    /// nil: no scheduled backups.
    public var backupInterval: Duration?
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    public var hostname: String
    public var appendLimit: Int
    public var pop3Enabled: Bool
    public var pop3Port: Int
    public var pop3sPort: Int
    public var pop3AllowInsecureAuth: Bool
    public var pop3MaxConnectionsPerIP: Int
    public var pop3IdleTimeout: Duration
    public var smtpEnabled: Bool
    public var smtpPort: Int
    public var smtpMaxMessageSize: Int
    public var smtpMaxRecipients: Int
    public var smtpMaxInFlightBytes: Int
    public var smtpMaxConnectionsPerIP: Int
    /// nil: no limit.
    public var smtpMaxMessagesPerMinutePerIP: Int?
    public var smtpRequireTLS: Bool
    public var smtpIdleTimeout: Duration
    public var smtpPostmaster: String?
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
    public var outboundRetryInterval: Duration
    public var outboundMaxRetryInterval: Duration
    public var outboundMaxAge: Duration

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(reader: ConfigReader) throws {
        let root = geteuid() == 0
        func int(_ key: String, _ defaultValue: Int, _ range: ClosedRange<Int>) throws -> Int {
            var value = reader.int(forKey: ConfigKey(key))
            if value == nil, let s = reader.string(forKey: ConfigKey(key)) {
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                    throw Failure(description: "configuration \(key) = \"\(s)\" is not a number")
                }
                value = v
            }
            guard let v = value else { return defaultValue }
            guard range.contains(v) else { throw Failure(description: "configuration \(key) = \(v) is out of range \(range)") }
            return v
        }
        func bool(_ key: String, _ defaultValue: Bool) throws -> Bool {
            if let v = reader.bool(forKey: ConfigKey(key)) { return v }
            if let s = reader.string(forKey: ConfigKey(key)) {
                switch s.lowercased() {
                case "1", "yes", "on", "true": return true
                case "0", "no", "off", "false": return false
                default: throw Failure(description: "configuration \(key) = \"\(s)\" is not true or false")
                }
            }
            return defaultValue
        }
        func string(_ key: String) -> String? {
            guard let s = reader.string(forKey: ConfigKey(key)), !s.isEmpty else { return nil }
            return s
        }
        dataDirectory = string("data.directory") ?? "./sealbox-data"
        listenAddress = string("listen.address") ?? "127.0.0.1"
        imapPort = try int("imap.port", root ? 143 : 1143, 0...65535)
        imapsPort = try int("imaps.port", root ? 993 : 1993, 0...65535)
        imapAllowInsecureAuth = try bool("imap.allowInsecureAuth", false)
        imapMaxConnectionsPerIP = try int("imap.maxConnectionsPerIP", 50, 1...100_000)
        imapMaxSessionsPerMailbox = try int("imap.maxSessionsPerMailbox", 100, 1...100_000)
        imapIdleTimeout = .seconds(try int("imap.idleTimeout", 1800, 60...86_400))
        appendLimit = try int("imap.appendLimit", 64 * 1024 * 1024, 1024...(1 << 31))
        pop3Enabled = try bool("pop3.enabled", true)
        pop3Port = try int("pop3.port", root ? 110 : 1110, 0...65535)
        pop3sPort = try int("pop3s.port", root ? 995 : 1995, 0...65535)
        pop3AllowInsecureAuth = try bool("pop3.allowInsecureAuth", imapAllowInsecureAuth)
        pop3MaxConnectionsPerIP = try int("pop3.maxConnectionsPerIP", imapMaxConnectionsPerIP, 1...100_000)
        pop3IdleTimeout = .seconds(try int("pop3.idleTimeout", 600, 600...86_400))
        smtpEnabled = try bool("smtp.enabled", true)
        smtpPort = try int("smtp.port", root ? 25 : 2525, 0...65535)
        smtpMaxMessageSize = try int("smtp.maxMessageSize", 50 * 1024 * 1024, 1024...(1 << 31))
        smtpMaxRecipients = try int("smtp.maxRecipients", 100, 1...10_000)
        smtpMaxInFlightBytes = try int("smtp.maxInFlightBytes", 1 << 30, 1 << 20...(1 << 40))
        smtpMaxConnectionsPerIP = try int("smtp.maxConnectionsPerIP", 20, 1...100_000)
        let perMinute = try int("smtp.maxMessagesPerMinutePerIP", 300, 0...1_000_000)
        smtpMaxMessagesPerMinutePerIP = perMinute == 0 ? nil : perMinute
        smtpRequireTLS = try bool("smtp.requireTLS", false)
        smtpIdleTimeout = .seconds(try int("smtp.idleTimeout", 300, 300...86_400))
        smtpPostmaster = string("smtp.postmaster")
        relayHost = string("smtp.relay.host")
        relayPort = try int("smtp.relay.port", 587, 1...65535)
        relaySecurity = string("smtp.relay.security")?.lowercased() ?? "starttls"
        guard ["none", "starttls", "tls"].contains(relaySecurity) else {
            throw Failure(description: "configuration smtp.relay.security = \"\(relaySecurity)\" must be none, starttls or tls")
        }
        relayUsername = string("smtp.relay.username")
        relayPassword = reader.string(forKey: ConfigKey("smtp.relay.password"), isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        relayCAFile = string("smtp.relay.caFile")
        srsDomain = string("srs.domain")
        srsSecret = reader.string(forKey: ConfigKey("srs.secret"), isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        webhookSecret = reader.string(forKey: ConfigKey("webhook.secret"), isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        webhookIncludeRaw = try bool("webhook.includeRaw", false)
        outboundRetryInterval = .seconds(try int("outbound.retryInterval", 300, 1...86_400))
        outboundMaxRetryInterval = .seconds(try int("outbound.maxRetryInterval", 3600, 1...7 * 86_400))
        outboundMaxAge = .seconds(try int("outbound.maxAge", 5 * 86_400, 60...30 * 86_400))
        backupDestination = string("backup.destination")
        if let d = backupDestination, !(d.hasPrefix("s3://") || d.hasPrefix("file:///")) {
            throw Failure(description: "configuration backup.destination = \"\(d)\" must be s3://BUCKET/PREFIX or file:///PATH")
        }
        backupS3Endpoint = string("backup.s3.endpoint")
        backupS3Region = string("backup.s3.region") ?? "us-east-1"
        backupS3AccessKeyID = string("backup.s3.accessKeyID")
        backupS3SecretAccessKey = reader.string(forKey: ConfigKey("backup.s3.secretAccessKey"), isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        backupS3PathStyle = try bool("backup.s3.pathStyle", false)
        backupGenerations = try int("backup.generations", 7, 1...1000)
        let interval = try int("backup.interval", 86_400, 0...(365 * 86_400))
        backupInterval = interval == 0 ? nil : .seconds(max(interval, 60))
        if backupDestination?.hasPrefix("s3://") == true, backupS3AccessKeyID == nil || backupS3SecretAccessKey == nil {
            throw Failure(description: "configuration backup.destination is s3://…: set backup.s3.accessKeyID and backup.s3.secretAccessKey "
                + "(SEALBOX_BACKUP_S3_ACCESS_KEY_ID, SEALBOX_BACKUP_S3_SECRET_ACCESS_KEY)")
        }
        tlsCertificatePath = string("tls.certificate")
        tlsKeyPath = string("tls.key")
        if (tlsCertificatePath == nil) != (tlsKeyPath == nil) {
            throw Failure(description: "configuration tls.certificate and tls.key must be given together")
        }
        hostname = string("server.hostname") ?? ProcessInfo.processInfo.hostName
    }

    /// Reads the settings from `overrides` (flags, dotted keys), the environment, a JSON file, defaults.
    public static func load(overrides: [String: String], configFile: String?,
                            environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> SealboxConfiguration {
        var env: [String: String] = [:]
        for (k, v) in environment where k.hasPrefix("SEALBOX_") { env[String(k.dropFirst(8))] = v }
        if let dir = env["DATA_DIR"], env["DATA_DIRECTORY"] == nil { env["DATA_DIRECTORY"] = dir }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(values: Dictionary(uniqueKeysWithValues: overrides.map { (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue(.string($0.value), isSecret: false)) })),
            EnvironmentVariablesProvider(environmentVariables: env),
        ]
        let dataDirectory = overrides["data.directory"] ?? env["DATA_DIRECTORY"] ?? "./sealbox-data"
        let file = configFile ?? (FileManager.default.fileExists(atPath: dataDirectory + "/sealbox.json") ? dataDirectory + "/sealbox.json" : nil)
        if let file {
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
            } catch {
                throw Failure(description: "cannot read the configuration file \(file): \(error)")
            }
        }
        return try SealboxConfiguration(reader: ConfigReader(providers: providers))
    }
}

import Configuration
import Foundation
import MailNet
import SMTPServer

private let asRoot = geteuid() == 0

/// Submission (RFC 6409, RFC 8314): authenticated sending for mail clients, on a STARTTLS port and
/// an implicit-TLS port; message size and recipients per message as the MX's (`smtp.*`).
public struct SubmissionSettings: ComponentSettings {
    public static let title = "Submission (sending mail)"
    enum Key {
        static let port = SettingKey("submission.port", .port, default: "587 as root, else 1587",
                                     "The submission port (STARTTLS; AUTH required before MAIL).", flag: "serve --submission-port")
        static let implicitTLSPort = SettingKey("submissions.port", .port, default: "465 as root, else 1465",
                                                "The submission port with implicit TLS (RFC 8314).", flag: "serve --submissions-port")
        static let allowInsecureAuth = SettingKey("submission.allowInsecureAuth", .boolean, default: "the value of `imap.allowInsecureAuth`",
                                                  "Allow AUTH without TLS.", flag: "serve --allow-insecure-auth")
        static let maxConnectionsPerIP = SettingKey("submission.maxConnectionsPerIP", .integer(1...100_000),
                                                    default: "the value of `imap.maxConnectionsPerIP`", "Connections at once from one address.")
        static let maxMessagesPerHour = SettingKey("submission.maxMessagesPerHour", .integer(0...1_000_000), default: "100",
                                                   "Messages one alias may submit in an hour (0: no limit); past it, 450 4.7.1.")
        static let maxRecipientsPerDay = SettingKey("submission.maxRecipientsPerDay", .integer(0...10_000_000), default: "1000",
                                                    "Recipients one alias may send to in 24 hours, all messages together (0: no limit); past it, 450 4.7.1.")
    }
    public static let keys = [Key.port, Key.implicitTLSPort, Key.allowInsecureAuth, Key.maxConnectionsPerIP,
                              Key.maxMessagesPerHour, Key.maxRecipientsPerDay]

    public var port: ListenerPort
    public var implicitTLSPort: ListenerPort
    public var allowInsecureAuth: Bool
    public var maxConnectionsPerIP: Int
    /// nil: no limit.
    public var maxMessagesPerHour: Int?
    /// nil: no limit.
    public var maxRecipientsPerDay: Int?

    init(_ r: SettingsReader, imap: IMAPSettings) throws {
        port = try r.listenerPort(Key.port, default: asRoot ? 587 : 1587)
        implicitTLSPort = try r.listenerPort(Key.implicitTLSPort, default: asRoot ? 465 : 1465)
        allowInsecureAuth = try r.bool(Key.allowInsecureAuth, default: imap.allowInsecureAuth)
        maxConnectionsPerIP = try r.int(Key.maxConnectionsPerIP, default: imap.maxConnectionsPerIP)
        let perHour = try r.int(Key.maxMessagesPerHour, default: 100)
        maxMessagesPerHour = perHour == 0 ? nil : perHour
        let perDay = try r.int(Key.maxRecipientsPerDay, default: 1000)
        maxRecipientsPerDay = perDay == 0 ? nil : perDay
    }
}


extension SMTPSubmissionServer.Configuration {
    /// The listeners and sessions as the node's, submission's and the MX's settings say (message
    /// size, recipients per message and timeouts are the MX's).
    init(_ settings: SubmissionSettings, node: NodeSettings, smtp: SMTPSettings) {
        self.init()
        listeners.host = node.listenAddress
        listeners.plainPort = settings.port.bindPort
        listeners.implicitTLSPort = settings.implicitTLSPort.bindPort
        listeners.maxConnectionsPerIP = settings.maxConnectionsPerIP
        session.hostname = node.hostname
        session.idleTimeout = smtp.idleTimeout
        session.commandTimeout = smtp.commandTimeout
        session.dataTimeout = smtp.dataTimeout
        session.minDataRate = smtp.minDataRate
        session.limits.maxMessageSize = smtp.maxMessageSize
        session.limits.maxChunkSize = smtp.maxMessageSize
        session.limits.maxRecipients = smtp.maxRecipients
        maxInFlightBytes = max(smtp.maxInFlightBytes, DirectoryInboundHandler.copiesHeld(storingMailboxes: 1) * smtp.maxMessageSize)
    }
}

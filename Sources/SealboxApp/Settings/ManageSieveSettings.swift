import Directory
import Foundation
import MailNet
import ManageSieveServer

/// ManageSieve (RFC 5804): its one port (STARTTLS; the protocol has no implicit-TLS port); its
/// policy follows IMAP's unless set.
public struct ManageSieveSettings: ComponentSettings {
    public static let title = "ManageSieve"
    enum Key {
        static let enabled = SettingKey("managesieve.enabled", .boolean, default: "true",
                                        "Run the ManageSieve listener (mail clients upload Sieve filters and vacation replies).")
        static let port = SettingKey("managesieve.port", .port, default: "4190 as root, else 14190",
                                     "The ManageSieve port (STARTTLS).", flag: "serve --managesieve-port")
        static let allowInsecureAuth = SettingKey("managesieve.allowInsecureAuth", .boolean, default: "the value of `imap.allowInsecureAuth`",
                                                  "Allow password logins without TLS.", flag: "serve --allow-insecure-auth")
        static let maxConnectionsPerIP = SettingKey("managesieve.maxConnectionsPerIP", .integer(1...100_000),
                                                    default: "the value of `imap.maxConnectionsPerIP`", "Connections at once from one address.")
        static let idleTimeout = SettingKey("managesieve.idleTimeout", .seconds(60...86_400), default: "1800",
                                            "Seconds without a command, once logged in, before the connection is closed (60 before login).")
    }
    public static let keys = [Key.enabled, Key.port, Key.allowInsecureAuth, Key.maxConnectionsPerIP, Key.idleTimeout]

    public var enabled: Bool
    public var port: ListenerPort
    public var allowInsecureAuth: Bool
    public var maxConnectionsPerIP: Int
    public var idleTimeout: Duration

    init(_ r: SettingsReader, imap: IMAPSettings) throws {
        enabled = try r.bool(Key.enabled, default: true)
        port = try r.listenerPort(Key.port, default: geteuid() == 0 ? 4190 : 14190)
        allowInsecureAuth = try r.bool(Key.allowInsecureAuth, default: imap.allowInsecureAuth)
        maxConnectionsPerIP = try r.int(Key.maxConnectionsPerIP, default: imap.maxConnectionsPerIP)
        idleTimeout = try r.seconds(Key.idleTimeout, default: 1800)
    }
}

extension ProtocolServer.Configuration where P == ManageSieve {
    /// The listener and sessions as the node's and ManageSieve's settings say, scripts in the directory.
    init(_ settings: ManageSieveSettings, node: NodeSettings, directory: any MailDirectory) {
        self.init(store: DirectorySieveScriptStore(directory: directory))
        listeners.host = node.listenAddress
        listeners.plainPort = settings.port.bindPort
        listeners.maxConnectionsPerIP = settings.maxConnectionsPerIP
        session.allowInsecureAuth = settings.allowInsecureAuth
        session.idleTimeout = settings.idleTimeout
        session.hostname = node.hostname
    }
}

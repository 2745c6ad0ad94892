import Foundation
import HTTPServer

/// HTTP: the admin and owner API, the web pages, autoconfiguration, `/metrics`, `/healthz`.
public struct HTTPSettings: ComponentSettings {
    public static let title = "HTTP"
    enum Key {
        static let enabled = SettingKey("http.enabled", .boolean, default: "true",
                                        "Run the HTTP listener (API, web pages, autoconfiguration, metrics).")
        static let port = SettingKey("http.port", .port, default: "443 as root, else 8080",
                                     "The HTTP port.", flag: "serve --http-port")
        static let tls = SettingKey("http.tls", .boolean, default: "true",
                                    "Serve HTTPS with the node's certificate; false: plain HTTP (behind a TLS-terminating proxy).")
        static let allowInsecureAuth = SettingKey("http.allowInsecureAuth", .boolean, default: "the value of `imap.allowInsecureAuth`",
                                                  "Accept passwords and tokens over plain HTTP from addresses other than loopback.", flag: "serve --allow-insecure-auth")
        static let mtaSTSMode = SettingKey("http.mtaSTS", .choice(["testing", "enforce", "none"]), default: "testing",
                                           "The MTA-STS mode (RFC 8461) of the policy served at `https://mta-sts.<domain>/.well-known/mta-sts.txt` for every domain of the node, and published by `sealbox domain dns`; `enforce` once the certificate is signed by a public CA and names `mta-sts.<domain>`.")
        static let metricsToken = SettingKey("http.metricsToken", .secret, default: "none",
                                             "`/metrics` answers loopback clients only; with a token, also any client sending `Authorization: Bearer <token>` (over HTTPS, or plain HTTP with `http.allowInsecureAuth`).")
    }
    public static let keys = [Key.enabled, Key.port, Key.tls, Key.allowInsecureAuth, Key.mtaSTSMode, Key.metricsToken]

    public var enabled: Bool
    public var port: ListenerPort
    public var tls: Bool
    public var allowInsecureAuth: Bool
    public var mtaSTSMode: DomainDNSRecords.MTASTSMode
    /// A bearer token that lets other than loopback clients read `/metrics` (nil: loopback only).
    public var metricsToken: String?

    init(_ r: SettingsReader, imap: IMAPSettings) throws {
        enabled = try r.bool(Key.enabled, default: true)
        port = try r.listenerPort(Key.port, default: geteuid() == 0 ? 443 : 8080)
        tls = try r.bool(Key.tls, default: true)
        allowInsecureAuth = try r.bool(Key.allowInsecureAuth, default: imap.allowInsecureAuth)
        mtaSTSMode = DomainDNSRecords.MTASTSMode(rawValue: try r.choice(Key.mtaSTSMode, default: "testing")) ?? .testing
        metricsToken = r.string(Key.metricsToken)
    }
}

import ClusterRPC
import Foundation

/// The cluster RPC between frontends and storage nodes (docs/cluster-rpc.md): where a storage
/// node listens, and the node's certificate, key and cluster CA for mutual TLS. Unset: no RPC
/// listener, and `sealbox serve` runs as one machine, exactly as before.
public struct ClusterSettings: ComponentSettings {
    public static let title = "Cluster"
    enum Key {
        static let listen = SettingKey("cluster.listen", .text, default: "none: no RPC listener",
                                       "`HOST:PORT` where a storage node serves the cluster RPC (WebSocket over mutual TLS; `[::1]:7443` for IPv6; port 0: any free port). Needs `cluster.certificate`, `cluster.key` and `cluster.ca`.")
        static let certificate = SettingKey("cluster.certificate", .text, default: "none",
                                            "This node's certificate (PEM) from `sealbox cluster add-node`: presented to peers, as server and as client.")
        static let key = SettingKey("cluster.key", .text, default: "none",
                                    "This node's private key (PEM, mode 0600) from `sealbox cluster add-node`.")
        static let ca = SettingKey("cluster.ca", .text, default: "none",
                                   "The cluster CA certificate (`ca.pem` from `sealbox cluster init`): the only issuer a peer's certificate is accepted from.")
        static let requestTimeout = SettingKey("cluster.requestTimeout", .seconds(1 ... 3600), default: "60",
                                               "How long a frontend waits for a storage node's answer before the call fails as unavailable (IMAP `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`, SMTP `451 4.3.0`).")
    }
    public static let keys = [Key.listen, Key.certificate, Key.key, Key.ca, Key.requestTimeout]

    /// Where the RPC listens (host, port); nil: no listener.
    public var listen: (host: String, port: Int)?
    public var certificatePath: String?
    public var keyPath: String?
    public var caPath: String?
    public var requestTimeout: Duration

    init(_ r: SettingsReader) throws {
        if let text = r.string(Key.listen) {
            guard let parsed = Self.hostPort(text) else {
                throw SealboxConfiguration.Failure(description: "cluster.listen: expected HOST:PORT, got \(text.debugDescription)")
            }
            listen = parsed
        }
        certificatePath = r.string(Key.certificate)
        keyPath = r.string(Key.key)
        caPath = r.string(Key.ca)
        requestTimeout = try r.seconds(Key.requestTimeout, default: 60)
        if listen != nil, certificatePath == nil || keyPath == nil || caPath == nil {
            throw SealboxConfiguration.Failure(description: "cluster.listen needs cluster.certificate, cluster.key and cluster.ca")
        }
    }

    /// The TLS material, when the three files are set.
    public func tls() throws -> ClusterTLS? {
        guard let certificatePath, let keyPath, let caPath else { return nil }
        return try ClusterTLS(certificatePath: certificatePath, keyPath: keyPath, caPath: caPath)
    }

    /// `host:port`, `[v6]:port`.
    static func hostPort(_ text: String) -> (host: String, port: Int)? {
        var host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex) ..< close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0 ... 65535).contains(port) else { return nil }
        return (String(host), port)
    }
}

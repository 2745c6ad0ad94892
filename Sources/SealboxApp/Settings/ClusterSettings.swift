import ClusterRegistry
import ClusterRPC
import Foundation

/// The cluster RPC between frontends and storage nodes (docs/cluster-rpc.md): where a storage
/// node listens, and the node's certificate, key and cluster CA for mutual TLS. Unset: no RPC
/// listener, and `sealbox serve` runs as one machine, exactly as before.
public struct ClusterSettings: ComponentSettings {
    public static let title = "Cluster"
    enum Key {
        static let role = SettingKey("node.role", .choice(NodeRole.allCases.map(\.rawValue)), default: "all",
                                     "`all`: one machine, everything in this process (the default). `storage`: owns mailbox files (the cluster RPC, queue drains, outbound jobs, backups), no client listeners. `frontend`: IMAP, POP3, the MX, submission and ManageSieve with no durable state, reaching mailboxes over the cluster RPC. `storage` and `frontend` need `directory.url` (PostgreSQL), the `cluster.*` certificate files and `cluster.secretFile` (docs/cluster.md).")
        static let name = SettingKey("cluster.name", .text, default: "the first DNS name of `cluster.certificate`",
                                     "This node's name in the node registry (`sealbox cluster status`, `--to NODE`); frontends check a storage node's certificate against it.")
        static let advertise = SettingKey("cluster.advertise", .text, default: "`cluster.listen`'s host and bound port",
                                          "`HOST:PORT` frontends dial this storage node at (needed when `cluster.listen` is a wildcard address).")
        static let secretFile = SettingKey("cluster.secretFile", .text, default: "none",
                                           "A file of at least 32 random bytes shared by every node of the cluster (`sealbox cluster init` writes `cluster.secret`, 0600): the SRS, webhook and Sieve-memory keys are derived from it, so that every node signs and checks alike. Needed by `storage` and `frontend` nodes.")
        static let leaseSeconds = SettingKey("cluster.leaseSeconds", .seconds(5 ... 3600), default: "30",
                                             "How long a storage node's lease on a mailbox lasts without renewal (renewed every third of it). A node that stops renewing stops writing before it ends; with `cluster.sharedStorage` another node takes the mailbox over after it.")
        static let sharedStorage = SettingKey("cluster.sharedStorage", .boolean, default: "false",
                                              "The storage nodes share one mailbox volume (a network filesystem): a mailbox whose owner stopped renewing its lease is taken over by the node that next needs it. Off (local disks): a dead node's mailboxes wait for it to return or for `backup restore`.")
        static let listen = SettingKey("cluster.listen", .text, default: "none: no RPC listener (needed by a storage node)",
                                       "`HOST:PORT` where a storage node (`node.role = storage`) serves the cluster RPC (WebSocket over mutual TLS; `[::1]:7443` for IPv6). Needs `cluster.certificate`, `cluster.key` and `cluster.ca`; frontends dial `cluster.advertise` (default: this address).")
        static let certificate = SettingKey("cluster.certificate", .text, default: "none",
                                            "This node's certificate (PEM) from `sealbox cluster add-node`: presented to peers, as server and as client.")
        static let key = SettingKey("cluster.key", .text, default: "none",
                                    "This node's private key (PEM, mode 0600) from `sealbox cluster add-node`.")
        static let ca = SettingKey("cluster.ca", .text, default: "none",
                                   "The cluster CA certificate (`ca.pem` from `sealbox cluster init`): the only issuer a peer's certificate is accepted from.")
        static let requestTimeout = SettingKey("cluster.requestTimeout", .seconds(1 ... 3600), default: "60",
                                               "How long a frontend waits for a storage node's answer before the call fails as unavailable (IMAP `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`, SMTP `451 4.3.0`).")
    }
    public static let keys = [Key.role, Key.listen, Key.certificate, Key.key, Key.ca, Key.requestTimeout, Key.name, Key.advertise, Key.secretFile,
                              Key.leaseSeconds, Key.sharedStorage]

    public var role: NodeRole
    /// nil: from the certificate (`nodeName()`).
    public var name: String?
    public var advertise: (host: String, port: Int)?
    public var secretFile: String?
    public var leaseSeconds: Int
    public var sharedStorage: Bool

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
        role = NodeRole(rawValue: try r.choice(Key.role, default: NodeRole.all.rawValue)) ?? .all
        name = r.string(Key.name)
        if let text = r.string(Key.advertise) {
            guard let parsed = Self.hostPort(text), parsed.port != 0 else {
                throw SealboxConfiguration.Failure(description: "cluster.advertise: expected HOST:PORT, got \(text.debugDescription)")
            }
            advertise = parsed
        }
        secretFile = r.string(Key.secretFile)
        leaseSeconds = try r.int(Key.leaseSeconds, default: 30)
        sharedStorage = try r.bool(Key.sharedStorage, default: false)
        if role != .all {
            guard certificatePath != nil, keyPath != nil, caPath != nil else {
                throw SealboxConfiguration.Failure(description: "node.role = \(role.rawValue) needs cluster.certificate, cluster.key and cluster.ca (sealbox cluster add-node)")
            }
            guard secretFile != nil else {
                throw SealboxConfiguration.Failure(description: "node.role = \(role.rawValue) needs cluster.secretFile (the cluster.secret `sealbox cluster init` wrote)")
            }
        }
        if role == .all, listen != nil {
            throw SealboxConfiguration.Failure(description: "cluster.listen is for a storage node: set node.role = storage (docs/cluster.md)")
        }
        if role == .storage, listen == nil {
            throw SealboxConfiguration.Failure(description: "node.role = storage needs cluster.listen (HOST:PORT of its RPC listener)")
        }
        if let name, !ClusterCertificates.isValidNodeName(name) {
            throw SealboxConfiguration.Failure(description: "cluster.name: not a node name: \(name)")
        }
        if listen != nil, certificatePath == nil || keyPath == nil || caPath == nil {
            throw SealboxConfiguration.Failure(description: "cluster.listen needs cluster.certificate, cluster.key and cluster.ca")
        }
    }

    /// The TLS material, when the three files are set.
    public func tls() throws -> ClusterTLS? {
        guard let certificatePath, let keyPath, let caPath else { return nil }
        return try ClusterTLS(certificatePath: certificatePath, keyPath: keyPath, caPath: caPath)
    }

    /// This node's name: `cluster.name`, else the first DNS name of its certificate.
    public func nodeName() throws -> String {
        if let name { return name }
        guard let certificatePath else { throw SealboxConfiguration.Failure(description: "cluster.name is not set and there is no cluster.certificate to take it from") }
        return try ClusterCertificates.nodeName(certificatePath: certificatePath)
    }

    /// The shared secret (`cluster.secretFile`): at least 32 bytes, not readable by others.
    public func secret() throws -> [UInt8]? {
        guard let secretFile else { return nil }
        guard let data = FileManager.default.contents(atPath: secretFile) else {
            throw SealboxConfiguration.Failure(description: "cluster.secretFile: cannot read \(secretFile)")
        }
        guard data.count >= 32 else { throw SealboxConfiguration.Failure(description: "cluster.secretFile: \(secretFile) holds fewer than 32 bytes") }
        return Array(data)
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

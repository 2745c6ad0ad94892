import ArgumentParser
import ClusterRegistry
import ClusterRPC
import PostgresDirectory
import SealboxApp
import Foundation

/// `sealbox cluster`: the cluster's certificate authority and node certificates (docs/cluster-rpc.md).
/// Runs locally (never inside a serving node): it touches only the files it names.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "The cluster's certificates: its CA and the node certificates the RPC between nodes uses.",
        subcommands: [Init.self, AddNode.self, Status.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the cluster CA: <dir>/ca.pem (give it to every node), <dir>/ca.key (0600; keep it off the nodes) and <dir>/cluster.secret (0600; every node's cluster.secretFile).",
            discussion: """
                Refuses when ca.pem or ca.key exists in the directory. The CA is a P-256 key valid ten years; \
                it signs the node certificates (`sealbox cluster add-node`), and the RPC between frontends and \
                storage nodes accepts only peers with such a certificate.
                """)
        @Option(help: ArgumentHelp("Where to write ca.pem and ca.key (made 0700 when missing).", valueName: "dir")) var dir = "./sealbox-cluster"

        func run() async throws {
            try await runReportingErrors {
                let directory = resolvePath(dir)
                let fingerprint = try ClusterCertificates.createCA(directory: directory)
                let (cert, key) = ClusterCertificates.caPaths(directory: directory)
                let secret = try ClusterCertificates.createSecret(directory: directory)
                emit("cluster CA: \(cert)")
                emit("CA key:     \(key) (0600: keep it safe, off the nodes; add-node needs it)")
                emit("SHA-256:    \(fingerprint)")
                emit("secret:     \(secret) (0600: copy it to every node, cluster.secretFile)")
            }
        }
    }

    struct AddNode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-node",
            abstract: "Issue a node certificate signed by the cluster CA: <out>/NAME.pem and <out>/NAME.key (0600).",
            discussion: """
                The certificate names NAME (the name other nodes dial it by, checked by them) and each \
                --address (IP addresses or host names) and serves both as the node's server and client \
                certificate. Refuses to replace existing files. Copy NAME.pem, NAME.key and ca.pem to the \
                node and set cluster.certificate, cluster.key and cluster.ca.
                """)
        @Argument(help: ArgumentHelp("The node's name (letters, digits, '-', '.').", valueName: "name")) var name: String
        @Option(name: .customLong("address"), help: ArgumentHelp("An address the node is reached at (repeat for several).", valueName: "address"))
        var addresses: [String] = []
        @Option(help: ArgumentHelp("The directory holding ca.pem and ca.key.", valueName: "dir")) var dir = "./sealbox-cluster"
        @Option(help: ArgumentHelp("Where to write the certificate and key (default: the CA directory).", valueName: "dir")) var out: String?
        @Option(help: ArgumentHelp("Validity in days.", valueName: "days")) var days = 825

        func validate() throws {
            guard ClusterCertificates.isValidNodeName(name) else {
                throw ValidationError("not a node name: \(name) (letters, digits, '-' and '.', 1 to 63 of them, not an address)")
            }
            guard (1 ... 3650).contains(days) else { throw ValidationError("--days must be 1 to 3650") }
        }

        func run() async throws {
            try await runReportingErrors {
                let caDirectory = resolvePath(dir)
                let (cert, key) = try ClusterCertificates.issueNodeCertificate(
                    caDirectory: caDirectory, name: name, addresses: addresses, outDirectory: resolvePath(out ?? dir), validityDays: days)
                emit("node certificate: \(cert)")
                emit("node key:         \(key) (0600)")
                emit("names:            \(([name] + addresses.filter { $0 != name }).joined(separator: ", "))")
                emit("on the node: cluster.certificate=\(cert) cluster.key=\(key) cluster.ca=\(ClusterCertificates.caPaths(directory: caDirectory).certificate)")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the cluster's nodes (role, state, last heartbeat, free space, sessions, queue depths) and the mailbox leases.",
            discussion: """
                Reads the node registry in the PostgreSQL directory (directory.url from the settings, SEALBOX_DIRECTORY_URL \
                or --config). A node whose last heartbeat is older than one lease time is shown as `silent`. The counts are \
                what each node reported with its last heartbeat (every third of cluster.leaseSeconds).
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("config"), help: ArgumentHelp("A JSON settings file.", valueName: "file")) var config: String?

        func run() async throws {
            try await runReportingErrors {
                let settings = try await SealboxConfiguration.load(overrides: ["data.directory": global.dataDir], configFile: config)
                guard let text = settings.directory.url else { throw CLIFailure("no cluster here: directory.url (SEALBOX_DIRECTORY_URL) is not set") }
                let url: PostgresURL
                do { url = try PostgresURL(text) } catch { throw CLIFailure("directory.url: \(error)") }
                let directory = try await PostgresDirectory.connect(PostgresDirectory.Configuration(url: url))
                let registry = PostgresClusterRegistry(directory: directory)
                let now: Date, nodes: [NodeRecord], placements: [MailboxPlacement]
                do {
                    now = try await registry.currentTime()
                    nodes = try await registry.nodes()
                    placements = try await registry.placements()
                } catch {
                    await directory.shutdown()
                    throw error
                }
                await directory.shutdown()
                for line in ClusterStatusReport.lines(nodes: nodes, placements: placements, now: now, leaseSeconds: Double(settings.cluster.leaseSeconds)) {
                    emit(line)
                }
            }
        }
    }
}

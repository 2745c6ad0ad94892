import ArgumentParser
import Backup
import Foundation
import MailCore
import SealboxApp
import Synchronization

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back mailboxes up to the configured destination (backup.destination), list and restore backups.",
        discussion: """
            The destination is s3://BUCKET/PREFIX (with backup.s3.* settings) or file:///PATH, from --config, \
            SEALBOX_BACKUP_* environment variables or sealbox.json in the data directory. Backups hold the \
            encrypted mailbox file and the password entries that unlock it: a restore needs one of the \
            mailbox's passwords to be read, and nothing else.
            """,
        subcommands: [Run.self, List.self, Restore.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Back up one mailbox now, or every mailbox; unchanged mailboxes upload nothing.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file.", valueName: "file")) var config: String?
        @Argument(help: "The address to back up (all mailboxes when omitted).") var address: String?

        func run() async throws {
            try await runReportingErrors {
                let lock = try lockDataDirectory(global.dataDir)
                let (node, backups) = try await openBackups(global: global, config: config)
                var failed = 0
                let targets: [EmailAddress]
                if let address {
                    targets = [try parseAddress(address)]
                } else {
                    targets = try await node.directory.aliases(domain: nil).filter { $0.mailboxID != nil }.map(\.address)
                }
                for target in targets {
                    let progress = ProgressLine(label: "\(target)")
                    do {
                        let outcome = try await backups.backUp(address: target, progress: progress.report)
                        progress.finish()
                        emit("\(target): \(outcome)")
                    } catch {
                        progress.finish()
                        failed += 1
                        printError("\(target): \(describe(error))")
                    }
                }
                try? await backups.destination.shutdown()
                await releaseNode(node)
                withExtendedLifetime(lock) {}
                if failed > 0 { throw ExitCode(1) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the backup generations of a mailbox (an address this data directory does not know: with its password, SEALBOX_PASSWORD).")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file.", valueName: "file")) var config: String?
        @Argument var address: String

        func run() async throws {
            try await runReportingErrors {
                let (node, backups) = try await openBackups(global: global, config: config)
                let generations = try await backups.generations(address: try parseAddress(address),
                                                                password: try await optionalSecret(environment: "SEALBOX_PASSWORD"))
                var rows = [["GENERATION", "DATE", "SIZE"]]
                for g in generations { rows.append([g.id, formatDate(g.date), ByteSize.format(g.size)]) }
                emit(generations.isEmpty ? "no backups" : table(rows))
                try? await backups.destination.shutdown()
                await releaseNode(node)
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Restore a mailbox from its newest backup (or --generation) into this or another data directory.",
            discussion: """
                The download is checked against the SHA-256 recorded at backup time before anything is \
                replaced. When the alias does not exist in the target data directory it is created with its \
                original id and password entries, so the same passwords open it; a data directory that does not \
                know the address finds the backup with one of its passwords (SEALBOX_PASSWORD). With SEALBOX_PASSWORD set, the \
                restored mailbox is opened to prove it, and the alias's forwards, webhooks and quota are restored too.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file.", valueName: "file")) var config: String?
        @Argument var address: String
        @Option(help: "The generation to restore (see `backup list`).") var generation: String?
        @Option(help: ArgumentHelp("Restore into this data directory instead.", valueName: "dir")) var toDataDir: String?
        @Option(help: ArgumentHelp("In a cluster: restore onto this storage node (run it there, while it serves) and make it the mailbox's owner; for a mailbox whose node is lost (its lease must have expired).", valueName: "node"))
        var toNode: String?

        func run() async throws {
            try await runReportingErrors {
                let target = resolvePath(toDataDir ?? global.dataDir)
                let lock = try lockDataDirectory(target)
                let settings = try await loadSettings(dataDir: global.dataDir, config: config)
                // The target's key: where the settings say, else the target's own (a new target
                // gets one the same way a new node does: node.keyFile, a passphrase, or node.key).
                // Inside `serve`, restoring into its own data directory uses the serving node.
                let node = try await openNode(global, config: config, dataDirectory: target)
                let backups = try SealboxBackups.service(configuration: settings, node: node)
                let password = try await optionalSecret(environment: "SEALBOX_PASSWORD")
                let addr = try parseAddress(address)
                if let toNode {
                    guard let cluster = node.cluster, let leases = cluster.leases else {
                        throw CLIFailure("--to-node: run this on the storage node \(toNode) while `sealbox serve --role storage` runs there")
                    }
                    guard cluster.name == toNode else {
                        throw CLIFailure("--to-node \(toNode): this is node \(cluster.name); run it on \(toNode) (its data directory, while it serves)")
                    }
                    guard let mailboxID = try await node.directory.alias(address: addr)?.mailboxID else {
                        throw CLIFailure("--to-node: \(addr) has no mailbox in the cluster's directory")
                    }
                    try await leases.adoptForRestore(mailboxID: mailboxID)
                }
                let progress = ProgressLine(label: "\(addr)")
                let summary = try await backups.restore(address: addr, generation: generation, password: password, progress: progress.report)
                progress.finish()
                emit("restored \(addr) from generation \(summary.generation) (\(ByteSize.format(summary.bytes))) into \(node.dataDirectory)")
                if summary.aliasCreated { emit("created alias \(addr) with its passwords from the backup") }
                if let folders = summary.folders {
                    emit(table([["FOLDER", "MESSAGES"]] + folders.map { [$0.0, "\($0.1)"] }))
                } else {
                    emit("set SEALBOX_PASSWORD to check the restored mailbox and restore the alias's forwards and webhooks")
                }
                try? await backups.destination.shutdown()
                await releaseNode(node)
                withExtendedLifetime(lock) {}
            }
        }
    }
}

/// The settings for a command that needs the backup configuration (flags are the data directory only).
/// Inside `serve` (a control client's command): from the client's environment, as in its own process.
func loadSettings(dataDir: String, config: String?) async throws -> SealboxConfiguration {
    try await SealboxConfiguration.load(overrides: ["data.directory": resolvePath(dataDir)], configFile: config.map(resolvePath),
                                        environment: CommandContext.inNode?.client.request.environment ?? ProcessInfo.processInfo.environment)
}

func openBackups(global: GlobalOptions, config: String?) async throws -> (SealboxNode, BackupService) {
    let settings = try await loadSettings(dataDir: global.dataDir, config: config)
    let node = try await openNode(global, config: config)
    return (node, try SealboxBackups.service(configuration: settings, node: node))
}

/// A one-line progress display on stderr for long transfers (only on a terminal, at most 5 updates a second).
final class ProgressLine: Sendable {
    let label: String
    /// Totals below this are not worth a progress line.
    let minimum: Int64
    private let state = Mutex<(last: ContinuousClock.Instant?, shown: Bool)>((nil, false))
    let isTerminal = standardErrorIsTerminal

    init(label: String, minimum: Int64 = 8 << 20) { self.label = label; self.minimum = minimum }

    var report: @Sendable (Int64, Int64) -> Void {
        { [self] done, total in
            guard isTerminal, total >= minimum else { return }
            let now = ContinuousClock.now
            let show = state.withLock { s -> Bool in
                if let last = s.last, now - last < .milliseconds(200), done < total { return false }
                s.last = now; s.shown = true
                return true
            }
            guard show else { return }
            let percent = total > 0 ? Int(done * 100 / total) : 0
            let amounts = minimum >= 1 << 20 ? "\(ByteSize.format(done)) of \(ByteSize.format(total))" : "\(done) of \(total)"
            writeStandardError(Data("\r\(label): \(amounts) (\(percent)%)\u{1B}[K".utf8))
        }
    }

    func finish() {
        if state.withLock({ $0.shown }) { writeStandardError(Data("\r\u{1B}[K".utf8)) }
    }
}

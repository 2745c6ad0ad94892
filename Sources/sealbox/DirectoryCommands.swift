import ArgumentParser
import Directory
import Foundation
import PostgresDirectory
import SealboxApp

/// `sealbox directory copy --to postgres://…`: moves the embedded single-machine directory into
/// PostgreSQL (docs/cluster-directory.md), so a node that outgrows one machine keeps every
/// mailbox and password.
struct DirectoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory", abstract: "The directory's backend (embedded SQLite or PostgreSQL).", subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy this node's embedded directory into an empty PostgreSQL database.",
            discussion: """
                Copies domains (with their default quotas), aliases (ids, mailboxes, public keys, quotas, forwards, webhooks), \
                password entries (with their backup locators and dates), send-as addresses, DKIM keys, Sieve scripts and admin \
                tokens, in one transaction, then checks the counts. The target must be empty unless --force (which replaces what \
                it holds); a target that already holds exactly this directory is left as it is. Then set directory.url to the \
                same URL and restart serve. The URL may also come from SEALBOX_DIRECTORY_URL (keeps the password off the command line).
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("config"), help: ArgumentHelp("A JSON settings file.", valueName: "file")) var config: String?
        @Option(help: ArgumentHelp("The PostgreSQL URL: postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=…", valueName: "url"))
        var to: String?
        @Flag(help: "Replace what the target database holds.") var force = false

        func run() async throws {
            try await runReportingErrors {
                let text: String
                if let to { text = to } else if let env = try await optionalSecret(environment: "SEALBOX_DIRECTORY_URL") { text = env } else {
                    throw CLIFailure("give the target with --to postgres://… (or SEALBOX_DIRECTORY_URL)")
                }
                let url: PostgresURL
                do { url = try PostgresURL(text) } catch { throw CLIFailure("--to: \(error)") }
                let source = try await openEmbeddedDirectory()
                let target = try await PostgresDirectory.connect(PostgresDirectory.Configuration(url: url))
                let summary: DirectoryCopySummary
                do {
                    summary = try await target.copy(from: source, force: force)
                } catch {
                    await target.shutdown()
                    throw error
                }
                await target.shutdown()
                if summary.alreadyCopied {
                    emit("already copied: \(url) holds this directory (\(summary)); nothing written")
                } else {
                    emit("copied \(summary) into \(url)")
                    emit("next: set directory.url (or SEALBOX_DIRECTORY_URL) to this URL on every node and restart serve")
                }
            }
        }

        /// The node's embedded SQLite directory (the running node's when `serve` holds it).
        func openEmbeddedDirectory() async throws -> SQLiteDirectory {
            if let running = CommandContext.inNode, running.isNodeDirectory(global.dataDir) {
                guard let directory = running.node.directory as? SQLiteDirectory else {
                    throw CLIFailure("this node's directory is already on PostgreSQL (directory.url)")
                }
                return directory
            }
            let settings = try await loadSettings(dataDir: global.dataDir, config: config)
            defer { unsetenv("SEALBOX_NODE_KEY_PASSPHRASE") }
            guard FileManager.default.fileExists(atPath: resolvePath(global.dataDir) + "/directory.sqlite") else {
                throw CLIFailure("no embedded directory in \(global.dataDir) (directory.sqlite) to copy")
            }
            let node = try SealboxNode.open(dataDirectory: global.dataDir, key: nodeKeyOptions(settings))
            guard let directory = node.directory as? SQLiteDirectory else { throw CLIFailure("the node's directory is not the embedded one") }
            return directory
        }
    }
}

import ArgumentParser
import Foundation
import SealboxApp

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "The node itself: where its key lives.",
        subcommands: [Key.self])

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key",
            abstract: "The node key, which encrypts the directory and the queue: see where it lives, move it.",
            discussion: """
                The node key lives in the data directory (node.key, the default), in a file outside it \
                (node.keyFile, or where `move --to` put it: recorded in node.key.location), or sealed with a \
                passphrase (node.key.sealed; SEALBOX_NODE_KEY_PASSPHRASE or a prompt at each start).
                """,
            subcommands: [Status.self, Move.self])
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say where the node key lives and prove it opens the directory.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file.", valueName: "file")) var config: String?

        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global, config: config)
                emit("node key: \(NodeKeyStore.describe(node.keyMode, root: node.dataDirectory))")
                if node.keyMode == .embedded {
                    emit("a copy of the data directory alone opens its directory and queue; `sealbox node key move` keeps the key apart")
                }
                for warning in node.keyWarnings { printError(warning) }
            }
        }
    }

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the node key out of the data directory (--to FILE, --passphrase) or back (--to-data-directory).",
            discussion: """
                Stop `serve` first (the command takes the data directory's lock). The key is read where it is \
                now (a sealed key needs SEALBOX_NODE_KEY_PASSPHRASE or the prompt), written to its new place, \
                read back and proved to open the directory; only then is the old place removed. A wrong or \
                missing key or passphrase is one line and changes nothing. --to records the file's path in \
                <data-dir>/node.key.location so that later commands find it; node.keyFile overrides that. \
                --passphrase takes the new passphrase from SEALBOX_NODE_KEY_NEW_PASSPHRASE (or \
                SEALBOX_NODE_KEY_PASSPHRASE when the key is not sealed yet), else asks twice on the terminal.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file.", valueName: "file")) var config: String?
        @Option(help: ArgumentHelp("Move the key to this file (outside the data directory; made 0600).", valueName: "file")) var to: String?
        @Flag(help: "Seal the key with a passphrase in <data-dir>/node.key.sealed (also: change the passphrase).") var passphrase = false
        @Flag(help: "Move the key back into the data directory (node.key).") var toDataDirectory = false

        func validate() throws {
            guard [to != nil, passphrase, toDataDirectory].filter({ $0 }).count == 1 else {
                throw ValidationError("give one of --to FILE, --passphrase, --to-data-directory")
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let settings = try await loadSettings(dataDir: global.dataDir, config: config)
                let root = URL(fileURLWithPath: settings.node.dataDirectory).standardizedFileURL.path
                guard FileManager.default.fileExists(atPath: root + "/directory.sqlite") else {
                    throw CLIFailure("\(root) holds no node yet (no directory.sqlite); nothing to move")
                }
                let lock = try DataDirectoryLock(dataDirectory: root)
                let destination: NodeKeyStore.Destination
                if let to {
                    destination = .file(to)
                } else if passphrase {
                    destination = .passphrase(try newPassphrase(sealedNow: FileManager.default.fileExists(atPath: root + "/" + NodeKeyStore.sealedName)))
                } else {
                    destination = .dataDirectory
                }
                let report = try NodeKeyStore.move(dataDirectory: root, options: nodeKeyOptions(settings), to: destination)
                for line in report { emit(line) }
                withExtendedLifetime(lock) {}
            }
        }

        /// The new passphrase: SEALBOX_NODE_KEY_NEW_PASSPHRASE, or SEALBOX_NODE_KEY_PASSPHRASE when
        /// that is not the current one; else typed twice on the terminal.
        func newPassphrase(sealedNow: Bool) throws -> String {
            let env = ProcessInfo.processInfo.environment
            if let value = env["SEALBOX_NODE_KEY_NEW_PASSPHRASE"], !value.isEmpty { return value }
            if !sealedNow, let value = env["SEALBOX_NODE_KEY_PASSPHRASE"], !value.isEmpty { return value }
            let missing = "no new passphrase: set SEALBOX_NODE_KEY_NEW_PASSPHRASE\(sealedNow ? "" : " (or SEALBOX_NODE_KEY_PASSPHRASE)") or run from a terminal"
            let first = try readSecretHere(prompt: "New node key passphrase: ", environment: "", missing: missing)
            let second = try readSecretHere(prompt: "The same passphrase again: ", environment: "", missing: missing)
            guard first == second else { throw CLIFailure("the two passphrases differ; nothing was changed") }
            return first
        }
    }
}

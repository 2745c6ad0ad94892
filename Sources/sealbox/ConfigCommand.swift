import ArgumentParser
import SealboxApp

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "About the node's settings.",
        subcommands: [Reference.self, Check.self])

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every configuration key, its environment variable, flag, type and default (Markdown; docs/configuration-reference.md).")
        func run() {
            emit(SealboxConfiguration.referenceMarkdown, terminator: "")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the settings as `serve` would (flags aside: environment, file, defaults) and say whether they are valid.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file (default: sealbox.json in the data directory).", valueName: "file"))
        var config: String?

        func run() async throws {
            try await runReportingErrors {
                let settings = try await loadSettings(dataDir: global.dataDir, config: config)
                emit("configuration OK: data directory \(settings.node.dataDirectory), listening on \(settings.node.listenAddress)")
            }
        }
    }
}

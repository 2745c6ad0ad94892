import ArgumentParser
import Foundation

@main
struct Sealbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealbox",
        abstract: "A mail server whose every mailbox is its own encrypted SQLite database.",
        subcommands: [
            ServeCommand.self, DomainCommand.self, AliasCommand.self, PasswordCommand.self,
            DeliverCommand.self, MailboxCommand.self, MessageCommand.self, BackupCommand.self, QueueCommand.self, NodeCommand.self, ConfigCommand.self, DNSCommand.self, SieveCommand.self, AdminCommand.self,
        ])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data directory (env SEALBOX_DATA_DIR).", valueName: "dir"))
    var dataDir: String = ProcessInfo.processInfo.environment["SEALBOX_DATA_DIR"] ?? "./sealbox-data"
}

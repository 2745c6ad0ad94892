import ArgumentParser
import Foundation

@main
struct Sealbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealbox",
        abstract: "A mail server whose every mailbox is its own encrypted SQLite database.",
        subcommands: [
            ServeCommand.self, DomainCommand.self, DirectoryCommand.self, AliasCommand.self, PasswordCommand.self,
            DeliverCommand.self, MailboxCommand.self, MessageCommand.self, BackupCommand.self, QueueCommand.self, NodeCommand.self, ConfigCommand.self, DNSCommand.self, SieveCommand.self, AdminCommand.self, ClusterCommand.self,
        ])

    /// As ArgumentParser's own `main`, except that a command line meant for a data directory that
    /// `serve` holds runs inside that node (ControlClient); it is parsed here first, so usage
    /// errors and help are answered here.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        if let status = ControlClient.runInServingNode(arguments) { Glibc.exit(status) }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data directory (env SEALBOX_DATA_DIR).", valueName: "dir"))
    // In a serving node (a command through its control socket) the client found this node by its
    // data directory: that is the default, not the serving process's own environment.
    var dataDir: String = CommandContext.inNode?.node.dataDirectory ?? ProcessInfo.processInfo.environment["SEALBOX_DATA_DIR"] ?? "./sealbox-data"
}

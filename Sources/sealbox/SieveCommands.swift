import ArgumentParser
import Foundation
import ManageSieveServer
import SealboxApp

/// `sealbox sieve`: an address's Sieve scripts, as a ManageSieve client would manage them. Every
/// operation goes through the same `SieveScriptManager` as the ManageSieve server, so each
/// refusal (an unknown script, the active one deleted, a quota, a script that does not compile)
/// is the same here and there; the refusal's text goes to stderr and the exit code is 1.
struct SieveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sieve", abstract: "Manage an address's Sieve scripts (the filters and vacation replies the MX runs).",
        discussion: """
            Scripts are compiled before they are stored or activated; at most one script per address \
            is active. Mail clients manage the same scripts over ManageSieve (docs/managesieve.md).
            """,
        subcommands: [List.self, Put.self, Get.self, Activate.self, Deactivate.self, Check.self, Rename.self, Delete.self, Log.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an address's scripts; the active one is marked.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        func run() async throws {
            try await withScripts(global, address) { manager, owner in
                for entry in try await manager.list(owner: owner) {
                    emit(entry.active ? "\(entry.name)  (active)" : entry.name)
                }
            }
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a script (compiled first: one that does not compile is refused with its errors).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        @Argument(help: "The script's name.") var name: String
        @Argument(help: "The script file, or - for standard input.") var file: String
        @Flag(help: "Make it the active script.") var activate = false
        func run() async throws {
            let content = try await readScript(file)
            try await withScripts(global, address) { manager, owner in
                try report(try await manager.put(owner: owner, name: name, content: content), done: "stored \(name)")
                if activate { try report(try await manager.setActive(owner: owner, name: name), done: "\(name) is active") }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a script.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        @Argument(help: "The script's name.") var name: String
        func run() async throws {
            try await withScripts(global, address) { manager, owner in
                switch try await manager.get(owner: owner, name: name) {
                case .success(let text): writeStandardOutput(Data(text.utf8))
                case .failure(let refusal): throw CLIFailure(refusalText(refusal))
                }
            }
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a script the active one (the one the MX runs).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        @Argument(help: "The script's name.") var name: String
        func run() async throws {
            try await withScripts(global, address) { manager, owner in
                try report(try await manager.setActive(owner: owner, name: name), done: "\(name) is active")
            }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Leave the address without an active script.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        func run() async throws {
            try await withScripts(global, address) { manager, owner in
                try report(try await manager.setActive(owner: owner, name: ""), done: "no script is active")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compile a script without storing it (its includes are the address's scripts).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        @Argument(help: "The script file, or - for standard input.") var file: String
        func run() async throws {
            let content = try await readScript(file)
            try await withScripts(global, address) { manager, owner in
                try report(try await manager.check(owner: owner, content: content), done: "the script compiles")
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a script (an active script stays active).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        @Argument(help: "The script's name.") var name: String
        @Argument(help: "Its new name.") var newName: String
        func run() async throws {
            try await withScripts(global, address) { manager, owner in
                try report(try await manager.rename(owner: owner, from: name, to: newName), done: "renamed \(name) to \(newName)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a script (not the active one: deactivate it first).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        @Argument(help: "The script's name.") var name: String
        func run() async throws {
            try await withScripts(global, address) { manager, owner in
                try report(try await manager.delete(owner: owner, name: name), done: "deleted \(name)")
            }
        }
    }
}

extension SieveCommand {
    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Why the address's script did not do what it says: its last run-time errors, newest first.",
            discussion: """
                A script that fails while running (or files into a folder that does not exist without \
                :create, or redirects a message that already went through the address) keeps the message \
                in INBOX; the reason is kept here (the last 20; never the message's content).
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address.") var address: String
        func run() async throws {
            try await runReportingErrors {
                let parsed = try parseAddress(address)
                let node = try await openNode(global)
                guard let alias = try await node.directory.alias(address: parsed) else { throw CLIFailure("no such alias: \(parsed)") }
                let entries = try await node.directory.sieveRunErrors(aliasID: alias.id)
                if entries.isEmpty { emit("no errors recorded") }
                for entry in entries {
                    emit("\(entry.at.ISO8601Format())  \(entry.script): \(entry.message)")
                }
            }
        }
    }
}

/// Opens the node and finds the address's scripts, then runs `body` (errors: one line, exit 1).
private func withScripts(_ global: GlobalOptions, _ address: String,
                         _ body: (SieveScriptManager, String) async throws -> Void) async throws {
    try await runReportingErrors {
        let parsed = try parseAddress(address)
        let node = try await openNode(global)
        let store = DirectorySieveScriptStore(directory: node.directory)
        guard let owner = try await store.owner(address: parsed) else { throw CLIFailure("no such alias: \(parsed)") }
        try await body(SieveScriptManager(store: store), owner)
    }
}

/// A refusal as the CLI says it: the reply's text, diagnostics one per line.
private func refusalText(_ reply: SieveReply) -> String {
    guard reply.text.unicodeScalars.contains("\n") else { return reply.text }
    let lines = reply.text.split(whereSeparator: \.isNewline).map(String.init)
    return "the script does not compile:\n" + lines.map { "  " + $0 }.joined(separator: "\n")
}

/// An OK prints `done` (warnings first, on stderr); a NO throws its text.
private func report(_ reply: SieveReply, done: String) throws {
    guard reply.isOK else { throw CLIFailure(refusalText(reply)) }
    if reply.code == .warnings {
        for line in reply.text.split(whereSeparator: \.isNewline) { printError(String(line)) }
    }
    emit(done)
}

/// A script file's bytes, or standard input's for `-`.
private func readScript(_ file: String) async throws -> [UInt8] {
    if file == "-" { return try await readStandardInput(limit: 4 << 20, tooLarge: CLIFailure("the script on standard input is larger than 4 MB")) }
    guard let data = FileManager.default.contents(atPath: resolvePath(file)) else { throw ValidationError("cannot read \(file)") }
    return Array(data)
}

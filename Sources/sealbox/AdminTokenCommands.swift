import ArgumentParser
import Directory
import Foundation
import SealboxApp

/// `sealbox admin token create|list|revoke`: the bearer tokens of the HTTP admin API
/// (docs/http-api.md). Only each token's SHA-256 is stored; `create` prints the token once.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Administer the HTTP admin API.", subcommands: [Token.self])

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token", abstract: "Admin API tokens (Authorization: Bearer TOKEN); stored hashed.",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a new admin token and print it once (and nothing else on stdout).",
                discussion: "Keep it like a root password: it manages every domain, alias and password of the node.")
            @OptionGroup var global: GlobalOptions
            @Option(help: "What the token is for, e.g. \"monitoring\".") var label: String?

            func run() async throws {
                try await runReportingErrors {
                    let node = try await openNode(global)
                    let (token, record) = AdminToken.generate(label: label)
                    try await node.directory.addAdminToken(record)
                    writeStandardError(Data("made admin token \(record.id); it is shown only now:\n".utf8))
                    emit(token)
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List admin tokens (ids and labels, never the tokens).")
            @OptionGroup var global: GlobalOptions

            func run() async throws {
                try await runReportingErrors {
                    let node = try await openNode(global)
                    let tokens = try await node.directory.adminTokens()
                    guard !tokens.isEmpty else { emit("no admin tokens"); return }
                    emit(table([["ID", "LABEL", "CREATED", "LAST USED"]]
                        + tokens.map { [$0.id, $0.label ?? "-", formatDate($0.created), formatDate($0.lastUsed)] }))
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke an admin token: it stops working at once.")
            @OptionGroup var global: GlobalOptions
            @Argument(help: "The token's id (see `admin token list`).") var id: String

            func run() async throws {
                try await runReportingErrors {
                    let node = try await openNode(global)
                    try await node.directory.removeAdminToken(id: id)
                    emit("revoked admin token \(id)")
                }
            }
        }
    }
}

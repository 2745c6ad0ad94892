import ArgumentParser
import Directory
import Foundation
import MailCore
import Logging
import MailStore
import SealboxApp

struct DomainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain", abstract: "Manage the domains this server receives mail for.",
        subcommands: [Add.self, List.self, Remove.self, Quota.self, DKIM.self, DNS.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a domain (Unicode or ASCII form) and make its DKIM keys.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The domain, e.g. example.com or bücher.example.") var domain: String
        @Option(help: "The storage quota of its aliases that have none of their own, e.g. 5G (default: quota.default).")
        var defaultQuota: String?
        func run() async throws {
            try await runReportingErrors {
                let quota = try defaultQuota.map { try ByteSize.parse($0) }
                let node = try await openNode(global)
                let record = try await SealboxAdmin.addDomain(node: node, try Domain(domain))
                if let quota { try await node.directory.setDefaultQuota(record.domain, bytes: quota) }
                let keys = try await node.directory.dkimKeys(domain: record.domain).filter(\.isActive)
                emit("added domain \(record.domain.unicode)\(record.domain.unicode != record.domain.ascii ? " (\(record.domain.ascii))" : "")")
                emit("made DKIM keys \(keys.map(\.selector).joined(separator: ", ")): publish the records `sealbox domain dns \(record.domain.ascii)` prints")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the domains.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                for record in try await node.directory.domains().sorted(by: { $0.domain.unicode < $1.domain.unicode }) {
                    emit(record.domain.unicode + (record.defaultQuotaBytes.map { "  (default quota \(ByteSize.format($0)))" } ?? ""))
                }
            }
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the default storage quota of a domain's aliases (those without one of their own), or `none`.",
            discussion: "The quota that applies to an alias: its own (`alias add --quota`), else its domain's, else quota.default.")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String
        @Argument(help: "A size, e.g. 5G, or none.") var size: String
        func run() async throws {
            try await runReportingErrors {
                let bytes: Int64? = size.lowercased() == "none" ? nil : try ByteSize.parse(size)
                let node = try await openNode(global)
                let d = try Domain(domain)
                try await node.directory.setDefaultQuota(d, bytes: bytes)
                emit(bytes.map { "aliases of \(d.unicode) without a quota of their own may store \(ByteSize.format($0))" }
                     ?? "aliases of \(d.unicode) without a quota of their own follow quota.default")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a domain that has no aliases left.")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String
        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let d = try Domain(domain)
                try await node.directory.removeDomain(d)
                emit("removed domain \(d.unicode)")
            }
        }
    }
}

extension DomainCommand {
    struct DKIM: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dkim", abstract: "A domain's DKIM signing keys (Ed25519 and RSA 2048).",
            subcommands: [List.self, Rotate.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a domain's DKIM keys, active and retired.")
            @OptionGroup var global: GlobalOptions
            @Argument var domain: String
            func run() async throws {
                try await runReportingErrors {
                    let node = try await openNode(global)
                    let keys = try await node.directory.dkimKeys(domain: try Domain(domain))
                    emit(table([["SELECTOR", "ALGORITHM", "CREATED", "STATE"]] + keys.map { key in
                        [key.selector, key.algorithm, formatDate(key.created), key.retired.map { "retired \(formatDate($0))" } ?? "signing"]
                    }))
                }
            }
        }

        struct Rotate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a new DKIM key pair for a domain; the old pair stops signing and stays listed for 7 days.",
                discussion: """
                    Publish the new records (`sealbox domain dns DOMAIN`) before mail signed with them leaves: \
                    run this, publish, and wait for the DNS TTL. Keep the old selectors published for 7 days.
                    """)
            @OptionGroup var global: GlobalOptions
            @Argument var domain: String
            func run() async throws {
                try await runReportingErrors {
                    let node = try await openNode(global)
                    let d = try Domain(domain)
                    let keys = try await DomainKeys.rotate(directory: node.directory, domain: d)
                    emit("made DKIM keys \(keys.map(\.selector).joined(separator: ", ")) for \(d.ascii); the previous keys are retired")
                }
            }
        }
    }

    struct DNS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dns",
            abstract: "Print the DNS records a domain should publish: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "A configuration file (for server.hostname and the ports).") var config: String?
        @Option(name: .customLong("mta-sts"), help: "The MTA-STS mode to publish: testing, enforce or none (default: http.mtaSTS, the mode the node serves).")
        var mtaSTS: String?
        @Flag(help: "Ask DNS (dns.* settings) and say, one line per record, what is published, missing or wrong; exit 1 unless all are ok.")
        var check = false
        @Argument var domain: String
        func run() async throws {
            try await runReportingErrors {
                let settings = try await loadSettings(dataDir: global.dataDir, config: config)
                guard let mode = mtaSTS.map({ DomainDNSRecords.MTASTSMode(rawValue: $0) }) ?? settings.http.mtaSTSMode else {
                    throw CLIFailure("--mta-sts must be testing, enforce or none")
                }
                let node = try await openNode(global, config: config)
                let records = try await SealboxAdmin.dnsRecords(node: node, configuration: settings, domain: try Domain(domain), mtaSTSMode: mode)
                guard check else {
                    emit(records.text, terminator: "")
                    return
                }
                var logger = Logger(label: "sealbox")
                logger.logLevel = .warning
                let resolver = try SealboxDNS.makeResolver(settings.dns, logger: logger)
                defer { resolver.shutdown() }
                let results = await records.check(with: resolver)
                for result in results { emit(result.line) }
                let bad = results.filter { $0.state != .ok }.count
                if bad > 0 { throw CLIFailure("\(bad) of \(results.count) records are not as expected", exitCode: 1) }
            }
        }
    }
}

struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias", abstract: "Manage addresses: store mail, forward it, post it to webhooks, send as other addresses.",
        subcommands: [Add.self, Update.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an alias. It stores mail unless --no-store; its mailbox is created with its first password.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address, e.g. hello@example.com.") var address: String
        @Option(name: .customLong("forward"), help: "Forward a copy to this address (repeatable).") var forward: [String] = []
        @Option(name: .customLong("webhook"), help: "POST each message to this URL (repeatable).") var webhook: [String] = []
        @Flag(name: .customLong("no-store"), help: "Do not store mail (forward and/or webhook only).") var noStore = false
        @Option(help: "Storage quota, e.g. 500M, 10G.") var quota: String?
        @Option(name: .customLong("send-as"), help: "Another address of this server, or *@domain, it may send as (submission; repeatable).")
        var sendAs: [String] = []

        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let quotaBytes = try quota.map { try ByteSize.parse($0) }
                let record = try await SealboxAdmin.addAlias(node: node, try parseAddress(address), store: !noStore,
                                                             forwardTo: try forward.map(parseAddress), webhooks: webhook,
                                                             quotaBytes: quotaBytes, sendAs: sendAs)
                emit("added alias \(record.address)")
                if record.store {
                    emit("next: `sealbox password generate \(record.address)` creates its mailbox and first password")
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change who an alias may send as (submission): --send-as replaces the list, --no-send-as empties it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The address, e.g. hello@example.com.") var address: String
        @Option(name: .customLong("send-as"), help: "Another address of this server, or *@domain, it may send as (repeatable).")
        var sendAs: [String] = []
        @Flag(name: .customLong("no-send-as"), help: "It may send only as itself (and its plus-addresses).") var noSendAs = false

        func validate() throws {
            if sendAs.isEmpty == !noSendAs { throw ValidationError("give --send-as (repeatable) or --no-send-as") }
        }

        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let addr = try parseAddress(address)
                guard let alias = try await node.directory.alias(address: addr) else { throw ValidationError("no such alias: \(addr)") }
                try await node.directory.setSendAs(aliasID: alias.id, addresses: sendAs)
                let list = try await node.directory.sendAs(aliasID: alias.id)
                emit("alias \(alias.address) may send as itself" + (list.isEmpty ? "" : " and " + list.joined(separator: ", ")))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List aliases (of one domain, or all).")
        @OptionGroup var global: GlobalOptions
        @Argument var domain: String?
        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let aliases = try await node.directory.aliases(domain: try domain.map { try Domain($0) })
                var rows = [["ADDRESS", "STORE", "QUOTA", "MAILBOX", "FORWARD", "WEBHOOKS", "SEND AS"]]
                for a in aliases {
                    let sendAs = try await node.directory.sendAs(aliasID: a.id)
                    rows.append([a.address.description, a.store ? "yes" : "no", a.quotaBytes.map(ByteSize.format) ?? "-",
                                 a.mailboxID == nil ? (a.store ? "not yet" : "-") : "yes",
                                 a.forwardTo.isEmpty ? "-" : a.forwardTo.map(\.description).joined(separator: ","),
                                 a.webhooks.isEmpty ? "-" : a.webhooks.joined(separator: ","),
                                 sendAs.isEmpty ? "-" : sendAs.joined(separator: ",")])
                }
                emit(table(rows))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an alias and its passwords; with --purge also its mailbox file, queued mail and every backup.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A JSON configuration file (for the backup destination).", valueName: "file")) var config: String?
        @Argument var address: String
        @Flag(help: "Delete the alias's mailbox (file, WAL), its queued mail and every backup generation. Required when it has a mailbox.")
        var purge = false
        func run() async throws {
            try await runReportingErrors {
                let lock = try lockDataDirectory(global.dataDir)
                let node = try await openNode(global, config: config)
                let addr = try parseAddress(address)
                let settings = try await loadSettings(dataDir: global.dataDir, config: config)
                for line in try await SealboxAdmin.removeAlias(node: node, configuration: settings, addr, purge: purge) { emit(line) }
                withExtendedLifetime(lock) {}
            }
        }
    }
}

struct PasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password", abstract: "Manage a mailbox's passwords (each wraps the mailbox key).",
        subcommands: [Generate.self, List.self, Revoke.self, Change.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a strong password and print it once (and nothing else on stdout).",
            discussion: """
                The first password of an alias creates its encrypted mailbox. Later passwords need a current \
                one (SEALBOX_PASSWORD or a prompt): only a password can unwrap the mailbox key. \
                There is no recovery: if every password of a mailbox is lost, the mailbox is lost.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Option(help: "A label, e.g. the device (\"iPhone\", \"Thunderbird\").") var label: String?
        @Option(help: ArgumentHelp("In a cluster: the storage node a new mailbox goes to (default: the live one with the most free space).", valueName: "node"))
        var node: String?

        func run() async throws {
            try await runReportingErrors {
                // No data-directory lock: a new mailbox file is not open anywhere, and adding a
                // password only writes the directory, so this works while `serve` runs.
                let node = try await openNode(global)
                let addr = try parseAddress(address)
                guard let alias = try await node.directory.alias(address: addr) else {
                    throw ValidationError("no such alias: \(addr)")
                }
                let password: String
                if alias.mailboxID == nil {
                    password = try await node.mailboxes.createMailbox(for: alias, label: label, node: self.node).password
                } else {
                    let current = try await readPassword(prompt: "Current password for \(addr): ")
                    password = try await node.mailboxes.addPassword(address: addr, currentPassword: current, label: label).password
                }
                emit(password)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a mailbox's passwords (ids and labels, never the passwords).")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let addr = try parseAddress(address)
                guard let alias = try await node.directory.alias(address: addr) else { throw ValidationError("no such alias: \(addr)") }
                var rows = [["ID", "LABEL", "CREATED", "LAST USED"]]
                for p in try await node.directory.passwords(aliasID: alias.id) {
                    rows.append([p.id, p.label ?? "-", formatDate(p.created), formatDate(p.lastUsed)])
                }
                emit(table(rows))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke one password; the others keep working.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Argument var id: String
        @Flag(help: "Allow revoking the last password (the mailbox can then never be opened again).") var force = false
        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                try await node.mailboxes.revokePassword(address: try parseAddress(address), passwordID: id, allowLast: force)
                emit("revoked password \(id)")
            }
        }
    }

    struct Change: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace one password by a new generated one (printed once); authorised by a current password.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Argument var id: String
        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                let addr = try parseAddress(address)
                let current = try await readPassword(prompt: "Current password for \(addr): ")
                emit(try await node.mailboxes.changePassword(address: addr, passwordID: id, currentPassword: current))
            }
        }
    }
}

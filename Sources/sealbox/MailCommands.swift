import ArgumentParser
import Foundation
import MailboxAPI
import MailCore
import MailStore
import MIMEParser
import SealboxApp

struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Deliver a message from standard input to an address (a local delivery agent).",
        discussion: """
            The message goes where the MX would put it: the address's active Sieve script runs, its copies are sealed \
            to the mailbox's public key and committed to the queue (they reach the mailbox at its next unlock), and \
            its forwards, redirects and vacation replies wait in the queue for `serve`. Exit codes follow sysexits: \
            67 unknown recipient, 77 rejected by the recipient's Sieve script, 75 try again later.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument var address: String
    @Option(help: "Largest message accepted, e.g. 50M.") var maxSize: String = "64M"
    @Option(name: [.customShort("f"), .customLong("from")],
            help: "The envelope sender (default: the message's Return-Path, else none: no vacation reply goes out).")
    var from: String?

    func run() async throws {
        try await runReportingErrors(exitCode: { error in
            if let e = error as? MailStoreError, e.code == .noMailbox { return 67 }  // EX_NOUSER
            if let e = error as? SealboxNode.LocalDeliveryFailure {
                switch e {
                case .unknownRecipient: return 67                                     // EX_NOUSER
                case .rejected: return 77                                             // EX_NOPERM
                case .temporary: return 75
                }
            }
            if error is ValidationError { return 64 }                                 // EX_USAGE
            if let e = error as? CLIFailure, let code = e.exitCode { return code }
            return 75                                                                 // EX_TEMPFAIL
        }) {
            let recipient = try parseAddress(address)
            let limit = try ByteSize.parse(maxSize)
            let message = try await readStandardInput(limit: Int(limit),
                                                      tooLarge: CLIFailure("message too large (over \(ByteSize.format(limit)))", exitCode: 73))
            guard !message.isEmpty else { throw ValidationError("empty message on standard input") }
            let settings = try await loadSettings(dataDir: global.dataDir, config: nil)
            let node = try await openNode(global)
            let sender = from ?? Self.returnPath(message) ?? ""
            try await node.deliver(to: recipient, from: sender.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")), message: message,
                                   configuration: settings)
        }
    }

    /// The address of the message's first Return-Path field, if it has one.
    static func returnPath(_ message: [UInt8]) -> String? {
        let parsed = MIMEMessage.parse(message)
        guard let value = parsed.headerValues("return-path").first else { return nil }
        return String(decoding: value, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "<> \t"))
    }
}

struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Look into, export and import a mailbox (needs its password); move it to another storage node.",
        subcommands: [List.self, Export.self, Import.self, Move.self])

    struct Move: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "move",
            abstract: "Move a mailbox, with its queued mail, to another storage node of the cluster (no password needed).",
            discussion: """
                Runs in a storage node while `serve` runs (the CLI reaches it through its control socket), which \
                asks the mailbox's owner to move it. The owner ends the mailbox's sessions (clients log in again and \
                reach it on its new node), copies its files and queued mail to the target, which checks every file's \
                SHA-256 before the lease moves; mail arriving meanwhile waits (451) or follows. docs/cluster.md.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The mailbox's address.") var address: String
        @Option(help: ArgumentHelp("The storage node to move it to (its cluster name).", valueName: "node")) var to: String

        func run() async throws {
            try await runReportingErrors {
                let node = try await openNode(global)
                guard let cluster = node.cluster else {
                    throw CLIFailure("mailbox move runs in a storage node of a cluster: start `sealbox serve --role storage` on this data directory first")
                }
                emit(try await cluster.move(address: try parseAddress(address), to: to))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Export a mailbox as mbox, a zip of .eml files, or its SQLite file. Password from SEALBOX_PASSWORD or a prompt.",
            discussion: """
                mbox: --output is a directory with one FOLDER.mbox per folder (or, with --folder, the mbox file); \
                flags in Status/X-Status, keywords in X-Keywords. eml-zip: a zip with one directory per folder \
                and a manifest of flags and dates. sqlite: the mailbox database re-keyed with the password under \
                sqlite3mc's standard settings: any sqlite3mc tool opens it with \
                PRAGMA cipher = 'chacha20'; PRAGMA key = '<password>';  (kdf_iter 64007, the default). \
                The exported mail is readable by whoever holds the file (the sqlite export: with the password).
                """)
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Option(help: "mbox, eml-zip or sqlite.") var format: String
        @Option(help: ArgumentHelp("Where to write (must not exist).", valueName: "path")) var output: String
        @Option(help: "Only this folder (mbox, eml-zip).") var folder: String?

        func run() async throws {
            try await runReportingErrors {
                guard let kind = MailboxTransfer.Format(rawValue: format) else {
                    throw ValidationError("--format must be one of: \(MailboxTransfer.Format.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let path = resolvePath(output)
                guard !FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(output) already exists") }
                let lock = try lockDataDirectory(global.dataDir)
                let node = try await openNode(global)
                let addr = try parseAddress(address)
                let password = try await readPassword(prompt: "Password for \(addr): ")
                if kind == .sqlite {
                    try await node.mailboxes.exportSQLite(address: addr, password: password, to: path)
                    emit("exported \(addr) to \(output) (sqlite3mc: PRAGMA cipher = 'chacha20'; PRAGMA key = '<password>';)")
                } else {
                    let session = try await node.mailboxes.unlock(address: addr, password: password)
                    let progress = ProgressLine(label: "\(addr)", minimum: 200)
                    let summary = try await MailboxTransfer.export(session: session, format: kind, to: path, folder: folder,
                                                                   progress: progress.report)
                    progress.finish()
                    await session.close()
                    emit("exported \(summary.messages) message\(summary.messages == 1 ? "" : "s") from \(summary.folders) folder\(summary.folders == 1 ? "" : "s") "
                        + "(\(ByteSize.format(summary.bytes))) to \(output)")
                }
                await releaseNode(node)
                withExtendedLifetime(lock) {}
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import an mbox file or a Maildir into a mailbox, keeping flags and dates; messages already there are skipped.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Option(help: ArgumentHelp("An mbox file.", valueName: "file")) var mbox: String?
        @Option(help: ArgumentHelp("A Maildir (Maildir++ subfolders become folders).", valueName: "dir")) var maildir: String?
        @Option(help: "The folder an mbox goes into.") var folder: String = "INBOX"

        func validate() throws {
            guard (mbox == nil) != (maildir == nil) else { throw ValidationError("give exactly one of --mbox FILE or --maildir DIR") }
        }

        func run() async throws {
            try await runReportingErrors {
                let lock = try lockDataDirectory(global.dataDir)
                let node = try await openNode(global)
                let addr = try parseAddress(address)
                let password = try await readPassword(prompt: "Password for \(addr): ")
                let session = try await node.mailboxes.unlock(address: addr, password: password)
                let summary: MailboxTransfer.Summary
                if let mbox = mbox.map(resolvePath) {
                    let progress = ProgressLine(label: "\(mbox)", minimum: 8 << 20)
                    summary = try await MailboxTransfer.importMBox(session: session, path: mbox, folder: folder, progress: progress.report)
                    progress.finish()
                } else {
                    let progress = ProgressLine(label: "\(maildir ?? "")", minimum: 200)
                    summary = try await MailboxTransfer.importMaildir(session: session, root: resolvePath(maildir ?? ""), progress: progress.report)
                    progress.finish()
                }
                await session.close()
                emit("imported \(summary.messages) message\(summary.messages == 1 ? "" : "s") into \(summary.folders) folder\(summary.folders == 1 ? "" : "s") "
                    + "(\(ByteSize.format(summary.bytes))); \(summary.duplicates) already there")
                await releaseNode(node)
                withExtendedLifetime(lock) {}
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List folders with counts, or the messages of one folder. Password from SEALBOX_PASSWORD or a prompt.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Option(name: .customLong("messages"), help: "List this folder's messages: UID, date, from, subject.") var folder: String?

        func run() async throws {
            try await runReportingErrors {
                let lock = try lockDataDirectory(global.dataDir)
                let node = try await openNode(global)
                let addr = try parseAddress(address)
                let password = try await readPassword(prompt: "Password for \(addr): ")
                let session = try await node.mailboxes.unlock(address: addr, password: password)
                if let folder {
                    guard try await session.folder(folder) != nil else { throw ValidationError("no such folder: \(folder)") }
                    var rows = [["UID", "DATE", "FROM", "SUBJECT"]]
                    for m in try await session.messages(in: folder, uids: nil, changedSince: nil) {
                        rows.append(["\(m.uid)", formatDate(m.sentDate ?? m.internalDate), m.from ?? "-", m.subject ?? ""])
                    }
                    emit(table(rows))
                } else {
                    var rows = [["FOLDER", "MESSAGES", "UNSEEN", "SIZE", "SPECIAL-USE"]]
                    for f in try await session.folders() {
                        let s = try await session.status(of: f.path)
                        rows.append([f.path, "\(s.messages)", "\(s.unseen)", ByteSize.format(s.sizeBytes), f.specialUse?.rawValue ?? ""])
                    }
                    emit(table(rows))
                }
                await session.close()
                await releaseNode(node)
                withExtendedLifetime(lock) {}
            }
        }
    }
}

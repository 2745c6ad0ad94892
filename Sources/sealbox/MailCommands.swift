import ArgumentParser
import Foundation
import MailCore
import MailStore
import SealboxApp

struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Deliver a message from standard input to an address (a local delivery agent).",
        discussion: """
            The message is sealed to the mailbox's public key and committed to the queue; it reaches INBOX \
            at the mailbox's next unlock. Exit codes follow sysexits: 67 unknown recipient, 75 try again later.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument var address: String
    @Option(help: "Largest message accepted, e.g. 50M.") var maxSize: String = "64M"

    func run() async throws {
        try await runReportingErrors(exitCode: { error in
            if let e = error as? MailStoreError, e.code == .noMailbox { return 67 }  // EX_NOUSER
            if error is ValidationError { return 64 }                                 // EX_USAGE
            if let e = error as? CLIFailure, let code = e.exitCode { return code }
            return 75                                                                 // EX_TEMPFAIL
        }) {
            let recipient = try parseAddress(address)
            let limit = try ByteSize.parse(maxSize)
            let message = try readStandardInput(limit: Int(limit))
            guard !message.isEmpty else { throw ValidationError("empty message on standard input") }
            let node = try SealboxNode.open(dataDirectory: global.dataDir)
            _ = try await node.mailboxes.deliver(to: recipient, message: message, internalDate: Date())
        }
    }

    func readStandardInput(limit: Int) throws -> [UInt8] {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &buffer, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw CLIFailure("cannot read standard input") }
            if n == 0 { return data }
            data.append(contentsOf: buffer[0..<n])
            if data.count > limit { throw CLIFailure("message too large (over \(ByteSize.format(Int64(limit))))", exitCode: 73) }
        }
    }
}

struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox", abstract: "Look into a mailbox (needs its password).", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List folders with counts, or the messages of one folder. Password from SEALBOX_PASSWORD or a prompt.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Option(name: .customLong("messages"), help: "List this folder's messages: UID, date, from, subject.") var folder: String?

        func run() async throws {
            try await runReportingErrors {
                let lock = try DataDirectoryLock(dataDirectory: global.dataDir)
                let node = try SealboxNode.open(dataDirectory: global.dataDir)
                let addr = try parseAddress(address)
                let password = try readPassword(prompt: "Password for \(addr): ")
                let session = try await node.mailboxes.unlock(address: addr, password: password)
                if let folder {
                    guard try await session.folder(folder) != nil else { throw ValidationError("no such folder: \(folder)") }
                    var rows = [["UID", "DATE", "FROM", "SUBJECT"]]
                    for m in try await session.messages(in: folder, uids: nil, changedSince: nil) {
                        rows.append(["\(m.uid)", formatDate(m.sentDate ?? m.internalDate), m.from ?? "-", m.subject ?? ""])
                    }
                    print(table(rows))
                } else {
                    var rows = [["FOLDER", "MESSAGES", "UNSEEN", "SIZE", "SPECIAL-USE"]]
                    for f in try await session.folders() {
                        let s = try await session.status(of: f.path)
                        rows.append([f.path, "\(s.messages)", "\(s.unseen)", ByteSize.format(s.sizeBytes), f.specialUse?.rawValue ?? ""])
                    }
                    print(table(rows))
                }
                await session.close()
                await node.shutdown()
                withExtendedLifetime(lock) {}
            }
        }
    }
}

import ArgumentParser
import Directory
import Foundation
import MailCore
import MailStore
import SealboxApp

/// Runs a command body, turning any error into one clear line on stderr and a non-zero exit.
func runReportingErrors(exitCode: (any Error) -> Int32 = { _ in 1 }, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError(describe(error))
        throw ExitCode(exitCode(error))
    }
}

func describe(_ error: any Error) -> String {
    switch error {
    case let e as CustomStringConvertible: e.description
    default: "\(error)"
    }
}

func printError(_ message: String) {
    writeStandardError(Data("sealbox: \(message)\n".utf8))
}

func parseAddress(_ text: String) throws -> EmailAddress {
    do { return try EmailAddress(text) } catch { throw ValidationError(error.description) }
}

/// The password of a mailbox: `SEALBOX_PASSWORD`, else a prompt on the terminal (no echo). Inside
/// `serve` for a control-socket client: the client's variable or terminal.
func readPassword(prompt: String, environment variable: String = "SEALBOX_PASSWORD") async throws -> String {
    try await readSecret(prompt: prompt, environment: variable, missing: "no password: set \(variable) or run from a terminal")
}

/// A secret from `variable`, else typed on the terminal without echo; `missing` when neither.
/// Inside `serve` for a control-socket client, the client answers the same way.
func readSecret(prompt: String, environment variable: String, missing: String) async throws -> String {
    if let client = CommandContext.inNode?.client {
        guard let value = try await client.secret(prompt: prompt, environment: variable), !value.isEmpty else { throw CLIFailure(missing) }
        return value
    }
    return try readSecretHere(prompt: prompt, environment: variable, missing: missing)
}

/// `readSecret` in this process: its environment, else its terminal.
func readSecretHere(prompt: String, environment variable: String, missing: String) throws -> String {
    if !variable.isEmpty, let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty { return value }
    let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
    guard tty >= 0 else { throw CLIFailure(missing) }
    defer { close(tty) }
    var saved = termios()
    tcgetattr(tty, &saved)
    var silent = saved
    silent.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(tty, TCSAFLUSH, &silent)
    defer { tcsetattr(tty, TCSAFLUSH, &saved); _ = write(tty, "\n", 1) }
    _ = prompt.withCString { write(tty, $0, strlen($0)) }
    var bytes: [UInt8] = []
    var c: UInt8 = 0
    while read(tty, &c, 1) == 1, c != UInt8(ascii: "\n"), bytes.count < 4096 { bytes.append(c) }
    let password = String(decoding: bytes, as: UTF8.self)
    bytes = bytes.map { _ in 0 }
    guard !password.isEmpty else { throw ValidationError("no password given") }
    return password
}

func formatDate(_ date: Date?) -> String {
    guard let date else { return "-" }
    return date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon))
}

/// Pads columns for a plain-text table.
func table(_ rows: [[String]]) -> String {
    guard let width = rows.map(\.count).max() else { return "" }
    let widths = (0..<width).map { col in rows.map { col < $0.count ? $0[col].count : 0 }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }.joined(separator: "\n")
}

/// An error of the command line itself, with an optional specific exit code.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32?
    init(_ description: String, exitCode: Int32? = nil) { self.description = description; self.exitCode = exitCode }
}

/// Where this command may find the node key: `node.keyFile` and `node.keyPassphrase` from the
/// settings (flags, SEALBOX_* environment, sealbox.json), else a prompt on the terminal.
func nodeKeyOptions(_ settings: SealboxConfiguration) -> NodeKeyStore.Options {
    NodeKeyStore.Options(keyFile: settings.node.keyFile, passphrase: settings.node.keyPassphrase, askPassphrase: {
        // No terminal: nil, and the node key store says what to set.
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else { return nil }
        close(tty)
        return try readSecretHere(prompt: "Node key passphrase: ", environment: "SEALBOX_NODE_KEY_PASSPHRASE",
                              missing: "the node key is sealed with a passphrase: set SEALBOX_NODE_KEY_PASSPHRASE or run from a terminal")
    })
}

/// Opens the node of `dataDirectory` (default: --data-dir) with the key where the settings say.
/// The passphrase leaves the environment once read: nothing this process starts inherits it.
/// Refused on a frontend (it has no node).
func openNode(_ global: GlobalOptions, config: String? = nil, dataDirectory: String? = nil) async throws -> SealboxNode {
    if let running = CommandContext.inNode, dataDirectory.map({ running.isNodeDirectory($0) }) ?? true { return running.node }
    let settings = try await loadSettings(dataDir: global.dataDir, config: config)
    defer { unsetenv("SEALBOX_NODE_KEY_PASSPHRASE") }
    // Opening a node here would give a frontend a node key, a queue and (password generate) a
    // mailbox of its own, which no storage node serves.
    if settings.cluster.role == .frontend {
        throw CLIFailure("this is a frontend (node.role = frontend): it keeps no node key, queue or mailbox. Run this command on a storage node, where it runs in the serving node (`sealbox cluster status` works here)")
    }
    return try await SealboxNode.open(dataDirectory: dataDirectory ?? global.dataDir, key: nodeKeyOptions(settings), directoryURL: settings.directory.url)
}

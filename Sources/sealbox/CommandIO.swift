import ArgumentParser
import Foundation
import SealboxApp

/// A command running inside `serve` for a control-socket client (ControlServer): the node that is
/// serving and the client its output and questions go to. The command reads its settings as it
/// would in its own process: the client's `SEALBOX_*` variables, `--config`, the data directory's
/// sealbox.json.
struct InNodeCommand: Sendable {
    let node: SealboxNode
    let client: ControlSession

    /// Whether `path` (as the client typed it) names the serving node's data directory.
    func isNodeDirectory(_ path: String) -> Bool {
        URL(fileURLWithPath: resolvePath(path)).standardizedFileURL.path == node.dataDirectory
    }
}

enum CommandContext {
    /// Set while a command runs inside `serve` for a control client; nil in a command's own process.
    @TaskLocal static var inNode: InNodeCommand?
}

/// `print` for commands: this process's standard output, or the control client's.
func emit(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    writeStandardOutput(Data((items.map { "\($0)" }.joined(separator: separator) + terminator).utf8))
}

func writeStandardOutput(_ data: Data) {
    if let client = CommandContext.inNode?.client { client.write(stdout: Array(data)) } else { FileHandle.standardOutput.write(data) }
}

func writeStandardError(_ data: Data) {
    if let client = CommandContext.inNode?.client { client.write(stderr: Array(data)) } else { FileHandle.standardError.write(data) }
}

/// Whether standard error is a terminal (the control client's when the command runs for one).
var standardErrorIsTerminal: Bool {
    if let running = CommandContext.inNode { return running.client.request.stderrIsTerminal }
    return isatty(2) == 1
}

/// A path as the user typed it, made absolute: relative to the control client's working directory
/// when the command runs for one (the node's own working directory means nothing to the user).
func resolvePath(_ path: String) -> String {
    guard !path.hasPrefix("/") else { return path }
    let base = CommandContext.inNode?.client.request.workingDirectory ?? FileManager.default.currentDirectoryPath
    return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
}

/// The data directory's lock for a command that opens mailboxes; none inside `serve`, which holds it.
func lockDataDirectory(_ path: String) throws -> DataDirectoryLock? {
    if let running = CommandContext.inNode, running.isNodeDirectory(path) { return nil }
    return try DataDirectoryLock(dataDirectory: resolvePath(path))
}

/// Ends a command's use of the node: locks its mailboxes, unless it is the serving node.
func releaseNode(_ node: SealboxNode) async {
    if let running = CommandContext.inNode, running.node === node { return }
    await node.shutdown()
}

/// Standard input, whole (at most `limit` bytes): this process's or the control client's.
func readStandardInput(limit: Int, tooLarge: @autoclosure () -> any Error) async throws -> [UInt8] {
    if let client = CommandContext.inNode?.client {
        do {
            return try await client.standardInput(limit: limit)
        } catch is ControlSession.StandardInputTooLarge {
            throw tooLarge()
        }
    }
    var data = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(0, &buffer, buffer.count)
        if n < 0 { if errno == EINTR { continue }; throw CLIFailure("cannot read standard input") }
        if n == 0 { return data }
        data.append(contentsOf: buffer[0..<n])
        if data.count > limit { throw tooLarge() }
    }
}

/// A secret given only through an environment variable (no prompt): this process's, or the
/// control client's. nil when it is not set.
func optionalSecret(environment variable: String) async throws -> String? {
    if let client = CommandContext.inNode?.client {
        return try await client.secret(prompt: "", environment: variable).flatMap { $0.isEmpty ? nil : $0 }
    }
    return ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
}

import ArgumentParser
import Foundation
import SealboxApp

/// The CLI's side of the control socket: when `serve` holds the data directory, a command line is
/// sent to it (ControlServer) and runs there; this process only relays output, answers questions
/// for secrets (its environment, else its terminal) and standard input, and exits with the
/// command's status. Without a serving node, the command runs here as always.
enum ControlClient {
    /// Commands that never go to the node: they do not open the data directory (`config`,
    /// `message`, `dns`, `cluster`), are the node (`serve`), or must not run while it serves (`node key move`).
    static let runHere: Set<String> = ["serve", "config", "message", "dns", "node", "cluster", "help"]

    /// Runs `arguments` in the node serving their data directory; nil when none serves it.
    static func runInServingNode(_ arguments: [String]) -> Int32? {
        guard let first = arguments.first, !runHere.contains(first), !first.hasPrefix("-") else { return nil }
        if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) { return nil }
        let dataDir = URL(fileURLWithPath: dataDirectory(in: arguments)).standardizedFileURL.path
        let socketPath = ControlServer.socketPath(dataDirectory: dataDir)
        guard FileManager.default.fileExists(atPath: socketPath), let fd = connect(socketPath) else { return nil }
        defer { close(fd) }
        let request = ControlRequest(arguments: arguments, workingDirectory: FileManager.default.currentDirectoryPath,
                                     stderrIsTerminal: isatty(2) == 1,
                                     environment: ControlRequest.settingsVariables(ProcessInfo.processInfo.environment))
        guard let json = try? JSONEncoder().encode(request), send(fd, ControlFrame(.request, Array(json))) else {
            return failed("cannot send the command to the node at \(socketPath)")
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            do {
                while let (frame, length) = try ControlFrame.decode(buffer) {
                    buffer.removeFirst(length)
                    if let status = try handle(frame, fd: fd) { return status }
                }
            } catch {
                return failed("the node sent something unexpected: \(error)")
            }
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return failed("the node closed the control socket before the command ended (see its log)") }
            buffer += chunk[0..<n]
        }
    }

    /// Acts on one frame from the node; the exit status when it is the last.
    private static func handle(_ frame: ControlFrame, fd: Int32) throws -> Int32? {
        switch frame.kind {
        case .stdout:
            writeAll(1, frame.payload)
        case .stderr:
            writeAll(2, frame.payload)
        case .askSecret:
            let question = try JSONDecoder().decode(ControlSecretQuestion.self, from: Data(frame.payload))
            var answer: String?
            if !question.environment.isEmpty, let value = ProcessInfo.processInfo.environment[question.environment], !value.isEmpty {
                answer = value
            } else if !question.prompt.isEmpty {
                answer = try? readSecretHere(prompt: question.prompt, environment: "", missing: "")
            }
            let payload: [UInt8] = answer.map { [1] + Array($0.utf8) } ?? [0]
            _ = send(fd, ControlFrame(.secret, payload))
        case .askStdin:
            let limit = frame.stdinLimit ?? 0
            var total = 0
            var chunk = [UInt8](repeating: 0, count: 256 << 10)
            var end: UInt8 = 0
            while true {
                let n = read(0, &chunk, chunk.count)
                if n < 0 { if errno == EINTR { continue }; end = 2; break }
                if n == 0 { break }
                total += n
                if total > limit { end = 1; break }
                guard send(fd, ControlFrame(.stdin, Array(chunk[0..<n]))) else { return failed("the node went away") }
            }
            _ = send(fd, ControlFrame(.stdinEnd, [end]))
        case .exit:
            return frame.exitStatus ?? 1
        case .request, .secret, .stdin, .stdinEnd:
            throw ControlFrame.DecodeError.unknownKind(frame.kind.rawValue)
        }
        return nil
    }

    /// `--data-dir DIR`, `--data-dir=DIR`, else SEALBOX_DATA_DIR, else ./sealbox-data (as GlobalOptions).
    static func dataDirectory(in arguments: [String]) -> String {
        for (i, argument) in arguments.enumerated() {
            if argument == "--", i > 0 { break }
            if argument == "--data-dir", i + 1 < arguments.count { return arguments[i + 1] }
            if argument.hasPrefix("--data-dir=") { return String(argument.dropFirst("--data-dir=".count)) }
        }
        return ProcessInfo.processInfo.environment["SEALBOX_DATA_DIR"] ?? "./sealbox-data"
    }

    private static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { close(fd); return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        // A socket left by a node that is gone (ECONNREFUSED): the command runs here.
        guard connected == 0 else { close(fd); return nil }
        return fd
    }

    private static func send(_ fd: Int32, _ frame: ControlFrame) -> Bool { writeAll(fd, frame.encoded) }

    @discardableResult
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    private static func failed(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("sealbox: \(message)\n".utf8))
        return 75
    }
}

extension ControlClient {
    /// Runs a control client's command line in this (serving) process: parsed as the CLI parses
    /// it, run with its output and questions going to the client. Returns the exit status.
    static func runHere(_ request: ControlRequest, session: ControlSession, node: SealboxNode) async -> Int32 {
        let context = InNodeCommand(node: node, client: session)
        return await CommandContext.$inNode.withValue(context) {
            do {
                if let first = request.arguments.first, runHere.contains(first) {
                    throw CLIFailure("`sealbox \(first)` does not run through the serving node")
                }
                var command = try Sealbox.parseAsRoot(request.arguments)
                if var asyncCommand = command as? AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
                return 0
            } catch {
                let code = Sealbox.exitCode(for: error).rawValue
                let message = Sealbox.fullMessage(for: error)
                if !message.isEmpty {
                    if code == 0 { writeStandardOutput(Data((message + "\n").utf8)) } else { printError(message) }
                }
                return code
            }
        }
    }
}

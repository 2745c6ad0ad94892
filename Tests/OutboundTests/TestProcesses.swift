import Foundation
import TestSupport

/// A child process of these tests (Python reference code, aiosmtpd, postsrsd, openssl) over
/// TestSupport's runner: its exit seen by waitpid on its own pid, awaited without blocking a
/// thread, stopped with SIGKILL.
final class TestChild: Sendable {
    let handle: ChildHandle
    /// Output files of ours (the caller did not name one), removed with the child.
    private let scratchFiles: [String]

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(_ executable: String, _ arguments: [String], stdin: String? = nil, stdout: String? = nil, stderr: String? = nil) throws {
        let scratch = NSTemporaryDirectory() + "outbound-child-" + UUID().uuidString
        scratchFiles = (stdout == nil ? [scratch + ".out"] : []) + (stderr == nil ? [scratch + ".err"] : [])
        handle = ChildHandle(try ChildProcess.spawn(executable, arguments, stdinPath: stdin,
                                                    outputFiles: (stdout ?? scratch + ".out", stderr ?? scratch + ".err")))
    }

    var hasExited: Bool { !handle.isRunning }
    var terminationStatus: Int32 { handle.terminationStatus }

    func waitForExit() async { _ = await handle.exited(within: .seconds(86_400)) }

    /// Waits at most `timeout`; then kills it. True when it exited by itself.
    func waitForExit(timeout: Duration) async -> Bool {
        if await handle.exited(within: timeout) { return true }
        kill()
        await waitForExit()
        return false
    }

    func kill() { handle.kill9() }

    deinit { for path in scratchFiles { unlink(path) } }

    func stop() async {
        kill()
        await waitForExit()
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { return true } else { return false } }
}

enum TestEnvironment {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The test venv's Python (scripts/setup-test-deps.sh), which has aiosmtpd.
    static var venvPython: String {
        ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"]
            ?? repositoryRoot.appendingPathComponent(".deps/test-venv/bin/python").path
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mailrelay-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a command to completion (bounded) and returns its exit status and output.
    static func run(_ executable: String, _ arguments: [String], stdin: [UInt8]? = nil,
                    timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: [UInt8], stderr: String) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var input: String? = nil
        if let stdin {
            input = dir.appendingPathComponent("stdin").path
            try Data(stdin).write(to: URL(fileURLWithPath: input!))
        }
        let out = dir.appendingPathComponent("stdout").path, err = dir.appendingPathComponent("stderr").path
        let child = try TestChild(executable, arguments, stdin: input, stdout: out, stderr: err)
        guard await child.waitForExit(timeout: timeout) else {
            throw TestChild.Failure(description: "\(executable) did not finish within \(timeout)")
        }
        let stdout = (try? Data(contentsOf: URL(fileURLWithPath: out))).map { Array($0) } ?? []
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        return (child.terminationStatus, stdout, stderr)
    }

    /// Python 3 from the system (the standard library is enough for the cross-checks).
    static func python(_ script: String, stdin: [UInt8]? = nil) async throws -> String {
        let r = try await run("/usr/bin/python3", ["-c", script], stdin: stdin)
        guard r.status == 0 else { throw TestChild.Failure(description: "python3 failed: \(r.stderr)") }
        return String(decoding: r.stdout, as: UTF8.self)
    }

    /// Waits (polling, bounded) until a file exists and returns its content.
    static func waitForFile(_ path: String, timeout: Duration = .seconds(30), while alive: () -> Bool = { true }) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let s = try? String(contentsOfFile: path, encoding: .utf8) { return s }
            guard alive() else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestChild.Failure(description: "\(path) did not appear within \(timeout)")
    }

    /// A self-signed certificate for localhost and 127.0.0.1, or for `name` (PEM files in `directory`).
    static func makeCertificate(in directory: URL, name: String? = nil) async throws -> (cert: String, key: String) {
        let cert = directory.appendingPathComponent("cert.pem").path, key = directory.appendingPathComponent("key.pem").path
        let r = try await run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=\(name ?? "localhost")",
            "-addext", name.map { "subjectAltName=DNS:\($0)" } ?? "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        guard r.status == 0 else { throw TestChild.Failure(description: "openssl failed: \(r.stderr)") }
        return (cert, key)
    }
}

/// The aiosmtpd server of Servers/smtp_test_server.py on a free loopback port.
final class SMTPTestServer: Sendable {
    let child: TestChild
    let port: Int
    let directory: URL

    struct Received {
        var message: [UInt8]
        var envelope: [String: Any]
        var mailFrom: String { envelope["mailFrom"] as? String ?? "" }
        var rcptTo: [String] { envelope["rcptTo"] as? [String] ?? [] }
        var mailOptions: [String] { envelope["mailOptions"] as? [String] ?? [] }
        var tls: Bool { envelope["tls"] as? Bool ?? false }
        var login: String? { envelope["login"] as? String }
    }

    private init(child: TestChild, port: Int, directory: URL) {
        self.child = child; self.port = port; self.directory = directory
    }

    static func start(_ arguments: [String] = [], in directory: URL) async throws -> SMTPTestServer {
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/OutboundTests/Servers/smtp_test_server.py").path
        let ready = directory.appendingPathComponent("ready").path
        let out = directory.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let child = try TestChild(TestEnvironment.venvPython, [script, "--ready", ready, "--out", out.path] + arguments,
                                     stderr: directory.appendingPathComponent("server.log").path)
        do {
            let text = try await TestEnvironment.waitForFile(ready, while: { !child.hasExited })
            guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw TestChild.Failure(description: "bad ready file: \(text)")
            }
            return SMTPTestServer(child: child, port: port, directory: out)
        } catch {
            await child.stop()
            let log = (try? String(contentsOfFile: directory.appendingPathComponent("server.log").path, encoding: .utf8)) ?? ""
            throw TestChild.Failure(description: "the test SMTP server did not start: \(error)\n\(log)")
        }
    }

    /// Messages accepted so far, in order.
    func received() throws -> [Received] {
        var out: [Received] = []
        var n = 1
        while let json = try? Data(contentsOf: directory.appendingPathComponent("\(n).json")) {
            let eml = try Data(contentsOf: directory.appendingPathComponent("\(n).eml"))
            let envelope = try JSONSerialization.jsonObject(with: json) as? [String: Any] ?? [:]
            out.append(Received(message: Array(eml), envelope: envelope))
            n += 1
        }
        return out
    }

    func stop() async { await child.stop() }
}

/// Runs `body` with a started server and stops the server whatever happens.
func withSMTPServer<T>(_ arguments: [String] = [], certificate: Bool = false,
                       _ body: (SMTPTestServer, (cert: String, key: String)?) async throws -> T) async throws -> T {
    let dir = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var certs: (cert: String, key: String)? = nil
    var args = arguments
    if certificate {
        certs = try await TestEnvironment.makeCertificate(in: dir)
        args += ["--cert", certs!.cert, "--key", certs!.key]
    }
    let server = try await SMTPTestServer.start(args, in: dir)
    do {
        let result = try await body(server, certs)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

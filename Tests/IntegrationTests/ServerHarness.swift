import Foundation
import TestSupport
import Testing

/// Runs `sealbox serve` (the binary next to the tests) on a fresh data directory with one mailbox,
/// waits (bounded) for its `listening:` lines and stops it with SIGTERM (SIGKILL if it lingers).
final class ServerHarness: @unchecked Sendable {
    // @unchecked: `process` and the ports are set once in `start` before the harness is shared;
    // the output buffer is guarded by `output`'s own lock.
    let cli: CLIHarness
    let address: String
    let password: String
    let imapPort: Int
    let imapsPort: Int
    let pop3Port: Int
    let pop3sPort: Int
    let smtpPort: Int
    /// Submission: STARTTLS and implicit TLS.
    let submissionPort: Int
    let submissionsPort: Int
    /// ManageSieve (STARTTLS).
    let manageSievePort: Int
    let certificatePath: String?
    private let process: ChildHandle
    private let output: LineCollector

    var host: String { "127.0.0.1" }
    /// The HTTP listener's port (`listening: https|http 127.0.0.1:PORT`), once it has printed it.
    var httpPort: Int? { Self.port(in: log, service: "https") ?? Self.port(in: log, service: "http") }
    /// The server's process id (its RSS in /proc).
    var pid: Int32 { process.processIdentifier }
    /// Everything `serve` printed on stderr so far.
    var log: String { output.text }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// Sets up `address` (with a storage quota, so that QUOTA has a root) and a password, starts `serve`.
    init(address: String = "user@example.com", quota: String? = "1G", insecureAuth: Bool = true, extraArguments: [String] = [],
         environment extra: [String: String] = [:], timeout: Duration = .seconds(60),
         setup: (CLIHarness) async throws -> Void = { _ in }) async throws {
        cli = try CLIHarness()
        self.address = address
        let domain = String(address.split(separator: "@")[1])
        _ = try await cli.run(["domain", "add", domain])
        let alias = try await cli.run(["alias", "add", address] + (quota.map { ["--quota", $0] } ?? []))
        guard alias.ok else { cli.cleanUp(); throw StartError(description: "alias add failed: \(alias.stderr)") }
        let generated = try await cli.run(["password", "generate", address, "--label", "test"])
        guard generated.ok else { cli.cleanUp(); throw StartError(description: "password generate failed: \(generated.stderr)") }
        password = generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        do { try await setup(cli) } catch { cli.cleanUp(); throw error }

        var environment = extra
        environment["SEALBOX_DATA_DIR"] = cli.dataDir
        let (process, output) = try ServeProcess.launch(
            ["serve", "--imap-port", "auto", "--imaps-port", "auto", "--pop3-port", "auto", "--pop3s-port", "auto", "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto",
             "--managesieve-port", "auto", "--listen", "127.0.0.1"] + (insecureAuth ? ["--allow-insecure-auth"] : []) + extraArguments,
            environment: environment)
        self.output = output
        self.process = process

        let deadline = ContinuousClock.now + timeout
        var ports: (imap: Int?, imaps: Int?, pop3: Int?, pop3s: Int?, smtp: Int?) = (nil, nil, nil, nil, nil)
        var submission: (plain: Int?, implicit: Int?) = (nil, nil)
        var manageSieve: Int?
        while ContinuousClock.now < deadline {
            let text = output.text
            ports = (Self.port(in: text, service: "imap"), Self.port(in: text, service: "imaps"),
                     Self.port(in: text, service: "pop3"), Self.port(in: text, service: "pop3s"), Self.port(in: text, service: "smtp"))
            submission = (Self.port(in: text, service: "submission"), Self.port(in: text, service: "submissions"))
            manageSieve = Self.port(in: text, service: "managesieve")
            // The control socket too: the CLI beside the node goes through it.
            if ports.imap != nil, ports.imaps != nil, ports.pop3 != nil, ports.pop3s != nil, ports.smtp != nil,
               submission.plain != nil, submission.implicit != nil, manageSieve != nil,
               FileManager.default.fileExists(atPath: cli.dataDir + "/control.sock") { break }
            if !process.isRunning || output.text.contains("not part of this build") { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard let imap = ports.imap, let imaps = ports.imaps, let pop3 = ports.pop3, let pop3s = ports.pop3s, let smtp = ports.smtp,
              let submissionPlain = submission.plain, let submissionImplicit = submission.implicit, let manageSieve else {
            let text = output.text
            let running = process.isRunning
            _ = Self.stop(process)
            cli.cleanUp()
            throw StartError(description: "sealbox serve did not print all eight listening lines within \(timeout) "
                + "(still running: \(running)); stderr:\n\(text)")
        }
        imapPort = imap
        imapsPort = imaps
        pop3Port = pop3
        pop3sPort = pop3s
        smtpPort = smtp
        submissionPort = submissionPlain
        submissionsPort = submissionImplicit
        manageSievePort = manageSieve
        certificatePath = Self.certificate(in: cli.dataDir + "/tls")
    }

    /// `listening: imap 127.0.0.1:54321 (STARTTLS)` → 54321 (also after a prefix such as `sealbox: `)
    static func port(in text: String, service: String) -> Int? {
        for line in text.split(separator: "\n") {
            guard let start = line.range(of: "listening: ") else { continue }
            let words = line[start.lowerBound...].split(separator: " ")
            guard words.count >= 3, words[0] == "listening:", words[1] == service,
                  let colon = words[2].lastIndex(of: ":") else { continue }
            return Int(words[2][words[2].index(after: colon)...])
        }
        return nil
    }

    /// The PEM certificate in the data directory's tls/ (any *.pem that is not a key).
    static func certificate(in directory: String) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let pems = names.filter { $0.hasSuffix(".pem") && !$0.lowercased().contains("key") }.sorted()
        let preferred = pems.first { $0.lowercased().contains("cert") } ?? pems.first
        return preferred.map { directory + "/" + $0 }
    }

    /// `sealbox deliver address < message` while the server runs.
    @discardableResult
    func deliver(_ message: [UInt8]) async throws -> CLIHarness.Result {
        try await cli.run(["deliver", address], stdin: message)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 15 s) and removes the data directory.
    /// Returns whether it exited on SIGTERM within the grace period.
    @discardableResult
    func stop() -> Bool {
        let clean = Self.stop(process)
        cli.cleanUp()
        return clean
    }

    private static func stop(_ process: ChildHandle) -> Bool {
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        process.waitUntilExit()
        return true
    }

    deinit { if process.isRunning { _ = Self.stop(process) } }
}

/// What a running child has written to its stderr so far.
struct LineCollector: Sendable {
    let handle: ChildHandle
    var text: String { handle.stderrText }
}

/// Runs a client script (bounded); its stdout and stderr interleaved.
enum ScriptRunner {
    struct Result: Sendable {
        var status: Int32
        var timedOut: Bool
        var output: String
        var ok: Bool { status == 0 && !timedOut }

        init(status: Int32, timedOut: Bool, output: String) { self.status = status; self.timedOut = timedOut; self.output = output }
        /// stdout, then stderr.
        init(_ r: ChildProcess.Result) { self.init(status: r.status, timedOut: r.timedOut, output: r.stdout + r.stderr) }
    }

    static let clientsDirectory: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients").path

    static var python: String { ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "python3" }

    /// Whether `name` is an executable on PATH (or an absolute executable path).
    static func has(_ name: String) -> Bool {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    /// Runs `executable args` in the clients directory (TestSupport's ChildProcess: no blocked
    /// thread, its own process group); on timeout kills it and what it started. The scripts bound
    /// each client they start themselves. `output` is its stdout, then its stderr.
    static func run(_ executable: String, _ args: [String], env: [String: String] = [:], timeout: Duration) async throws -> Result {
        Result(try await ChildProcess.run(executable, args, environment: environment(adding: env), directory: clientsDirectory, timeout: timeout))
    }

    /// `run` blocking the calling thread, for a `defer` or a static initializer (quick commands only).
    static func runBlocking(_ executable: String, _ args: [String], env: [String: String] = [:], timeout: Duration) throws -> Result {
        Result(try ChildProcess.spawn(executable, args, environment: environment(adding: env), directory: clientsDirectory)
            .waitBlocking(timeout: timeout))
    }

    /// The test process's environment with the test Python, unbuffered output and `env` on top.
    private static func environment(adding env: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SEALBOX_TEST_PYTHON"] = python
        environment["PYTHONUNBUFFERED"] = "1"
        for (k, v) in env { environment[k] = v }
        return environment
    }
}

/// `sealbox serve` on an existing data directory, for tests that kill and restart it.
enum ServeProcess {
    /// This process's environment with inbound authentication off, for the tests that start
    /// `serve` themselves and send mail without a DNS server for the senders' domains.
    static var environmentWithoutAuth: [String: String] {
        ProcessInfo.processInfo.environment.merging(["SEALBOX_AUTH_ENABLED": "false"]) { _, new in new }
    }

    /// Runs the `sealbox` binary with `arguments` (SEALBOX_PASSWORD removed from the environment,
    /// `environment` added) and collects its stderr.
    static func launch(_ arguments: [String], environment extra: [String: String]) throws -> (ChildHandle, LineCollector) {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SEALBOX_PASSWORD")
        // Tests reach no network: unless a test names its DNS server, direct delivery asks one on
        // loopback that is not there (a temporary failure: mail waits) and no root anchor is checked.
        if extra["SEALBOX_DNS_SERVERS"] == nil {
            environment["SEALBOX_DNS_SERVERS"] = "127.0.0.1@9"
            environment["SEALBOX_DNS_TRUST_ANCHOR"] = "none"
            environment["SEALBOX_DNS_TIMEOUT"] = "2"
        }
        // Inbound authentication needs the senders' DNS: the suites that test it turn it on with
        // a DNS server serving their zones (InboundAuthServeTests); elsewhere it is off.
        if extra["SEALBOX_AUTH_ENABLED"] == nil { environment["SEALBOX_AUTH_ENABLED"] = "false" }
        // ManageSieve's default port (4190 as root) would be shared by every serve the tests run at
        // once: any free port unless a test names one (flags win over the environment).
        if extra["SEALBOX_MANAGESIEVE_PORT"] == nil { environment["SEALBOX_MANAGESIEVE_PORT"] = "auto" }
        // The same for HTTP (443 as root).
        if extra["SEALBOX_HTTP_PORT"] == nil { environment["SEALBOX_HTTP_PORT"] = "auto" }
        for (k, v) in extra { environment[k] = v }
        let process = try ChildHandle(CLIHarness.binary, arguments, environment: environment)
        return (process, LineCollector(handle: process))
    }

    /// Starts it (every port `auto`, plaintext logins allowed) and waits for its SMTP and IMAP ports.
    static func start(dataDir: String, environment extra: [String: String] = [:]) throws
        -> (process: ChildHandle, smtp: Int, imap: Int, output: LineCollector) {
        let (process, output) = try launch(["serve", "--data-dir", dataDir, "--imap-port", "auto", "--imaps-port", "auto", "--pop3-port", "auto",
                                            "--pop3s-port", "auto", "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto", "--listen", "127.0.0.1", "--allow-insecure-auth"],
                                           environment: extra)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let smtp = ServerHarness.port(in: output.text, service: "smtp"),
               let imap = ServerHarness.port(in: output.text, service: "imap") {
                return (process, smtp, imap, output)
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw ServerHarness.StartError(description: "serve did not start: \(output.text)")
    }

    /// A helper process (a test server script) that writes its port to a ready file.
    static func startScript(_ arguments: [String], readyFile: String) throws -> (ChildHandle, Int) {
        let process = try ChildHandle(ScriptRunner.python, arguments, directory: ScriptRunner.clientsDirectory)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: readyFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return (process, port)
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw ServerHarness.StartError(description: "\(arguments.first ?? "script") did not start")
    }

    static func kill9(_ process: ChildHandle) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A port nothing listens on right now (bound and released).
    static func freePort() -> Int { MotoServer.freePort() }
}

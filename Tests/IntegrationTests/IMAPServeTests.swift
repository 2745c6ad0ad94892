import Foundation
import TestSupport
import Testing

/// `sealbox serve` started for real on loopback (every port `auto`), checked with raw sockets from Python.
@Suite("sealbox serve: IMAP over the network")
struct IMAPServeTests {
    final class Served: Sendable {
        let cli: CLIHarness
        let process: ChildHandle
        let password: String
        let imapPort: Int
        let imapsPort: Int

        init(extraArguments: [String] = []) async throws {
            cli = try CLIHarness()
            password = try await cli.setUpMailbox()
            process = try ChildHandle(CLIHarness.binary, ["serve", "--data-dir", cli.dataDir, "--imap-port", "auto", "--managesieve-port", "auto", "--http-port", "auto", "--imaps-port", "auto",
                                                           "--pop3-port", "auto", "--pop3s-port", "auto", "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto"] + extraArguments,
                                      environment: ServeProcess.environmentWithoutAuth)
            var text = ""
            let deadline = Date().addingTimeInterval(60)
            while !(text.contains("listening: imap ") && text.contains("listening: imaps ")), Date() < deadline, process.isRunning {
                try? await Task.sleep(for: .milliseconds(20))
                text = process.stderrText
            }
            func port(_ name: String) -> Int {
                guard let r = text.range(of: "listening: \(name) 127.0.0.1:") else { return 0 }
                return Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
            }
            imapPort = port("imap")
            imapsPort = port("imaps")
        }

        var certificate: String { cli.dataDir + "/tls/cert.pem" }

        func stop() -> Int32 {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            cli.cleanUp()
            return process.terminationStatus
        }
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("ServerChecks/imap_server_checks.py").path
    static let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "/usr/bin/python3"

    func runCheck(_ served: Served, _ check: String, extra: [String] = [],
                  whileRunning: ((ChildHandle) async throws -> Void)? = nil) async throws -> (Int32, String) {
        let p = try ChildHandle(Self.python, [Self.script, check, "127.0.0.1", "\(served.imapPort)", "\(served.imapsPort)",
                                              served.certificate, "hello@example.com", served.password] + extra)
        try await whileRunning?(p)
        if !(await p.exited(within: .seconds(60))) { p.terminate(); _ = await p.exited(within: .seconds(10)); p.kill9() }
        _ = await p.exited(within: .seconds(10))
        return (p.terminationStatus, p.stdoutText + p.stderrText)
    }

    @Test("STARTTLS: plaintext login refused, upgrade works; a command pipelined after STARTTLS is never obeyed")
    func startTLS() async throws {
        let served = try await Served()
        defer { _ = served.stop() }
        #expect(served.imapPort > 0 && served.imapsPort > 0)
        let (status, output) = try await runCheck(served, "starttls")
        #expect(status == 0, "\(output)")
        let (status2, output2) = try await runCheck(served, "starttls-pipelining")
        #expect(status2 == 0, "\(output2)")
    }

    @Test("implicit TLS; CLI delivery reaches an IDLE session (latency printed); SIGTERM says BYE and exits 0")
    func idleAndShutdown() async throws {
        let served = try await Served()
        var stopped = false
        defer { if !stopped { _ = served.stop() } }
        let ready = NSTemporaryDirectory() + "sealbox-ready-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: ready) }
        let (status, output) = try await runCheck(served, "imaps-idle-deliver", extra: [served.cli.dataDir, CLIHarness.binary, ready]) { p in
            // Stop the server while the session is open, once the script says so (bounded wait).
            let deadline = Date().addingTimeInterval(60)
            while p.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: ready) { try await Task.sleep(for: .milliseconds(10)) }
            served.process.terminate()
        }
        _ = await served.process.exited(within: .seconds(30))
        stopped = true
        #expect(status == 0, "\(output)")
        print(output.split(separator: "\n").filter { $0.hasPrefix("idle-latency-ms") }.joined())
        #expect(served.process.terminationStatus == 0)
        served.cli.cleanUp()
    }
}

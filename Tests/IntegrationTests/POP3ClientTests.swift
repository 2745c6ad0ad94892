import Foundation
import Testing

/// Real POP3 clients (Python poplib, curl, fetchmail) against `sealbox serve` on 127.0.0.1: each
/// test starts a server on a fresh data directory and runs one scenario script from Clients/.
@Suite("real POP3 clients against sealbox serve", .serialized)
struct POP3ClientTests {
    static let hasPython = ScriptRunner.has(ScriptRunner.python)

    func run(_ what: String, _ executable: String, _ args: [String], timeout: Duration = .seconds(300)) async throws {
        let result = try await ScriptRunner.run(executable, args, timeout: timeout)
        if !result.ok { Attachment.record(result.output, named: "\(what).txt") }
        #expect(result.ok, "\(what) exited \(result.status)\(result.timedOut ? " (timed out)" : ""):\n\(RealClientTests.tail(result.output))")
    }

    func args(_ server: ServerHarness, port: Int, tls: String) -> [String] {
        var args = ["--host", server.host, "--port", String(port), "--user", server.address, "--password", server.password,
                    "--tls", tls]
        if let cert = server.certificatePath { args += ["--cafile", cert] }
        return args
    }

    /// Delivers three messages with `sealbox deliver` (one with dot-led lines) and writes each to
    /// `<data-dir>/expected/N.eml`; returns that directory.
    func deliverThree(_ server: ServerHarness) async throws -> String {
        let dir = server.cli.dataDir + "/expected"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for n in 1...3 {
            let message = crlf("""
                From: Sender \(n) <sender\(n)@example.org>
                To: \(server.address)
                Subject: POP3 client test \(n)
                Date: Sun, 22 Nov 2026 0\(n):00:00 +0000
                Message-ID: <pop3-client-\(n)-\(UUID().uuidString)@example.org>

                Message \(n).
                .a line that starts with a dot
                .
                end

                """)
            try Data(message).write(to: URL(fileURLWithPath: "\(dir)/\(n).eml"))
            let delivered = try await server.deliver(message)
            try #require(delivered.ok, "deliver: \(delivered.stderr)")
        }
        return dir
    }

    @Test("poplib: every command over plaintext (with --allow-insecure-auth); IMAP sees the expunges",
          .enabled(if: hasPython, "python3 is not installed"))
    func poplibPlaintext() async throws {
        let server = try await ServerHarness()
        defer { #expect(server.stop(), "serve stops on SIGTERM") }
        try await run("pop3_suite plaintext", ScriptRunner.python,
                ["pop3_suite.py", "--imap-port", String(server.imapPort)] + args(server, port: server.pop3Port, tls: "none"))
    }

    @Test("poplib: every command after STLS (certificate verified)", .enabled(if: hasPython, "python3 is not installed"))
    func poplibSTLS() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("pop3_suite stls", ScriptRunner.python,
                ["pop3_suite.py", "--imap-port", String(server.imapPort)] + args(server, port: server.pop3Port, tls: "starttls"))
    }

    @Test("poplib: every command over implicit TLS (pop3s port)", .enabled(if: hasPython, "python3 is not installed"))
    func poplibImplicitTLS() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("pop3_suite pop3s", ScriptRunner.python,
                ["pop3_suite.py", "--imap-port", String(server.imapPort)] + args(server, port: server.pop3sPort, tls: "implicit"))
    }

    @Test("without --allow-insecure-auth: USER refused before STLS; a command pipelined after STLS is not obeyed",
          .enabled(if: hasPython, "python3 is not installed"))
    func secureAuth() async throws {
        let server = try await ServerHarness(insecureAuth: false)
        defer { server.stop() }
        try await run("pop3_suite secure-auth variant", ScriptRunner.python,
                ["pop3_suite.py", "--imap-port", String(server.imapPort), "--secure-auth-variant"]
                + args(server, port: server.pop3Port, tls: "none"), timeout: .seconds(60))
    }

    @Test("curl: pop3:// LIST, RETR, UIDL, TOP, DELE; STLS and pop3s:// with --cacert",
          .enabled(if: ScriptRunner.has("curl"), "curl is not installed"))
    func curl() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        let expected = try await deliverThree(server)
        try await run("pop3_curl_suite", "bash",
                ["pop3_curl_suite.sh", "--pop3s-port", String(server.pop3sPort), "--expect", expected]
                + args(server, port: server.pop3Port, tls: "none"))
    }

    @Test("fetchmail: retrieve and keep, nothing new on the next poll (UIDL), retrieve and delete; STLS and pop3s",
          .enabled(if: ScriptRunner.has("fetchmail"), "fetchmail is not installed"))
    func fetchmail() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        let expected = try await deliverThree(server)
        try await run("fetchmail_suite stls", "bash",
                ["fetchmail_suite.sh", "--expect", expected] + args(server, port: server.pop3Port, tls: "starttls"))
        _ = try await deliverThree(server)
        try await run("fetchmail_suite pop3s", "bash",
                ["fetchmail_suite.sh", "--expect", expected] + args(server, port: server.pop3sPort, tls: "implicit"))
    }

    /// The same poplib suite against Dovecot's POP3 (reference) and Sealbox: the reference passing
    /// proves the scenario (\Seen on RETR, DELE at QUIT seen by IMAP, …); Sealbox must pass it too.
    @Test("poplib suite against Dovecot (reference) and Sealbox",
          .enabled(if: ScriptRunner.has("dovecot") && getuid() == 0, "dovecot is not installed (or not root)"),
          .enabled(if: hasPython, "python3 is not installed"))
    func againstDovecotToo() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-dovecot-pop3-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/dovecot-test.sh").path
        let imap = try freePort(), imaps = try freePort(), pop3 = try freePort(), pop3s = try freePort()
        let env = ["DOVECOT_DIR": dir, "IMAP_PORT": String(imap), "IMAPS_PORT": String(imaps), "POP3_PORT": String(pop3),
                   "POP3S_PORT": String(pop3s), "NUSERS": "1"]
        let started = try await ScriptRunner.run("bash", [script, "start", "--fresh"], env: env, timeout: .seconds(60))
        defer { _ = try? ScriptRunner.runBlocking("bash", [script, "stop"], env: env, timeout: .seconds(30)) }
        try #require(started.ok, "dovecot-test.sh start: \(started.output)")
        try await run("pop3_suite dovecot", ScriptRunner.python,
                ["pop3_suite.py", "--reference", "--host", "127.0.0.1", "--port", String(pop3), "--imap-port", String(imap),
                 "--user", "testuser", "--password", "pass", "--tls", "starttls", "--cafile", dir + "/tls/cert.pem"])

        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("pop3_suite sealbox", ScriptRunner.python,
                ["pop3_suite.py", "--imap-port", String(server.imapPort)] + args(server, port: server.pop3Port, tls: "starttls"))
    }
}

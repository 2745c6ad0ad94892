import Foundation
import Testing

/// Real IMAP clients (Python imaplib, curl, mbsync, offlineimap) against `sealbox serve` on
/// 127.0.0.1: each test starts a server on a fresh data directory, runs one scenario script from
/// Clients/ and expects exit status 0; the script's transcript is attached when it fails.
/// The scenarios pass against Dovecot too (scripts/dovecot-test.sh), which is how they are checked.
@Suite("real IMAP clients against sealbox serve", .serialized)
struct RealClientTests {
    /// What the IMAP server announces after login (the contract of the IMAP work).
    static let capabilities = "IMAP4rev1,IDLE,UIDPLUS,MOVE,SPECIAL-USE,NAMESPACE,ID,ENABLE,UNSELECT,LITERAL+,SASL-IR,APPENDLIMIT,QUOTA"

    static let hasPython = ScriptRunner.has(ScriptRunner.python)

    /// A message delivered with `sealbox deliver` before the clients run.
    static func deliveredMessage() -> [UInt8] {
        crlf("""
            From: Delivery Test <delivery@example.org>
            To: user@example.com
            Subject: delivered before the IMAP session
            Date: Sun, 22 Nov 2026 07:00:00 +0000
            Message-ID: <delivered-\(UUID().uuidString)@example.org>
            MIME-Version: 1.0
            Content-Type: text/plain; charset=utf-8

            Delivered locally; IMAP must return these bytes unchanged.

            """)
    }

    func run(_ what: String, _ executable: String, _ args: [String], timeout: Duration = .seconds(300)) async throws {
        let result = try await ScriptRunner.run(executable, args, timeout: timeout)
        if !result.ok {
            Attachment.record(result.output, named: "\(what).txt")
        }
        #expect(result.ok, "\(what) exited \(result.status)\(result.timedOut ? " (timed out)" : ""):\n\(Self.tail(result.output))")
    }

    static func tail(_ text: String, lines: Int = 150) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    func serverArgs(_ server: ServerHarness, port: Int, tls: String) -> [String] {
        var args = ["--host", server.host, "--port", String(port), "--user", server.address, "--password", server.password,
                    "--tls", tls]
        if let cert = server.certificatePath { args += ["--cafile", cert] }
        return args
    }

    @Test("imaplib: every command over plaintext (with --allow-insecure-auth)",
          .enabled(if: hasPython, "python3 is not installed"))
    func imaplibPlaintext() async throws {
        let server = try await ServerHarness()
        defer { #expect(server.stop(), "serve stops on SIGTERM") }
        let message = Self.deliveredMessage()
        let delivered = try await server.deliver(message)
        #expect(delivered.ok, "deliver while serve runs: \(delivered.stderr)")
        let file = server.cli.dataDir + "/delivered.eml"
        try Data(message).write(to: URL(fileURLWithPath: file))
        try await run("imaplib_suite plaintext", ScriptRunner.python,
                ["imaplib_suite.py"] + serverArgs(server, port: server.imapPort, tls: "none")
                + ["--expect-caps", Self.capabilities, "--expect-inbox-message", file])
    }

    @Test("imaplib: every command after STARTTLS (certificate verified)",
          .enabled(if: hasPython, "python3 is not installed"))
    func imaplibStartTLS() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        #expect(server.certificatePath != nil, "a self-signed certificate in <data-dir>/tls")
        try await run("imaplib_suite starttls", ScriptRunner.python,
                ["imaplib_suite.py"] + serverArgs(server, port: server.imapPort, tls: "starttls")
                + ["--expect-caps", Self.capabilities])
    }

    @Test("imaplib: every command over implicit TLS (imaps port)",
          .enabled(if: hasPython, "python3 is not installed"))
    func imaplibImplicitTLS() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("imaplib_suite imaps", ScriptRunner.python,
                ["imaplib_suite.py"] + serverArgs(server, port: server.imapsPort, tls: "implicit")
                + ["--expect-caps", Self.capabilities])
    }

    /// RFC 7162 §3.2: a client reconnects and resynchronises with SELECT (QRESYNC …) after another
    /// client (imaplib) flagged, expunged and appended; the VANISHED (EARLIER) and FETCH lines are
    /// checked exactly, then UID FETCH (CHANGEDSINCE VANISHED) and VANISHED during IDLE.
    @Test("QRESYNC: reconnect and resynchronise after another client's changes",
          .enabled(if: hasPython, "python3 is not installed"))
    func qresync() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("qresync_suite", ScriptRunner.python,
                ["qresync_suite.py"] + serverArgs(server, port: server.imapPort, tls: "none"), timeout: .seconds(120))
    }

    @Test("without --allow-insecure-auth, LOGIN and AUTHENTICATE are refused before STARTTLS",
          .enabled(if: hasPython, "python3 is not installed"))
    func plaintextAuthRefused() async throws {
        let server = try await ServerHarness(insecureAuth: false)
        defer { server.stop() }
        try await run("imaplib_suite secure-auth variant", ScriptRunner.python,
                ["imaplib_suite.py"] + serverArgs(server, port: server.imapPort, tls: "none") + ["--secure-auth-variant"],
                timeout: .seconds(60))
    }

    @Test("curl: imap:// list, append, fetch by MAILINDEX and UID, SEARCH; STARTTLS and imaps:// with --cacert",
          .enabled(if: ScriptRunner.has("curl"), "curl is not installed"))
    func curl() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("curl_suite", "bash",
                ["curl_suite.sh"] + serverArgs(server, port: server.imapPort, tls: "none")
                + ["--imaps-port", String(server.imapsPort)])
    }

    @Test("mbsync: two-way sync of three folders with a local Maildir",
          .enabled(if: ScriptRunner.has("mbsync"), "mbsync (isync) is not installed"),
          .enabled(if: hasPython, "python3 is not installed"))
    func mbsync() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("mbsync_suite", "bash", ["mbsync_suite.sh"] + serverArgs(server, port: server.imapPort, tls: "none"))
    }

    @Test("offlineimap: two-way sync of three folders with a local Maildir",
          .enabled(if: ScriptRunner.has("offlineimap"), "offlineimap (offlineimap3) is not installed"),
          .enabled(if: hasPython, "python3 is not installed"))
    func offlineimap() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("offlineimap_suite", "bash", ["offlineimap_suite.sh"] + serverArgs(server, port: server.imapPort, tls: "none"))
    }

    /// The same imaplib suite against Dovecot and Sealbox side by side: the reference passing
    /// proves the scenario; Sealbox must pass it too.
    @Test("imaplib suite against Dovecot (reference) and Sealbox",
          .enabled(if: ScriptRunner.has("dovecot") && getuid() == 0, "dovecot is not installed (or not root)"),
          .enabled(if: hasPython, "python3 is not installed"))
    func againstDovecotToo() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-dovecot-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/dovecot-test.sh").path
        let imap = try freePort(), imaps = try freePort()
        let env = ["DOVECOT_DIR": dir, "IMAP_PORT": String(imap), "IMAPS_PORT": String(imaps), "NUSERS": "1"]
        let started = try await ScriptRunner.run("bash", [script, "start", "--fresh"], env: env, timeout: .seconds(60))
        defer { _ = try? ScriptRunner.runBlocking("bash", [script, "stop"], env: env, timeout: .seconds(30)) }
        try #require(started.ok, "dovecot-test.sh start: \(started.output)")
        try await run("imaplib_suite dovecot", ScriptRunner.python,
                ["imaplib_suite.py", "--host", "127.0.0.1", "--port", String(imap), "--user", "testuser",
                 "--password", "pass", "--tls", "starttls", "--cafile", dir + "/tls/cert.pem"])

        let server = try await ServerHarness()
        defer { server.stop() }
        try await run("imaplib_suite sealbox", ScriptRunner.python,
                ["imaplib_suite.py"] + serverArgs(server, port: server.imapPort, tls: "starttls"))
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for peers that cannot bind port 0 and report it).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

import Foundation
import Testing

/// Real ManageSieve clients (Debian's sieve-connect; PyPI sievelib, managesieve, sievemgr) against
/// `sealbox serve` and against Dovecot's managesieved (the reference, scripts/dovecot-managesieve.sh):
/// each uploads, lists, activates, checks, downloads and deletes; the probe (Clients/managesieve_probe.py)
/// puts the same edge cases to both servers and their response codes must agree.
@Suite("ManageSieve: real clients against sealbox serve and Dovecot", .serialized)
struct ManageSieveClientTests {
    static let hasPython = ScriptRunner.has(ScriptRunner.python)
    static let hasSieveConnect = ScriptRunner.has("sieve-connect")
    static let hasDovecot = ScriptRunner.has("dovecot") && FileManager.default.isExecutableFile(atPath: "/usr/lib/dovecot/managesieve") && getuid() == 0
    static let pyClients = ["sievelib", "managesieve", "sievemgr"]

    func run(_ what: String, _ executable: String, _ args: [String], timeout: Duration = .seconds(120)) async throws -> String {
        let result = try await ScriptRunner.run(executable, args, timeout: timeout)
        if !result.ok { Attachment.record(result.output, named: "\(what).txt") }
        #expect(result.ok, "\(what) exited \(result.status)\(result.timedOut ? " (timed out)" : ""):\n\(RealClientTests.tail(result.output))")
        return result.output
    }

    func pyArgs(_ client: String, port: Int, user: String, password: String, tls: String, cafile: String?) -> [String] {
        ["managesieve_clients.py", "--client", client, "--port", String(port), "--user", user, "--password", password, "--tls", tls]
            + (cafile.map { ["--cafile", $0] } ?? [])
    }

    func sieveConnectArgs(port: Int, user: String, password: String, tls: String, cafile: String?) -> [String] {
        ["sieve_connect_suite.sh", "--port", String(port), "--user", user, "--password", password, "--tls", tls]
            + (cafile.map { ["--cafile", $0] } ?? [])
    }

    @Test("sieve-connect: STARTTLS with the certificate verified, and --notlsverify --clearchan where plaintext logins are allowed",
          .enabled(if: hasSieveConnect, "sieve-connect is not installed (scripts/setup-test-deps.sh)"))
    func sieveConnect() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        _ = try await run("sieve-connect starttls", "bash", sieveConnectArgs(port: server.manageSievePort, user: server.address,
                                                                               password: server.password, tls: "starttls", cafile: server.certificatePath))
        _ = try await run("sieve-connect noverify", "bash", sieveConnectArgs(port: server.manageSievePort, user: server.address,
                                                                               password: server.password, tls: "noverify", cafile: nil))
    }

    @Test("PyPI clients over STARTTLS (certificate verified)", .enabled(if: hasPython, "python3 is not installed"), arguments: pyClients)
    func pypiClient(_ client: String) async throws {
        let server = try await ServerHarness(insecureAuth: false)
        defer { server.stop() }
        _ = try await run("\(client) sealbox", ScriptRunner.python, pyArgs(client, port: server.manageSievePort, user: server.address,
                                                                             password: server.password, tls: "starttls", cafile: server.certificatePath))
    }

    @Test("without --allow-insecure-auth: STARTTLS and an empty SASL list before TLS, AUTHENTICATE refused (ENCRYPT-NEEDED), failures audited",
          .enabled(if: hasPython, "python3 is not installed"))
    func plaintextRefused() async throws {
        let server = try await ServerHarness(insecureAuth: false)
        defer { server.stop() }
        let output = try await run("plaintext refusal", ScriptRunner.python, ["-c", """
            import base64, socket, ssl, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
            f = s.makefile("rb")
            def response():
                lines = []
                while True:
                    line = f.readline().rstrip(b"\\r\\n"); lines.append(line)
                    if line[:2] in (b"OK", b"NO") or line[:3] == b"BYE": return lines
            greeting = response()
            assert b'"SASL" ""' in greeting and b'"STARTTLS"' in greeting, greeting
            s.sendall(b'AUTHENTICATE "PLAIN" "' + base64.b64encode(b"\\0" + sys.argv[2].encode() + b"\\0" + sys.argv[3].encode()) + b'"\\r\\n')
            r = response()
            assert r[-1].startswith(b"NO (ENCRYPT-NEEDED)"), r
            s.sendall(b"STARTTLS\\r\\n")
            assert response()[-1].startswith(b"OK"), "STARTTLS"
            ctx = ssl.create_default_context(cafile=sys.argv[4])
            t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
            f = t.makefile("rb")
            caps = response()
            assert b'"SASL" "PLAIN LOGIN"' in caps and b'"STARTTLS"' not in caps, caps
            t.sendall(b'AUTHENTICATE "PLAIN" "' + base64.b64encode(b"\\0" + sys.argv[2].encode() + b"\\0wrong") + b'"\\r\\n')
            assert response()[-1] == b'NO "Authentication failed."'
            t.sendall(b'AUTHENTICATE "PLAIN" "' + base64.b64encode(b"\\0" + sys.argv[2].encode() + b"\\0" + sys.argv[3].encode()) + b'"\\r\\n')
            assert response()[-1] == b'OK "Logged in."'
            print("ok")
            """, String(server.manageSievePort), server.address, server.password, server.certificatePath ?? ""])
        #expect(output.contains("ok"))
        #expect(server.log.contains("auth failure: protocol=managesieve ip=127.0.0.1 user=\"\(server.address)\" reason=bad-credentials"), "\(server.log)")
    }

    @Test("end to end: a filter uploaded and activated over ManageSieve files the next delivery (IMAP sees it)",
          .enabled(if: hasPython, "python3 is not installed"))
    func filterAppliesToDelivery() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        _ = try await run("upload", ScriptRunner.python, ["-c", """
            import managesieve, sys
            m = managesieve.MANAGESIEVE("127.0.0.1", int(sys.argv[1]))
            assert m.authenticate("PLAIN", sys.argv[2], sys.argv[3]) == "OK"
            script = 'require ["fileinto", "mailbox"];\\nif header :contains "subject" "[list]" {\\n  fileinto :create "Lists";\\n}\\n'
            assert m.putscript("lists", script) == "OK", m.response_text
            assert m.setactive("lists") == "OK", m.response_text
            m.logout()
            """, String(server.manageSievePort), server.address, server.password])
        let delivered = try await server.deliver(testMessage(subject: "[list] weekly digest"))
        #expect(delivered.ok, "\(delivered.stderr)")
        let output = try await run("imap check", ScriptRunner.python, ["-c", """
            import imaplib, sys
            m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1])); m.login(sys.argv[2], sys.argv[3])
            typ, data = m.select("Lists"); assert typ == "OK" and data[0] == b"1", (typ, data)
            typ, data = m.select("INBOX"); assert data[0] == b"0", data
            print("filed")
            """, String(server.imapPort), server.address, server.password])
        #expect(output.contains("filed"))
    }

    /// The reference: the same scenarios against Dovecot prove them (a client that fails there is
    /// the scenario's fault); then the probe's lines must be the same from both servers.
    @Test("the client matrix and the probe against Dovecot's managesieved and Sealbox",
          .enabled(if: hasDovecot, "dovecot-managesieved is not installed (or not root)"),
          .enabled(if: hasPython && hasSieveConnect, "python3 or sieve-connect is not installed"))
    func againstDovecot() async throws {
        let dir = NSTemporaryDirectory() + "sealbox-dovecot-managesieve-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/dovecot-managesieve.sh").path
        let port = ServeProcess.freePort()
        let env = ["DOVECOT_DIR": dir, "SIEVE_PORT": String(port)]
        let started = try await ScriptRunner.run("bash", [script, "start"], env: env, timeout: .seconds(60))
        defer { _ = try? ScriptRunner.runBlocking("bash", [script, "stop"], env: env, timeout: .seconds(30)) }
        try #require(started.ok, "dovecot-managesieve.sh start: \(started.output)")
        let (user, password, cafile) = ("alice@example.org", "secret", dir + "/tls/cert.pem")
        _ = try await run("sieve-connect dovecot", "bash", sieveConnectArgs(port: port, user: user, password: password, tls: "starttls", cafile: cafile))
        for client in Self.pyClients {
            _ = try await run("\(client) dovecot", ScriptRunner.python, pyArgs(client, port: port, user: user, password: password, tls: "starttls", cafile: cafile))
        }
        let reference = try await run("probe dovecot", ScriptRunner.python, ["managesieve_probe.py", "127.0.0.1", String(port), user, password])

        let server = try await ServerHarness()
        defer { server.stop() }
        let ours = try await run("probe sealbox", ScriptRunner.python, ["managesieve_probe.py", "127.0.0.1", String(server.manageSievePort),
                                                                        server.address, server.password])
        let theirs = reference.split(separator: "\n"), mine = ours.split(separator: "\n")
        #expect(theirs.count == mine.count, "probe lines: Dovecot \(theirs.count), Sealbox \(mine.count)\nDovecot:\n\(reference)\nSealbox:\n\(ours)")
        for (a, b) in zip(theirs, mine) {
            #expect(a == b, "Dovecot: \(a)\nSealbox: \(b)")
        }
    }
}

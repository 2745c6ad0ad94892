import Foundation
import TestSupport
import Testing

/// `sealbox serve` with listener ports of 0 / `off` (that listener is not made, as Dovecot's
/// `port = 0`), `auto` (any free port, reported in the `listening:` line) and invalid values.
@Suite("sealbox serve: listener ports (0 or off, auto)")
struct ListenerPortTests {
    /// Starts `serve` with `ports` on a data directory with one mailbox and waits (bounded) until
    /// it has printed a `listening:` line for each of `expected`; returns it with its output so far.
    func start(_ cli: CLIHarness, ports: [String], expected: [String]) async throws -> (ChildHandle, String) {
        let (process, output) = try ServeProcess.launch(
            ["serve", "--listen", "127.0.0.1", "--allow-insecure-auth"] + ports, environment: ["SEALBOX_DATA_DIR": cli.dataDir])
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, process.isRunning,
              !expected.allSatisfy({ ServerHarness.port(in: output.text, service: $0) != nil }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (process, output.text)
    }

    func stop(_ process: ChildHandle) async -> Bool {
        if process.isRunning { process.terminate() }
        let exited = await process.exited(within: .seconds(30))
        if !exited { process.kill9(); _ = await process.exited(within: .seconds(10)) }
        return exited && process.terminationStatus == 0
    }

    @Test("--pop3-port 0 --pop3s-port off: no POP3 listener, the node says so; the auto ports serve IMAP and SMTP")
    func pop3Off() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        let (process, text) = try await start(cli, ports: ["--imap-port", "auto", "--imaps-port", "auto", "--pop3-port", "0",
                                                           "--pop3s-port", "off", "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto"],
                                              expected: ["imap", "imaps", "smtp"])
        let imap = try #require(ServerHarness.port(in: text, service: "imap"), "\(text)")
        let smtp = try #require(ServerHarness.port(in: text, service: "smtp"), "\(text)")
        #expect(ServerHarness.port(in: text, service: "imaps") != nil)
        #expect(ServerHarness.port(in: text, service: "pop3") == nil && ServerHarness.port(in: text, service: "pop3s") == nil, "\(text)")
        #expect(text.contains("listener off: pop3 (pop3.port)") && text.contains("listener off: pop3s (pop3s.port)"), "\(text)")
        #expect(!text.contains("listener off: imap") && !text.contains("listener off: smtp"), "\(text)")
        // the ports the system chose work: an IMAP login and an SMTP greeting
        let client = try await ScriptRunner.run(ScriptRunner.python, ["-c", """
            import imaplib, smtplib, sys
            m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1])); m.login('hello@example.com', sys.argv[3]); m.select('INBOX'); m.logout()
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[2]), timeout=30); code, _ = s.noop(); s.quit()
            assert code == 250, code
            print('ok')
            """, String(imap), String(smtp), password], timeout: .seconds(60))
        #expect(client.ok && client.output.contains("ok"), "\(client.output)")
        #expect(await stop(process), "\(process.stderrText)")
    }

    @Test("every IMAP listener off: the IMAP server is not started, POP3 and SMTP are")
    func imapOff() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let (process, text) = try await start(cli, ports: ["--imap-port", "off", "--imaps-port", "0", "--pop3-port", "auto",
                                                           "--pop3s-port", "auto", "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto"],
                                              expected: ["pop3", "pop3s", "smtp"])
        #expect(["pop3", "pop3s", "smtp"].allSatisfy { ServerHarness.port(in: text, service: $0) != nil }, "\(text)")
        #expect(ServerHarness.port(in: text, service: "imap") == nil && ServerHarness.port(in: text, service: "imaps") == nil, "\(text)")
        #expect(text.contains("listener off: imap (imap.port)") && text.contains("listener off: imaps (imaps.port)"), "\(text)")
        #expect(await stop(process), "\(process.stderrText)")
    }

    @Test("--managesieve-port off: no ManageSieve listener and the node says so; managesieve.enabled = false: none, silently")
    func manageSieveOff() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let ports = ["--imap-port", "auto", "--imaps-port", "off", "--pop3-port", "off", "--pop3s-port", "off", "--smtp-port", "auto",
                     "--submission-port", "off", "--submissions-port", "off"]
        var (process, text) = try await start(cli, ports: ports + ["--managesieve-port", "off"], expected: ["imap", "smtp"])
        #expect(text.contains("listener off: managesieve (managesieve.port)") && ServerHarness.port(in: text, service: "managesieve") == nil, "\(text)")
        #expect(await stop(process), "\(process.stderrText)")
        let (disabled, output) = try ServeProcess.launch(["serve", "--listen", "127.0.0.1"] + ports,
                                                         environment: ["SEALBOX_DATA_DIR": cli.dataDir, "SEALBOX_MANAGESIEVE_ENABLED": "false"])
        process = disabled
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, process.isRunning, ServerHarness.port(in: output.text, service: "smtp") == nil {
            try? await Task.sleep(for: .milliseconds(20))
        }
        text = output.text
        #expect(ServerHarness.port(in: text, service: "smtp") != nil && !text.contains("managesieve"), "\(text)")
        #expect(await stop(process), "\(process.stderrText)")
    }

    @Test("an invalid port stops serve with a message naming the setting", arguments: [
        ("--imaps-port=70000", "imaps.port", "70000", "is out of range"),
        ("--pop3-port=on", "pop3.port", "on", "is not a port"),
        ("--smtp-port=-5", "smtp.port", "-5", "is out of range"),
        ("--managesieve-port=sieve", "managesieve.port", "sieve", "is not a port"),
    ])
    func invalid(argument: String, key: String, value: String, problem: String) async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let r = try await cli.run(["serve", "--imap-port", "auto", "--imaps-port", "auto", "--pop3-port", "auto", "--pop3s-port", "auto",
                                   "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto", argument])
        #expect(r.status == 1, "\(r.stderr)")
        let line = r.stderr.split(separator: "\n").first { $0.contains("configuration \(key) = ") }.map(String.init) ?? ""
        #expect(line.contains(value) && line.contains(problem)
                && line.contains("give a port 1…65535, 0 or off (no listener), or auto (any free port)"), "\(r.stderr)")
        #expect(!r.stderr.contains("listening:"))
    }
}

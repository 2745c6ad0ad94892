import Foundation
import TestSupport
import Testing

/// Submission (RFC 6409, RFC 8314, AUTH RFC 4954) end to end: `sealbox serve` with its submission
/// ports, real clients (Python smtplib, swaks, curl, msmtp), a smarthost (aiosmtpd) for the remote
/// recipients, IMAP for the local ones.
@Suite("submission: real clients against sealbox serve", .serialized)
struct SubmissionTests {
    static let python = ScriptRunner.python
    static let hasAiosmtpd: Bool = {
        (try? ScriptRunner.runBlocking(python, ["-c", "import aiosmtpd"], timeout: .seconds(30)).ok) ?? false
    }()
    static let hasClients = ["swaks", "curl", "msmtp"].allSatisfy { ScriptRunner.has($0) }

    func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: () -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return }
            usleep(50_000)
        }
        throw ServerHarness.StartError(description: "timed out waiting for \(what)")
    }

    /// The sink's records: (envelope, message text), in arrival order.
    func sinkRecords(_ dir: String) -> [(mailFrom: String, rcptTos: [String], text: String)] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted { Int($0.split(separator: ".")[0]) ?? 0 < Int($1.split(separator: ".")[0]) ?? 0 }
        return names.compactMap { name in
            let base = dir + "/" + name.dropLast(5)
            guard let data = FileManager.default.contents(atPath: dir + "/" + name),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let eml = FileManager.default.contents(atPath: base + ".eml") else { return nil }
            return (json["mail_from"] as? String ?? "", json["rcpt_tos"] as? [String] ?? [], String(decoding: eml, as: UTF8.self))
        }
    }

    @Test("smtplib (STARTTLS, SMTPS, PLAIN/LOGIN with and without SASL-IR), swaks --auth, curl --ssl-reqd, msmtp: AUTH required and only over TLS, send-as (envelope, From:, Sender:), a revoked password, local delivery over IMAP with Message-ID/Date/Received added, remote recipients relayed through smtp.relay.host",
          .enabled(if: hasAiosmtpd, "aiosmtpd is not installed (scripts/setup-test-deps.sh makes the venv)"))
    func realClients() async throws {
        let work = NSTemporaryDirectory() + "sealbox-submission-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work + "/sink", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (sink, relayPort) = try ServeProcess.startScript(["smtp_sink.py", "--port", "0", "--ready", work + "/sink.ready", "--out", work + "/sink"],
                                                             readyFile: work + "/sink.ready")
        defer { ServeProcess.kill9(sink) }
        var otherPassword = ""
        let hostname = "mail.sealbox.test"
        let server = try await ServerHarness(insecureAuth: false, environment: [
            "SEALBOX_SMTP_RELAY_HOST": "127.0.0.1", "SEALBOX_SMTP_RELAY_PORT": String(relayPort), "SEALBOX_SMTP_RELAY_SECURITY": "none",
            "SEALBOX_OUTBOUND_RETRY_INTERVAL": "1", "SEALBOX_SERVER_HOSTNAME": hostname,
        ]) { cli in
            for args in [["domain", "add", "example.net"], ["alias", "add", "other@example.com"], ["alias", "add", "info@example.com"]] {
                let r = try await cli.run(args)
                guard r.ok else { throw ServerHarness.StartError(description: "\(args): \(r.stderr)") }
            }
            otherPassword = try await cli.run(["password", "generate", "other@example.com"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            // Send-as: only addresses of this server's domains.
            let refused = try await cli.run(["alias", "update", "user@example.com", "--send-as", "someone@gmail.test"])
            #expect(!refused.ok && refused.stderr.contains("not a domain of this server"), "\(refused.stdout)\(refused.stderr)")
            let update = try await cli.run(["alias", "update", "user@example.com", "--send-as", "info@example.com", "--send-as", "*@example.net"])
            #expect(update.ok && update.stdout.contains("may send as itself and *@example.net, info@example.com"), "\(update.stdout)\(update.stderr)")
        }
        defer { #expect(server.stop(), "serve stops on SIGTERM") }
        let cert = try #require(server.certificatePath)
        #expect(server.log.contains("listening: submission 127.0.0.1:\(server.submissionPort) (STARTTLS)")
                && server.log.contains("listening: submissions 127.0.0.1:\(server.submissionsPort) (TLS)"), "\(server.log)")
        let list = try await server.cli.run(["alias", "list", "example.com"])
        #expect(list.stdout.contains("*@example.net"), "\(list.stdout)")
        let phone = try await server.cli.run(["password", "generate", server.address, "--label", "phone"], env: ["SEALBOX_PASSWORD": server.password])
        let phonePassword = phone.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(phone.ok && !phonePassword.isEmpty, "\(phone.stderr)")
        let run = String(UUID().uuidString.prefix(8))

        let suite = try await ScriptRunner.run(Self.python, [
            "submission_suite.py", "--host", server.host, "--port", String(server.submissionPort), "--tls-port", String(server.submissionsPort),
            "--imaps-port", String(server.imapsPort), "--cafile", cert, "--user", server.address, "--password", server.password,
            "--phone-password", phonePassword, "--other-user", "other@example.com", "--other-password", otherPassword,
            "--hostname", hostname, "--sealbox", CLIHarness.binary, "--data-dir", server.cli.dataDir, "--run", run,
        ], timeout: .seconds(300))
        if !suite.ok { Attachment.record(suite.output, named: "submission_suite.txt") }
        #expect(suite.ok, "submission_suite exited \(suite.status):\n\(RealClientTests.tail(suite.output))")

        if Self.hasClients {
            let clients = try await ScriptRunner.run("bash", [
                "submission_clients.sh", "--host", server.host, "--port", String(server.submissionPort), "--tls-port", String(server.submissionsPort),
                "--user", server.address, "--password", server.password, "--cafile", cert, "--run", run,
            ], timeout: .seconds(300))
            if !clients.ok { Attachment.record(clients.output, named: "submission_clients.txt") }
            #expect(clients.ok, "submission_clients exited \(clients.status):\n\(RealClientTests.tail(clients.output))")
        }

        // What reached the smarthost: every remote recipient, from the authenticated sender.
        var expected: Set<String> = ["r1@remote.test", "r2@remote.test", "smtps@remote.test", "r3@remote.test", "r4@remote.test"]
        if Self.hasClients {
            expected.formUnion(["swaks-plain@remote.test", "swaks-login@remote.test", "swaks-tlsc@remote.test", "curl@remote.test",
                                "curl-smtps@remote.test", "msmtp@remote.test", "msmtp-tls@remote.test"])
        }
        try waitFor("the relayed messages") { Set(sinkRecords(work + "/sink").flatMap(\.rcptTos)).isSuperset(of: expected) }
        usleep(1_000_000)  // anything sent twice, or refused mail sent anyway, would show up now
        let records = sinkRecords(work + "/sink")
        #expect(Set(records.flatMap(\.rcptTos)) == expected, "\(records.map(\.rcptTos))")
        #expect(records.filter { $0.rcptTos == ["r2@remote.test"] }.count == 3, "PLAIN without IR, LOGIN with and without")
        #expect(records.filter { $0.rcptTos == ["r3@remote.test"] }.count == 3, "three allowed senders, the refused ones not sent")
        #expect(records.filter { $0.rcptTos == ["r4@remote.test"] }.count == 1, "nothing after the revocation")
        #expect(!records.contains { $0.text.contains("sub-badfrom") || $0.text.contains("sub-after-revoke") })
        #expect(!records.contains { $0.rcptTos.contains("other@example.com") }, "the local recipient is delivered locally")
        let first = try #require(records.first { $0.rcptTos == ["r1@remote.test"] })
        #expect(first.mailFrom == server.address)
        // DKIM-signed by the From domain (ours), both algorithms, above the submission hop's Received.
        #expect(first.text.hasPrefix("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;") && first.text.contains("a=rsa-sha256"),
                "\(first.text.prefix(300))")
        #expect(first.text.contains("\r\nReceived: from authenticated-user (submission)\r\n\tby \(hostname) (Sealbox) with ESMTPSA id "), "\(first.text.prefix(1200))")
        #expect(first.text.contains("Message-ID: <") && first.text.contains("@\(hostname)>\r\n") && first.text.contains("\r\nDate: "))
        #expect(!first.text.contains("127.0.0.1"), "the client's address is not in the message")
        let sendAs = records.filter { $0.rcptTos == ["r3@remote.test"] }.map(\.mailFrom)
        #expect(Set(sendAs) == ["info@example.com", "anyone@example.net", "user+tag@example.com"], "\(sendAs)")
        #expect(server.log.contains("auth failure: protocol=smtp"), "the audit line for the wrong passwords")
        #expect(!server.log.contains(server.password) && !server.log.contains(phonePassword), "no password in the log")
    }

    /// Starts `serve` on `dataDir` and waits for its submission port.
    func startServe(dataDir: String, environment: [String: String]) throws -> (ChildHandle, LineCollector, Int) {
        let (process, output) = try ServeProcess.launch(
            ["serve", "--data-dir", dataDir, "--imap-port", "auto", "--imaps-port", "off", "--pop3-port", "off", "--pop3s-port", "off",
             "--smtp-port", "off", "--submission-port", "auto", "--submissions-port", "off", "--listen", "127.0.0.1", "--allow-insecure-auth"],
            environment: environment)
        try waitFor("serve's submission port", timeout: .seconds(60)) {
            ServerHarness.port(in: output.text, service: "submission") != nil || !process.isRunning
        }
        guard let port = ServerHarness.port(in: output.text, service: "submission") else {
            throw ServerHarness.StartError(description: "serve did not start: \(output.text)")
        }
        return (process, output, port)
    }

    func stopServe(_ process: ChildHandle) async {
        process.terminate()
        if !(await process.exited(within: .seconds(30))) { process.kill9(); _ = await process.exited(within: .seconds(10)) }
    }

    /// One smtplib session: AUTH, then each message (a list of recipients); prints each reply.
    func send(port: Int, password: String, messages: [[String]]) async throws -> String {
        let script = """
            import json, smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
            s.ehlo('client.test'); s.login('hello@example.com', sys.argv[2])
            for rcpts in json.loads(sys.argv[3]):
                code, text = s.mail('hello@example.com')
                if code != 250: print('MAIL', code, text.decode()); s.rset(); continue
                bad = [(c, t.decode()) for c, t in (s.rcpt(r) for r in rcpts) if c != 250]
                if bad: print('RCPT', *bad[0]); s.rset(); continue
                code, text = s.data(b'From: hello@example.com\\r\\nSubject: limits\\r\\n\\r\\nbody\\r\\n')
                print('DATA', code, text.decode())
            s.quit()
            """
        let messagesJSON = String(decoding: try JSONSerialization.data(withJSONObject: messages), as: UTF8.self)
        let r = try await ScriptRunner.run(Self.python, ["-c", script, String(port), password, messagesJSON], timeout: .seconds(120))
        #expect(r.ok, "\(r.output)")
        return r.output
    }

    @Test("per-alias limits answer 450 4.7.1 and still count after a restart; remote mail that cannot be delivered yet (DNS unreachable) waits, deferred and listed")
    func limitsAcrossRestart() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox("hello@example.com")
        let tight = ["SEALBOX_SUBMISSION_MAX_MESSAGES_PER_HOUR": "3", "SEALBOX_SUBMISSION_MAX_RECIPIENTS_PER_DAY": "3",
                     "SEALBOX_OUTBOUND_RETRY_INTERVAL": "1", "SEALBOX_OUTBOUND_MAX_RETRY_INTERVAL": "1",
                     // Direct delivery asks a DNS server that is not there: a temporary failure.
                     "SEALBOX_DNS_SERVERS": "127.0.0.1@\(ServeProcess.freePort())", "SEALBOX_DNS_TIMEOUT": "1", "SEALBOX_DNS_TRUST_ANCHOR": "none"]
        var (server, output, port) = try startServe(dataDir: cli.dataDir, environment: tight)
        let first = try await send(port: port, password: password, messages: [["a@remote.example"], ["b@remote.example", "c@remote.example"], ["d@remote.example"]])
        let lines = first.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines[0].hasPrefix("DATA 250") && lines[1].hasPrefix("DATA 250") && lines[2].hasPrefix("RCPT 450 4.7.1"), "\(first)")
        try waitFor("the deferral") { output.text.contains("submitted mail deferred") }
        await stopServe(server)
        let queued = try await cli.run(["queue", "list"])
        #expect(queued.stdout.contains("sent by hello@example.com to a@remote.example") && queued.stdout.contains("sent by hello@example.com to b@remote.example, c@remote.example")
                && queued.stdout.contains("last error:") && queued.stdout.contains("DNS for remote.example"), "\(queued.stdout)\(queued.stderr)")

        // After a restart: the recipients of the day still count…
        (server, output, port) = try startServe(dataDir: cli.dataDir, environment: tight)
        let second = try await send(port: port, password: password, messages: [["e@remote.example"]])
        #expect(second.hasPrefix("RCPT 450 4.7.1"), "\(second)")
        await stopServe(server)
        // …and so do the messages of the hour.
        var hourly = tight
        hourly["SEALBOX_SUBMISSION_MAX_MESSAGES_PER_HOUR"] = "2"
        hourly["SEALBOX_SUBMISSION_MAX_RECIPIENTS_PER_DAY"] = "100"
        (server, output, port) = try startServe(dataDir: cli.dataDir, environment: hourly)
        let third = try await send(port: port, password: password, messages: [["f@remote.example"]])
        #expect(third.hasPrefix("MAIL 450 4.7.1"), "\(third)")
        await stopServe(server)
        let still = try await cli.run(["queue", "list"])
        #expect(still.stdout.components(separatedBy: "sent by hello@example.com").count == 3, "both jobs still wait, never dropped: \(still.stdout)")
    }

    @Test("mutt sends through submission (STARTTLS, AUTH, the server's certificate pinned): a local recipient has it in INBOX",
          .enabled(if: ScriptRunner.has("mutt"), "mutt is not installed (scripts/setup-test-deps.sh)"))
    func mutt() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox("hello@example.com")
        let (server, _, port) = try startServe(dataDir: cli.dataDir, environment: [:])
        let rc = cli.dataDir + "-muttrc"
        defer { unlink(rc) }
        try """
            set smtp_url = "smtp://hello%40example.com@localhost:\(port)/"
            set smtp_pass = "\(password)"
            set ssl_starttls = yes
            set ssl_force_tls = yes
            set certificate_file = \(cli.dataDir)/tls/cert.pem
            set from = "hello@example.com"
            set use_from = yes
            set record = ""
            set copy = no

            """.write(toFile: rc, atomically: true, encoding: .utf8)
        chmod(rc, 0o600)
        let sent = try await ScriptRunner.run("/bin/sh", ["-c", "echo 'Hello from mutt' | mutt -n -F \"$1\" -s 'sent by mutt' hello@example.com", "sh", rc],
                                              timeout: .seconds(60))
        #expect(sent.ok, "mutt: \(sent.output)")
        await stopServe(server)
        let listing = try await cli.run(["mailbox", "ls", "hello@example.com", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": password])
        #expect(listing.stdout.contains("sent by mutt"), "\(listing.stdout)\(listing.stderr)")
    }

    @Test("wrong passwords over IMAP and submission share one budget per IP: then even the right password is refused (454 4.7.0)")
    func sharedThrottle() async throws {
        let server = try await ServerHarness()
        defer { server.stop() }
        let r = try await ScriptRunner.run(Self.python, ["-c", """
            import base64, imaplib, smtplib, sys
            user, password, imap_port, sub_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
            for i in range(5):
                m = imaplib.IMAP4('127.0.0.1', imap_port, timeout=30)
                try:
                    m.login(user, 'wrong-%d' % i); raise SystemExit('IMAP accepted a wrong password')
                except imaplib.IMAP4.error:
                    pass
                m.logout()
            s = smtplib.SMTP('127.0.0.1', sub_port, timeout=30); s.ehlo('client.test')
            for i in range(5):
                code, text = s.docmd('AUTH', 'PLAIN ' + base64.b64encode(('\\0%s\\0wrong-%d' % (user, i)).encode()).decode())
                assert code == 535 and text.startswith(b'5.7.8'), (i, code, text)
            code, text = s.docmd('AUTH', 'PLAIN ' + base64.b64encode(('\\0%s\\0%s' % (user, password)).encode()).decode())
            assert code == 454 and text.startswith(b'4.7.0'), ('the right password after 10 failures', code, text)
            code, text = s.docmd('MAIL', 'FROM:<%s>' % user)
            assert code == 530, (code, text)
            s.quit()
            m = imaplib.IMAP4('127.0.0.1', imap_port, timeout=30)
            try:
                m.login(user, password); raise SystemExit('IMAP login allowed during the lockout')
            except imaplib.IMAP4.error:
                pass
            print('ok')
            """, server.address, server.password, String(server.imapPort), String(server.submissionPort)], timeout: .seconds(120))
        #expect(r.ok && r.output.contains("ok"), "\(r.output)")
        #expect(server.log.contains("auth failure: protocol=smtp") && server.log.contains("auth failure: protocol=imap"), "\(server.log)")
    }
}

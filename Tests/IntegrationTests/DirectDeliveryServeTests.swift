import Foundation
import TestSupport
import Testing

/// Sending end to end without a smarthost: a user submits to one `sealbox serve` (A), which finds
/// the recipient domain's MX through DNS (nsd on loopback serving a DNSSEC-signed zone, with a
/// TLSA record for the MX), delivers over STARTTLS checked by DANE to a second `sealbox serve` (B)
/// listening on 127.0.0.2, where the message lands in the mailbox, DKIM-signed by A's domain
/// (checked by dkimpy). A TLSA record that does not match B's key defers the message instead.
@Suite("direct delivery between two servers over DNS, DANE and DKIM", .serialized)
struct DirectDeliveryServeTests {
    static let python = ScriptRunner.python

    func waitFor(_ what: String, timeout: Duration = .seconds(90), _ condition: () -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return }
            usleep(50_000)
        }
        throw ServerHarness.StartError(description: "timed out waiting for \(what)")
    }

    func serve(_ dataDir: String, listen: String, environment: [String: String]) throws -> (ChildHandle, LineCollector) {
        let (process, output) = try ServeProcess.launch(
            ["serve", "--data-dir", dataDir, "--imap-port", "auto", "--imaps-port", "off", "--pop3-port", "off", "--pop3s-port", "off",
             "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "off", "--listen", listen, "--allow-insecure-auth"],
            environment: environment)
        try waitFor("serve on \(listen)", timeout: .seconds(60)) {
            // Every listener the test reads a port of (they bind in parallel: IMAP may come last).
            (ServerHarness.port(in: output.text, service: "smtp") != nil && ServerHarness.port(in: output.text, service: "submission") != nil
                && ServerHarness.port(in: output.text, service: "imap") != nil) || !process.isRunning
        }
        guard process.isRunning else { throw ServerHarness.StartError(description: "serve did not start: \(output.text)") }
        return (process, output)
    }

    func stop(_ process: ChildHandle) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    func submit(port: Int, password: String, subject: String) async throws {
        let r = try await ScriptRunner.run(Self.python, ["-c", """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
            s.ehlo('client.example'); s.login('hello@example.com', sys.argv[2])
            s.sendmail('hello@example.com', ['user@dest.example'],
                       ('From: Hello <hello@example.com>\\r\\nTo: user@dest.example\\r\\nSubject: %s\\r\\n\\r\\nAcross the wire.\\r\\n' % sys.argv[3]).encode())
            s.quit()
            """, String(port), password, subject], timeout: .seconds(60))
        #expect(r.ok, "submission: \(r.output)")
    }

    @Test("submission on A → MX lookup → DANE-checked STARTTLS → B's MX → B's mailbox, DKIM-verified; a wrong TLSA defers",
          .enabled(if: TestDNSServer.isAvailable, "nsd/ldnsutils are not installed (scripts/setup-test-deps.sh)"))
    func twoServers() async throws {
        let a = try CLIHarness(), b = try CLIHarness()
        defer { a.cleanUp(); b.cleanUp() }
        let passwordA = try await a.setUpMailbox("hello@example.com")
        let passwordB = try await b.setUpMailbox("user@dest.example")

        // B first: its self-signed certificate exists once it has started; its MX port is the one
        // A delivers to.
        let (serverB, outputB) = try serve(b.dataDir, listen: "127.0.0.2", environment: ["SEALBOX_SERVER_HOSTNAME": "mx.dest.example"])
        let mxPort = try #require(ServerHarness.port(in: outputB.text, service: "smtp"))
        let imapB = try #require(ServerHarness.port(in: outputB.text, service: "imap"))
        let spki = try await ScriptRunner.run("/bin/sh", ["-c", "openssl x509 -in '\(b.dataDir)/tls/cert.pem' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64"], timeout: .seconds(30))
        let digest = spki.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(digest.count == 64, "\(spki.output)")

        func zone(tlsa: String) -> TestDNSServer.Zone {
            .init("dest.example", signed: true, records: """
                @ IN MX 10 mx
                mx IN A 127.0.0.2
                _\(mxPort)._tcp.mx IN TLSA 3 1 1 \(tlsa)
                """)
        }
        let dns = try await TestDNSServer(zones: [zone(tlsa: digest)])
        defer { dns.stop() }
        let environmentA = ["SEALBOX_SERVER_HOSTNAME": "mx.example.com", "SEALBOX_DNS_SERVERS": dns.server,
                            "SEALBOX_DNS_TRUST_ANCHOR": try #require(dns.trustAnchorFile), "SEALBOX_OUTBOUND_MX_PORT": String(mxPort),
                            "SEALBOX_OUTBOUND_RETRY_INTERVAL": "1", "SEALBOX_OUTBOUND_MAX_RETRY_INTERVAL": "2"]
        let (serverA, outputA) = try serve(a.dataDir, listen: "127.0.0.1", environment: environmentA)
        let submissionA = try #require(ServerHarness.port(in: outputA.text, service: "submission"))
        try await submit(port: submissionA, password: passwordA, subject: "Direct over DANE")
        try waitFor("A's delivery") { outputA.text.contains("delivered") && outputA.text.contains("delivery.security=dane") }

        // On B: in INBOX, DKIM-signed by example.com; read over IMAP.
        let fetched = try await ScriptRunner.run(Self.python, ["-c", """
            import imaplib, sys, time
            for _ in range(100):
                m = imaplib.IMAP4('127.0.0.2', int(sys.argv[1])); m.login('user@dest.example', sys.argv[2]); m.select('INBOX')
                typ, data = m.search(None, 'SUBJECT', '"Direct over DANE"')
                if data[0]:
                    typ, msg = m.fetch(data[0].split()[0], '(RFC822)')
                    sys.stdout.buffer.write(msg[0][1]); m.logout(); break
                m.logout(); time.sleep(0.2)
            """, String(imapB), passwordB], timeout: .seconds(60))
        #expect(fetched.output.contains("Across the wire.") && fetched.output.contains("d=example.com;"), "\(fetched.output.prefix(600))")
        stop(serverA)
        let keyRecords = try await a.dkimKeyRecords("example.com").records
        let messageFile = a.dataDir + "-received.eml"
        defer { unlink(messageFile) }
        // The IMAP literal as received (CRLF kept by imaplib).
        try Data(fetched.output.utf8).write(to: URL(fileURLWithPath: messageFile))
        let verified = try await CLIHarness.dkimpy(messageFile, keyRecords: keyRecords)
        #expect(verified.output.contains("\"a\": \"ed25519-sha256\", \"ok\": true") && verified.output.contains("\"a\": \"rsa-sha256\", \"ok\": true"),
                "dkimpy: \(verified.output)")

        // A TLSA record that does not match B's key: A defers, B gets nothing, the queue says why.
        let wrong = String(repeating: "0", count: 64)
        let wrongDNS = try await TestDNSServer(zones: [zone(tlsa: wrong)])
        defer { wrongDNS.stop() }
        var environmentWrong = environmentA
        environmentWrong["SEALBOX_DNS_SERVERS"] = wrongDNS.server
        environmentWrong["SEALBOX_DNS_TRUST_ANCHOR"] = try #require(wrongDNS.trustAnchorFile)
        let (serverA2, outputA2) = try serve(a.dataDir, listen: "127.0.0.1", environment: environmentWrong)
        let submissionA2 = try #require(ServerHarness.port(in: outputA2.text, service: "submission"))
        try await submit(port: submissionA2, password: passwordA, subject: "Must not pass")
        try waitFor("the deferral") { outputA2.text.contains("submitted mail deferred") }
        stop(serverA2)
        let queued = try await a.run(["queue", "list"])
        #expect(queued.stdout.contains("sent by hello@example.com to user@dest.example"), "\(queued.stdout)")
        stop(serverB)
        let listing = try await b.run(["mailbox", "ls", "user@dest.example", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": passwordB])
        #expect(listing.stdout.contains("Direct over DANE") && !listing.stdout.contains("Must not pass"), "\(listing.stdout)")
    }
}

extension DirectDeliveryServeTests {
    @Test("the recipient's MX down: submitted mail waits; A killed with SIGKILL mid-retry, B comes up, A restarts: each message arrives once",
          .enabled(if: TestDNSServer.isAvailable, "nsd is not installed (scripts/setup-test-deps.sh)"))
    func downThenKilled() async throws {
        let a = try CLIHarness(), b = try CLIHarness()
        defer { a.cleanUp(); b.cleanUp() }
        let passwordA = try await a.setUpMailbox("hello@example.com")
        let passwordB = try await b.setUpMailbox("user@dest.example")
        let mxPort = ServeProcess.freePort()
        let dns = try await TestDNSServer(zones: [.init("dest.example", records: "@ IN MX 10 mx\nmx IN A 127.0.0.2")])
        defer { dns.stop() }
        let environmentA = ["SEALBOX_SERVER_HOSTNAME": "mx.example.com", "SEALBOX_DNS_SERVERS": dns.server, "SEALBOX_DNS_TRUST_ANCHOR": "none",
                            "SEALBOX_OUTBOUND_MX_PORT": String(mxPort), "SEALBOX_OUTBOUND_RETRY_INTERVAL": "1", "SEALBOX_OUTBOUND_MAX_RETRY_INTERVAL": "2"]
        let (serverA, outputA) = try serve(a.dataDir, listen: "127.0.0.1", environment: environmentA)
        let submission = try #require(ServerHarness.port(in: outputA.text, service: "submission"))
        for i in 1...3 { try await submit(port: submission, password: passwordA, subject: "Waiting \(i)") }
        try waitFor("failed attempts") { outputA.text.components(separatedBy: "submitted mail deferred").count > 3 }
        kill(serverA.processIdentifier, SIGKILL)
        serverA.waitUntilExit()
        #expect(try await a.run(["queue", "list"]).stdout.components(separatedBy: "sent by hello@example.com").count == 4)

        let (processB, outputB) = try ServeProcess.launch(
            ["serve", "--data-dir", b.dataDir, "--imap-port", "off", "--imaps-port", "off", "--pop3-port", "off", "--pop3s-port", "off",
             "--smtp-port", String(mxPort), "--submission-port", "off", "--submissions-port", "off", "--listen", "127.0.0.2"], environment: [:])
        try waitFor("B's MX") { ServerHarness.port(in: outputB.text, service: "smtp") != nil || !processB.isRunning }
        let (serverA2, outputA2) = try serve(a.dataDir, listen: "127.0.0.1", environment: environmentA)
        try waitFor("three deliveries") { outputA2.text.components(separatedBy: "delivered").count > 3 }
        usleep(1_500_000)  // anything sent twice would arrive now
        stop(serverA2)
        stop(processB)
        #expect(try await a.run(["queue", "list"]).stdout == "nothing queued\n")
        let listing = try await b.run(["mailbox", "ls", "user@dest.example", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": passwordB])
        for i in 1...3 { #expect(listing.stdout.components(separatedBy: "Waiting \(i)").count == 2, "once each: \(listing.stdout)") }
    }
}

extension DirectDeliveryServeTests {
    static let hasPostfix = FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix")

    @Test("to Postfix as the recipient's MX: delivered over STARTTLS into its Maildir, both DKIM signatures still verify (dkimpy)",
          .enabled(if: TestDNSServer.isAvailable && hasPostfix, "nsd or postfix is not installed (scripts/setup-test-deps.sh)"))
    func throughPostfix() async throws {
        let a = try CLIHarness()
        defer { a.cleanUp() }
        let passwordA = try await a.setUpMailbox("hello@example.com")
        let work = a.dataDir + "-postfix"
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let mxPort = ServeProcess.freePort()
        let (postfix, _) = try ServeProcess.startScript(["postfix_mx.py", "--host", "127.0.0.1", "--port", String(mxPort), "--domain", "dest.example",
                                                         "--out", work + "/mail", "--ready", work + "/ready"], readyFile: work + "/ready")
        defer { kill(postfix.processIdentifier, SIGTERM); postfix.waitUntilExit() }
        let dns = try await TestDNSServer(zones: [.init("dest.example", records: "@ IN MX 10 mx\nmx IN A 127.0.0.1")])
        defer { dns.stop() }
        let (serverA, outputA) = try serve(a.dataDir, listen: "127.0.0.1", environment: [
            "SEALBOX_SERVER_HOSTNAME": "mx.example.com", "SEALBOX_DNS_SERVERS": dns.server, "SEALBOX_DNS_TRUST_ANCHOR": "none",
            "SEALBOX_OUTBOUND_MX_PORT": String(mxPort)])
        let submission = try #require(ServerHarness.port(in: outputA.text, service: "submission"))
        try await submit(port: submission, password: passwordA, subject: "Through Postfix")
        try waitFor("delivery to Postfix") { outputA.text.contains("delivered") }
        #expect(outputA.text.contains("delivery.security=opportunistic"), "STARTTLS with Postfix")
        stop(serverA)
        let newDir = work + "/mail/maildir/new"
        try waitFor("the Maildir file") { ((try? FileManager.default.contentsOfDirectory(atPath: newDir)) ?? []).count == 1 }
        let file = newDir + "/" + (try FileManager.default.contentsOfDirectory(atPath: newDir))[0]
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
        #expect(text.contains("Subject: Through Postfix") && text.contains("by mx.dest.example (Postfix)"), "\(text.prefix(800))")
        let keyRecords = try await a.dkimKeyRecords("example.com").records
        let verified = try await CLIHarness.dkimpy(file, keyRecords: keyRecords)
        #expect(verified.output.contains("\"a\": \"ed25519-sha256\", \"ok\": true") && verified.output.contains("\"a\": \"rsa-sha256\", \"ok\": true"),
                "dkimpy after Postfix: \(verified.output)")
    }
}

extension DirectDeliveryServeTests {
    @Test("8-bit mail submitted to a recipient whose MX lacks 8BITMIME arrives 7-bit (quoted-printable), DKIM-signed in that form",
          .enabled(if: TestDNSServer.isAvailable, "nsd is not installed (scripts/setup-test-deps.sh)"))
    func eightBitToSevenBitServer() async throws {
        let a = try CLIHarness()
        defer { a.cleanUp() }
        let passwordA = try await a.setUpMailbox("hello@example.com")
        let work = a.dataDir + "-7bit"
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
        let mxPort = ServeProcess.freePort()
        let (sink, _) = try ServeProcess.startScript([ScriptRunner.clientsDirectory + "/../../OutboundTests/Servers/smtp_test_server.py",
                                                      "--host", "127.0.0.2", "--port", String(mxPort), "--no-8bitmime",
                                                      "--ready", work + "/ready", "--out", work + "/out"], readyFile: work + "/ready")
        defer { ServeProcess.kill9(sink) }
        let dns = try await TestDNSServer(zones: [.init("dest.example", records: "@ IN MX 10 mx\nmx IN A 127.0.0.2")])
        defer { dns.stop() }
        let (serverA, outputA) = try serve(a.dataDir, listen: "127.0.0.1", environment: [
            "SEALBOX_SERVER_HOSTNAME": "mx.example.com", "SEALBOX_DNS_SERVERS": dns.server, "SEALBOX_DNS_TRUST_ANCHOR": "none",
            "SEALBOX_OUTBOUND_MX_PORT": String(mxPort)])
        let submission = try #require(ServerHarness.port(in: outputA.text, service: "submission"))
        let r = try await ScriptRunner.run(Self.python, ["-c", """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
            s.ehlo('client.example'); s.login('hello@example.com', sys.argv[2])
            s.sendmail('hello@example.com', ['user@dest.example'],
                       'From: hello@example.com\\r\\nTo: user@dest.example\\r\\nSubject: eight bits\\r\\nContent-Type: text/plain; charset=utf-8\\r\\n\\r\\nGrüße aus Köln\\r\\n'.encode())
            s.quit()
            """, String(submission), passwordA], timeout: .seconds(60))
        #expect(r.ok, "\(r.output)")
        try waitFor("delivery") { outputA.text.contains("delivered") }
        stop(serverA)
        let received = try Data(contentsOf: URL(fileURLWithPath: work + "/out/1.eml"))
        let text = String(decoding: received, as: UTF8.self)
        #expect(!received.contains { $0 >= 0x80 }, "7-bit on the wire")
        #expect(text.contains("Content-Transfer-Encoding: quoted-printable") && text.contains("Gr=C3=BC=C3=9Fe aus K=C3=B6ln"), "\(text)")
        let keyRecords = try await a.dkimKeyRecords("example.com").records
        let verified = try await CLIHarness.dkimpy(work + "/out/1.eml", keyRecords: keyRecords)
        #expect(verified.output.contains("\"a\": \"ed25519-sha256\", \"ok\": true"), "dkimpy: \(verified.output)")
    }
}

/// Outbound jobs whose recipients are the node's own: delivered locally, never over the network.
@Suite("outbound jobs to the node's own addresses", .serialized)
struct LocalOutboundTests {
    @Test("a forward to a local alias lands in its mailbox without DNS; a forwarding loop between two local aliases stops (554 5.4.6) and bounces once")
    func localForwardAndLoop() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox("hello@example.com")
        #expect(try await cli.run(["alias", "add", "fwd@example.com", "--no-store", "--forward", "hello@example.com"]).ok)
        #expect(try await cli.run(["alias", "add", "ping@example.com", "--no-store", "--forward", "pong@example.com"]).ok)
        #expect(try await cli.run(["alias", "add", "pong@example.com", "--no-store", "--forward", "ping@example.com"]).ok)
        // DNS points nowhere (ServeProcess's default): only local delivery can succeed.
        let (server, smtpPort, _, output) = try ServeProcess.start(dataDir: cli.dataDir, environment: [
            "SEALBOX_OUTBOUND_RETRY_INTERVAL": "1", "SEALBOX_OUTBOUND_MAX_RETRY_INTERVAL": "2"])
        let sent = try await ScriptRunner.run(ScriptRunner.python, ["-c", """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
            s.sendmail('sender@far.example', ['fwd@example.com'], b'From: sender@far.example\\r\\nSubject: via a local forward\\r\\n\\r\\nhi\\r\\n')
            s.sendmail('sender@far.example', ['ping@example.com'], b'From: sender@far.example\\r\\nSubject: round and round\\r\\n\\r\\nhi\\r\\n')
            s.quit()
            """, String(smtpPort)], timeout: .seconds(60))
        #expect(sent.ok, "\(sent.output)")
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline, !output.text.contains("forward failed") { usleep(100_000) }
        usleep(1_000_000)
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(output.text.contains("forward failed"), "the loop ended in a bounce: \(output.text.suffix(2000))")
        let listing = try await cli.run(["mailbox", "ls", "hello@example.com", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": password])
        #expect(listing.stdout.contains("via a local forward"), "\(listing.stdout)\(listing.stderr)")
        // What waits: the bounce to the outside sender (no DNS here), nothing going round.
        let queued = try await cli.run(["queue", "list"])
        #expect(queued.stdout.contains("far.example") && !queued.stdout.contains("ping@example.com") && !queued.stdout.contains("pong@example.com")
                && queued.stdout.split(separator: "\n").filter { $0.contains("#") }.count == 1, "\(queued.stdout)")
        // An admin gives up on it: `queue delete`, all or nothing.
        let number = try #require(queued.stdout.split(separator: "\n").first { $0.contains("#") }?.split(separator: " ").first { $0.hasPrefix("#") })
        let refused = try await cli.run(["queue", "delete", String(number), "999999"])
        #expect(!refused.ok && refused.stderr.contains("no outbound job #999999"), "\(refused.stderr)")
        let deleted = try await cli.run(["queue", "delete", String(number)])
        #expect(deleted.ok && deleted.stdout == "deleted \(number)\n", "\(deleted.stdout)\(deleted.stderr)")
        #expect(try await cli.run(["queue", "list"]).stdout == "nothing queued\n")
    }
}

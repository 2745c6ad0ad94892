import Foundation
import Outbound
import Testing

/// Forwarding through a smarthost and webhooks, end to end: `sealbox serve` receives a message
/// over SMTP for aliases that store, forward and post to a webhook (alone and combined); the
/// smarthost (a local aiosmtpd) and the webhook receiver (a local HTTP server) are down at first,
/// the server is killed with SIGKILL in the middle of its retry schedule, the receivers come up,
/// the server restarts, and everything arrives exactly once.
@Suite("forwarding and webhooks", .serialized)
struct ForwardingTests {
    static let python = ScriptRunner.python
    static let hasAiosmtpd: Bool = {
        (try? ScriptRunner.runBlocking(python, ["-c", "import aiosmtpd"], timeout: .seconds(30)).ok) ?? false
    }()

    /// aiosmtpd records the null reverse-path as "<>".
    static func isNullSender(_ record: [String: Any]) -> Bool { ["", "<>"].contains(record["mail_from"] as? String ?? "") }

    func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: () -> Bool) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return }
            usleep(50_000)
        }
        throw ServerHarness.StartError(description: "timed out waiting for \(what)")
    }

    func files(_ dir: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(suffix) && !$0.hasPrefix(".") }
            .sorted { Int($0.split(separator: ".")[0]) ?? 0 < Int($1.split(separator: ".")[0]) ?? 0 }
    }

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
    }

    @Test("store + forward + webhook; receivers down, SIGKILL mid-retry, restart: each arrives once; a refused forward bounces (SRS, RFC 3464, HMAC); a bounce to the SRS address reaches the sender",
          .enabled(if: hasAiosmtpd, "aiosmtpd is not installed (scripts/setup-test-deps.sh makes the venv)"))
    func forwardAndWebhookAcrossRestart() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let work = cli.dataDir + "-fwd"
        try FileManager.default.createDirectory(atPath: work + "/sink", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/hooks", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let relayPort = ServeProcess.freePort(), hookPort = ServeProcess.freePort()
        let hook = "http://127.0.0.1:\(hookPort)/hook"
        let password = try await cli.setUpMailbox("hello@example.com")
        #expect(try await cli.run(["alias", "add", "both@example.com", "--forward", "target@elsewhere.example", "--webhook", hook]).ok)
        let bothPassword = try await cli.run(["password", "generate", "both@example.com"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await cli.run(["alias", "add", "fwd@example.com", "--no-store", "--forward", "target2@elsewhere.example",
                             "--forward", "bad@elsewhere.example"]).ok)
        #expect(try await cli.run(["alias", "add", "hook@example.com", "--no-store", "--webhook", hook]).ok)
        let secret = "webhook-test-secret"
        let environment = ["SEALBOX_SMTP_RELAY_HOST": "127.0.0.1", "SEALBOX_SMTP_RELAY_PORT": String(relayPort),
                           "SEALBOX_SMTP_RELAY_SECURITY": "none", "SEALBOX_OUTBOUND_RETRY_INTERVAL": "1",
                           "SEALBOX_OUTBOUND_MAX_RETRY_INTERVAL": "2", "SEALBOX_WEBHOOK_SECRET": secret,
                           "SEALBOX_SERVER_HOSTNAME": "mx.sealbox.test"]

        var (server, smtpPort, _, output) = try ServeProcess.start(dataDir: cli.dataDir, environment: environment)
        let message = "From: Sender <sender@example.org>\r\nTo: <both@example.com>\r\nSubject: Forward me\r\n"
            + "Message-ID: <forward-test@example.org>\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\n\r\nHello, forwarded world.\r\n.dot line\r\n"
        let send = try await ScriptRunner.run(Self.python, ["-c", """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
            refused = s.sendmail('sender@example.org', ['hello@example.com', 'both@example.com', 'fwd@example.com', 'hook@example.com'], sys.argv[2].encode())
            assert refused == {}, refused
            s.quit()
            """, String(smtpPort), message], timeout: .seconds(60))
        #expect(send.ok, "send: \(send.output)")
        // Both receivers are down: the jobs are retried (and fail) before the crash.
        try waitFor("failed attempts") { output.text.contains("forward deferred") && output.text.contains("webhook deferred") }
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        // What an admin sees meanwhile: both jobs, their attempts and last error, no URL path.
        let queued = try await cli.run(["queue", "list"])
        #expect(queued.ok && queued.stdout.contains("forward to target@elsewhere.example, target2@elsewhere.example, bad@elsewhere.example")
                && queued.stdout.contains("webhook to 127.0.0.1") && !queued.stdout.contains("/hook") && queued.stdout.contains("last error:"),
                "queue list:\n\(queued.stdout)\(queued.stderr)")
        let retry = try await cli.run(["queue", "retry"])
        #expect(retry.ok && retry.stdout.contains("2 outbound jobs due now"), "\(retry.stdout)\(retry.stderr)")

        let (sink, _) = try ServeProcess.startScript(["smtp_sink.py", "--port", String(relayPort), "--ready", work + "/sink.ready",
                                                      "--out", work + "/sink", "--reject", "bad@elsewhere.example"], readyFile: work + "/sink.ready")
        defer { ServeProcess.kill9(sink) }
        let (hooks, _) = try ServeProcess.startScript(["webhook_test_server.py", "--port", String(hookPort), "--ready", work + "/hooks.ready",
                                                       "--out", work + "/hooks", "--fail-first", "1"], readyFile: work + "/hooks.ready")
        defer { ServeProcess.kill9(hooks) }
        (server, smtpPort, _, output) = try ServeProcess.start(dataDir: cli.dataDir, environment: environment)
        try waitFor("the forward, the bounce and the webhook") {
            files(work + "/sink", suffix: ".json").count >= 2 && files(work + "/hooks", suffix: ".json").count >= 2
        }
        usleep(1_500_000)  // anything sent twice would show up now
        // The smarthost got the forward once (SRS sender, the two accepted targets) and a bounce.
        let sinkRecords = try files(work + "/sink", suffix: ".json").map { try json(work + "/sink/" + $0) }
        #expect(sinkRecords.count == 2, "\(sinkRecords)")

        // A bounce from the final destination comes back to the SRS address: it is passed on to
        // the original sender (null sender kept); a forged SRS address is refused.
        let srsAddress = try #require(sinkRecords.first { !Self.isNullSender($0) }?["mail_from"] as? String)
        let forged = srsAddress.replacingOccurrences(of: "SRS0=", with: "SRS0=x")
        let bounceBack = try await ScriptRunner.run(Self.python, ["-c", """
            import smtplib, sys
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
            s.ehlo('far.example')
            code, text = s.mail('')
            assert code == 250, (code, text)
            code, text = s.rcpt(sys.argv[3])
            assert code == 550 and b'5.1.1' in text, ('forged SRS', code, text)
            code, text = s.rcpt(sys.argv[2])
            assert code == 250, ('SRS', code, text)
            code, text = s.data(b'From: MAILER-DAEMON@far.example\\r\\nSubject: Undeliverable: Forward me\\r\\n\\r\\nbounced\\r\\n')
            assert code == 250, (code, text)
            s.quit()
            """, String(smtpPort), srsAddress, forged], timeout: .seconds(60))
        #expect(bounceBack.ok, "bounce to the SRS address: \(bounceBack.output)")
        try waitFor("the bounce passed on") { files(work + "/sink", suffix: ".json").count >= 3 }
        let passedOn = try json(work + "/sink/3.json")
        #expect(Self.isNullSender(passedOn) && passedOn["rcpt_tos"] as? [String] == ["sender@example.org"], "\(passedOn)")
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        let forward = try #require(sinkRecords.first { !Self.isNullSender($0) })
        let from = forward["mail_from"] as? String ?? ""
        #expect(from.hasPrefix("SRS0=") && from.hasSuffix("@mx.sealbox.test") && from.contains("=example.org=sender"), "SRS sender: \(from)")
        #expect(Set(forward["rcpt_tos"] as? [String] ?? []) == ["target@elsewhere.example", "target2@elsewhere.example"])
        let forwardIndex = sinkRecords.firstIndex { !Self.isNullSender($0) }! + 1
        let forwarded = try Data(contentsOf: URL(fileURLWithPath: work + "/sink/\(forwardIndex).eml"))
        let forwardedText = String(decoding: forwarded, as: UTF8.self)
        // Signed by the forwarding alias's domain (Ed25519 and RSA), above our trace header.
        #expect(forwardedText.hasPrefix("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;"), "\(forwardedText.prefix(200))")
        #expect(forwardedText.contains("\r\nReceived: from "), "our trace header")
        #expect(forwardedText.hasSuffix(message), "the message itself unchanged (dot line included)")
        // dkimpy (an independent verifier) checks both signatures against the records `domain dns` prints.
        let (keyRecords, records) = try await cli.dkimKeyRecords("example.com")
        #expect(records.ok, "\(records.stderr)")
        #expect(keyRecords.count == 2, "\(records.stdout)")
        let verified = try await CLIHarness.dkimpy(work + "/sink/\(forwardIndex).eml", keyRecords: keyRecords)
        #expect(verified.ok && verified.output.contains("\"a\": \"ed25519-sha256\", \"ok\": true")
                && verified.output.contains("\"a\": \"rsa-sha256\", \"ok\": true"), "dkimpy: \(verified.output)")
        let bounce = try #require(sinkRecords.first { Self.isNullSender($0) }, "a bounce with the null sender")
        #expect(bounce["rcpt_tos"] as? [String] == ["sender@example.org"])
        let bounceIndex = sinkRecords.firstIndex { Self.isNullSender($0) }! + 1
        let dsn = String(decoding: try Data(contentsOf: URL(fileURLWithPath: work + "/sink/\(bounceIndex).eml")), as: UTF8.self)
        #expect(dsn.contains("report-type=delivery-status"))
        #expect(dsn.contains("Final-Recipient: rfc822; bad@elsewhere.example"))
        #expect(dsn.contains("Status: 5.1.1"))
        #expect(!dsn.contains("target@elsewhere.example"), "only the refused recipient is reported")

        // The webhook: refused once (503), then delivered; same delivery id; signed; the JSON document.
        let hookRecords = try files(work + "/hooks", suffix: ".json").map { try json(work + "/hooks/" + $0) }
        #expect(hookRecords.count == 2, "one refused attempt and one delivery: \(hookRecords.count)")
        let headers = hookRecords.map { $0["headers"] as? [String: String] ?? [:] }
        #expect(headers[0]["x-sealbox-delivery"] == headers[1]["x-sealbox-delivery"], "a retry carries the same delivery id")
        let body = Array((hookRecords[1]["body"] as? String ?? "").utf8)
        let signature = headers[1]["x-sealbox-signature"] ?? ""
        #expect(WebhookSignature.verify(header: signature, body: body, secret: Array(secret.utf8), now: Int(Date().timeIntervalSince1970)),
                "signature \(signature)")
        #expect(!WebhookSignature.verify(header: signature, body: body, secret: Array("wrong".utf8), now: Int(Date().timeIntervalSince1970)))
        let document = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:]
        let envelope = document["envelope"] as? [String: Any] ?? [:]
        #expect(envelope["mailFrom"] as? String == "sender@example.org")
        #expect(Set(envelope["rcptTo"] as? [String] ?? []) == ["both@example.com", "hook@example.com"])
        #expect(document["subject"] as? String == "Forward me")
        #expect((document["text"] as? String ?? "").contains("Hello, forwarded world."))

        // The storing aliases have it in INBOX (once), the others have no mailbox.
        for (address, pass) in [("hello@example.com", password), ("both@example.com", bothPassword)] {
            let listing = try await cli.run(["mailbox", "ls", address, "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": pass])
            #expect(listing.ok, "\(listing.stderr)")
            #expect(listing.stdout.components(separatedBy: "Forward me").count == 2, "\(address): \(listing.stdout)")
        }
    }
}

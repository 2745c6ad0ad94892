import Foundation
import TestSupport
import Testing

/// The inbound-authentication issue's end-to-end test, with a real sending MTA: Debian's Postfix,
/// OpenDKIM signing as its milter (a key made by `opendkim-genkey`), is the outbound server of
/// good.example and relays everything to `sealbox serve`, the MX of example.org, whose resolver
/// asks nsd on loopback for the senders' SPF, DKIM and DMARC records
/// (Clients/postfix_opendkim.py runs both daemons privately, on 127.0.0.1). Three messages are
/// submitted to Postfix: one from good.example (signed by OpenDKIM, sent from the address its SPF
/// record names) lands in INBOX with `spf=pass`, `dkim=pass header.d=good.example` and
/// `dmarc=pass`; a spoofed one from the `p=quarantine` shop.example lands in Junk with
/// `dmarc=fail`; a spoofed one from the `p=reject` bank.example is refused at the end of DATA with
/// `550 5.7.1`, which Postfix logs and bounces to its sender.
@Suite("Postfix with OpenDKIM sending to the MX: DMARC pass, quarantine and reject end to end", .serialized)
struct PostfixOpenDKIMTests {

    /// Postfix and OpenDKIM (with opendkim-genkey) installed, nsd for the zones, and root: Postfix's
    /// master(8) runs as root (scripts/setup-test-deps.sh installs the packages).
    static var isAvailable: Bool {
        TestDNSServer.isAvailable && getuid() == 0
            && ["/usr/sbin/postfix", "/usr/sbin/opendkim", "/usr/sbin/opendkim-genkey"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// SIGTERM, then (bounded) SIGKILL to the child's process group: the script's own stop takes
    /// a second or two; its daemons die with it in any case (PR_SET_PDEATHSIG).
    func stop(_ process: ChildHandle, grace: Duration = .seconds(30)) {
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning { kill(-process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Files in a Maildir's `new`, their text.
    func maildir(_ path: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path + "/new")) ?? []).sorted()
        return names.compactMap { try? String(contentsOfFile: path + "/new/" + $0, encoding: .utf8) }
    }

    @Test("a message signed by OpenDKIM and relayed by Postfix lands in INBOX (spf, dkim, dmarc pass); spoofed p=quarantine to Junk; spoofed p=reject refused 550 5.7.1 and bounced by Postfix",
          .enabled(if: isAvailable, "postfix, opendkim, opendkim-tools or nsd is not installed (scripts/setup-test-deps.sh), or not root"))
    func postfixOpenDKIM() async throws {
        let started = ContinuousClock.now
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox("user@example.org")
        // Postfix's virtual(8) delivers the bounces as user nobody below here.
        let work = cli.dataDir + "-postfix-opendkim"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: work) }

        // good.example's DKIM key, as its administrator would make it: s2026.private for OpenDKIM,
        // s2026.txt the TXT record in zone-file form, put into the zone as it is.
        let genkey = try await ChildProcess.run("/usr/sbin/opendkim-genkey", ["-b", "2048", "-D", work, "-d", "good.example", "-s", "s2026"],
                                                timeout: .seconds(60))
        #expect(genkey.ok, "opendkim-genkey: \(genkey.stderr)")
        let keyRecord = try String(contentsOfFile: work + "/s2026.txt", encoding: .utf8)
        #expect(keyRecord.hasPrefix("s2026._domainkey"), "\(keyRecord)")

        let dns = try await TestDNSServer(zones: [
            .init("good.example", records: """
                @ IN TXT "v=spf1 ip4:127.0.0.1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject"
                mail IN A 127.0.0.1
                \(keyRecord)
                """),
            .init("bank.example", records: """
                @ IN TXT "v=spf1 ip4:192.0.2.1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject"
                """),
            .init("shop.example", records: """
                @ IN TXT "v=spf1 ip4:192.0.2.1 ~all"
                _dmarc IN TXT "v=DMARC1; p=quarantine"
                """),
        ])
        defer { dns.stop() }
        let (server, smtp, imap) = try InboundAuthClient.serve(cli.dataDir, environment: ["SEALBOX_DNS_SERVERS": dns.server, "SEALBOX_DNS_TRUST_ANCHOR": "none"])
        defer { stop(server) }

        // The senders' Postfix keeps mail for their domains itself: the bounce comes back there.
        let out = work + "/postfix"
        let postfix = try ChildHandle(ScriptRunner.python, [
            "postfix_opendkim.py", "--mx-port", String(smtp), "--domain", "good.example", "--selector", "s2026", "--key", work + "/s2026.private",
            "--sink-domains", "good.example,bank.example,shop.example", "--out", out, "--ready", work + "/ready"], directory: ScriptRunner.clientsDirectory)
        defer { stop(postfix) }
        let startDeadline = ContinuousClock.now + .seconds(45)
        var submission = 0
        while ContinuousClock.now < startDeadline, postfix.isRunning {
            if let text = try? String(contentsOfFile: work + "/ready", encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                submission = port
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard submission > 0 else {
            throw ServerHarness.StartError(description: "Postfix and OpenDKIM did not start: \(postfix.stdoutText)\(postfix.stderrText)")
        }

        for (from, subject) in [("news@good.example", "Good news via Postfix"), ("ceo@bank.example", "Spoofed bank via Postfix"),
                                ("offers@shop.example", "Quarantined shop via Postfix")] {
            let reply = try await InboundAuthClient.send(port: submission, from: from, subject: subject, helo: "client.test", timeout: .seconds(60))
            #expect(reply.code == 250, "Postfix takes \(subject): \(reply)")
        }

        // Bounded waits, one deadline for all: the two deliveries, the bounce and Postfix's log lines
        // (written by its postlogd a moment after the MX's reply: after IMAP may see the message).
        let deadline = ContinuousClock.now + .seconds(40)
        var inbox: [InboundAuthClient.Listing.Message] = [], junk: [InboundAuthClient.Listing.Message] = [], bounces: [String] = [], logLines: [String] = [], log = ""
        var sent: [String] { logLines.filter { $0.contains("to=<user@example.org>") && $0.contains("status=sent (250") } }
        while ContinuousClock.now < deadline {
            inbox = try await InboundAuthClient.folder(port: imap, password: password, "INBOX")
            junk = try await InboundAuthClient.folder(port: imap, password: password, "Junk")
            bounces = maildir(out + "/mail/maildir")
            log = (try? String(contentsOfFile: out + "/postfix.log", encoding: .utf8)) ?? ""
            logLines = log.split(separator: "\n").map(String.init)
            if inbox.count >= 1, junk.count >= 1, !bounces.isEmpty, sent.count >= 2,
               logLines.contains(where: { $0.contains("to=<user@example.org>") && $0.contains("status=bounced") }) { break }
            try await Task.sleep(for: .milliseconds(300))
        }

        // The good message: signed by OpenDKIM (only it holds s2026's key), SPF-listed, aligned.
        #expect(inbox.map(\.subject) == ["Good news via Postfix"], "INBOX: \(inbox); Postfix log:\n\(log)")
        let results = inbox.first?.ar ?? []
        #expect(results.count == 1, "\(results)")
        let text = results.joined()
        #expect(text.hasPrefix("mx.example.org;"), "\(text)")
        #expect(text.contains("spf=pass") && text.contains("smtp.mailfrom=news@good.example"), "\(text)")
        #expect(text.contains("dkim=pass") && text.contains("header.d=good.example") && text.contains("header.s=s2026")
                && text.contains("header.a=rsa-sha256"), "\(text)")
        #expect(text.contains("dmarc=pass") && text.contains("header.from=good.example"), "\(text)")
        // Sealbox's client was Postfix (its HELO name is mail.good.example).
        #expect(inbox.first?.received.contains("from mail.good.example (localhost [127.0.0.1]) by mx.example.org") == true,
                "received: \(inbox.first?.received ?? "")")

        // The quarantined one: no aligned pass (shop.example's SPF does not list 127.0.0.1, nothing
        // signs for it), filed as Junk.
        #expect(junk.map(\.subject) == ["Quarantined shop via Postfix"], "Junk: \(junk); Postfix log:\n\(log)")
        let junkResults = junk.first?.ar.joined(separator: " | ") ?? ""
        #expect(junkResults.contains("dmarc=fail") && junkResults.contains("header.from=shop.example") && junkResults.contains("spf=softfail"),
                "\(junkResults)")

        // The rejected one: Postfix's log ties Sealbox's refusal to its queue ID (cleanup logs the
        // Message-ID, smtp the remote reply), and its bounce is back at the sender's.
        let queueID = logLines.first { $0.contains("message-id=<Spoofed.bank.via.Postfix@test>") }
            .flatMap { $0.split(separator: " ").first { $0.hasSuffix(":") && $0.dropLast().allSatisfy(\.isHexDigit) } }
            .map { String($0.dropLast()) }
        #expect(queueID != nil, "Postfix log:\n\(log)")
        let refusal = logLines.first { line in queueID.map { line.contains("\($0): to=<user@example.org>") } == true && line.contains("status=") } ?? ""
        #expect(refusal.contains("relay=127.0.0.1[127.0.0.1]:\(smtp)") && refusal.contains("status=bounced")
                && refusal.contains("said: 550 5.7.1") && refusal.contains("DMARC policy of bank.example")
                && refusal.contains("in reply to end of DATA command"), "\(refusal)\nPostfix log:\n\(log)")
        #expect(bounces.count == 1, "bounces: \(bounces)")
        let bounce = bounces.first ?? ""
        #expect(bounce.contains("To: ceo@bank.example") && bounce.contains("From: Mail Delivery System <MAILER-DAEMON@good.example>")
                && bounce.contains("Subject: Spoofed bank via Postfix") && bounce.contains("Status: 5.7.1")
                && bounce.contains("Diagnostic-Code: smtp; 550 5.7.1"), "\(bounce.prefix(3000))")
        // The other two left Postfix with Sealbox's 250.
        #expect(sent.count == 2, "Postfix log:\n\(log)")
        // A 4xx on the way (DNS slow on a loaded machine: 451 4.4.3) is retried by Postfix within
        // seconds; reported, not failed.
        let deferred = logLines.filter { $0.contains("status=deferred") }
        print("PostfixOpenDKIMTests: \(ContinuousClock.now - started) before teardown; deferrals: \(deferred.isEmpty ? "none" : deferred.joined(separator: "\n"))")
    }
}

import Crypto
import Foundation
import TestSupport
import Testing

/// Inbound authentication end to end: `sealbox serve` with its resolver pointed at nsd on loopback
/// serving the senders' zones (SPF, DKIM keys, DMARC policies, reverse DNS). A spoofed message from
/// a `p=reject` domain gets `550 5.7.1`; a `p=quarantine` one lands in Junk; a good one, signed by
/// dkimpy and sent from an address its SPF record names, lands in INBOX with `spf=pass`,
/// `dkim=pass` and `dmarc=pass` in the Authentication-Results the server added (a forged one
/// claiming the server's name is removed). A DNS server that never answers gives `451 4.4.3`.
@Suite("inbound SPF, DKIM and DMARC at the MX", .serialized)
struct InboundAuthServeTests {
    typealias Listing = InboundAuthClient.Listing

    func serve(_ dataDir: String, environment: [String: String]) throws -> (ChildHandle, Int, Int) {
        try InboundAuthClient.serve(dataDir, environment: environment)
    }

    func stop(_ process: ChildHandle) {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    func send(port: Int, from: String, subject: String, sign: [String] = [], headers: [String] = []) async throws -> InboundAuthClient.Reply {
        try await InboundAuthClient.send(port: port, from: from, subject: subject, sign: sign, headers: headers)
    }

    /// Waits (bounded) until the folder holds `count` messages.
    func waitForFolder(port: Int, password: String, _ name: String, count: Int) async throws -> [Listing.Message] {
        let deadline = ContinuousClock.now + .seconds(30)
        var messages: [Listing.Message] = []
        while ContinuousClock.now < deadline {
            messages = try await InboundAuthClient.folder(port: port, password: password, name)
            if messages.count >= count { return messages }
            try await Task.sleep(for: .milliseconds(200))
        }
        return messages
    }

    @Test("spoofed p=reject refused, p=quarantine to Junk, signed and SPF-listed mail to INBOX",
          .enabled(if: TestDNSServer.isAvailable, "nsd is not installed (scripts/setup-test-deps.sh)"))
    func policies() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox("user@example.org")
        let key = Curve25519.Signing.PrivateKey()
        let dns = try await TestDNSServer(zones: [
            .init("bank.example", records: """
                @ IN TXT "v=spf1 ip4:192.0.2.1 -all"
                _dmarc IN TXT "v=DMARC1; p=reject"
                """),
            .init("shop.example", records: """
                @ IN TXT "v=spf1 ip4:192.0.2.1 ~all"
                _dmarc IN TXT "v=DMARC1; p=quarantine"
                """),
            .init("good.example", records: """
                @ IN TXT "v=spf1 a:client.good.example -all"
                client IN A 127.0.0.1
                _dmarc IN TXT "v=DMARC1; p=reject; adkim=s"
                sel._domainkey IN TXT "v=DKIM1; k=ed25519; p=\(key.publicKey.rawRepresentation.base64EncodedString())"
                """),
        ])
        defer { dns.stop() }
        let (server, smtp, imap) = try serve(cli.dataDir, environment: ["SEALBOX_DNS_SERVERS": dns.server, "SEALBOX_DNS_TRUST_ANCHOR": "none"])
        defer { stop(server) }

        let spoofed = try await send(port: smtp, from: "ceo@bank.example", subject: "Spoofed bank")
        #expect(spoofed.code == 550, "\(spoofed)")
        #expect(spoofed.text?.contains("5.7.1") == true && spoofed.text?.contains("DMARC") == true, "\(spoofed)")

        let quarantined = try await send(port: smtp, from: "offers@shop.example", subject: "Quarantined shop")
        #expect(quarantined.code == 250, "\(quarantined)")

        let signed = "good.example:sel:ed25519:" + key.rawRepresentation.base64EncodedString()
        let good = try await send(port: smtp, from: "news@good.example", subject: "Good news", sign: [signed],
                                  headers: ["Authentication-Results: mx.example.org; dmarc=pass header.from=bank.example"])
        #expect(good.code == 250, "\(good)")

        let junk = try await waitForFolder(port: imap, password: password, "Junk", count: 1)
        #expect(junk.map(\.subject) == ["Quarantined shop"])
        let junkResults = junk.first?.ar.joined(separator: " | ") ?? ""
        #expect(junkResults.contains("dmarc=fail") && junkResults.contains("spf=softfail") && junkResults.contains("header.from=shop.example"), "\(junkResults)")

        let inbox = try await waitForFolder(port: imap, password: password, "INBOX", count: 1)
        #expect(inbox.map(\.subject) == ["Good news"])
        let results = inbox.first?.ar ?? []
        #expect(results.count == 1, "the forged Authentication-Results is removed: \(results)")
        let text = results.joined()
        #expect(text.hasPrefix("mx.example.org;"), "\(text)")
        #expect(text.contains("spf=pass") && text.contains("smtp.mailfrom=news@good.example"), "\(text)")
        #expect(text.contains("dkim=pass") && text.contains("header.d=good.example") && text.contains("header.a=ed25519-sha256"), "\(text)")
        #expect(text.contains("dmarc=pass") && text.contains("header.from=good.example"), "\(text)")
        // Received names the client by its forward-confirmed reverse DNS name (for 127.0.0.1, libunbound
        // answers both ways itself: localhost).
        #expect(inbox.first?.received.contains("from client.good.example (localhost [127.0.0.1])") == true, "received: \(inbox.first?.received ?? "")")
    }

    @Test("a forward leaves ARC-sealed with our results over the author's intact DKIM signature: dkimpy's arc_verify passes",
          .enabled(if: TestDNSServer.isAvailable, "nsd is not installed (scripts/setup-test-deps.sh)"))
    func forwardIsARCSealed() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox("user@example.org")
        #expect(try await cli.run(["alias", "add", "fwd@example.org", "--no-store", "--forward", "target@elsewhere.example"]).ok)
        let work = cli.dataDir + "-arc"
        try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let (sink, relayPort) = try ServeProcess.startScript([ScriptRunner.clientsDirectory + "/../../OutboundTests/Servers/smtp_test_server.py",
                                                              "--ready", work + "/ready", "--out", work + "/out"], readyFile: work + "/ready")
        defer { ServeProcess.kill9(sink) }
        let key = Curve25519.Signing.PrivateKey()
        let authorRecord = "v=DKIM1; k=ed25519; p=\(key.publicKey.rawRepresentation.base64EncodedString())"
        let dns = try await TestDNSServer(zones: [.init("good.example", records: """
            @ IN TXT "v=spf1 ip4:127.0.0.1 -all"
            _dmarc IN TXT "v=DMARC1; p=reject"
            sel._domainkey IN TXT "\(authorRecord)"
            """)])
        defer { dns.stop() }
        let (server, smtp, _) = try serve(cli.dataDir, environment: [
            "SEALBOX_DNS_SERVERS": dns.server, "SEALBOX_DNS_TRUST_ANCHOR": "none", "SEALBOX_SMTP_RELAY_HOST": "127.0.0.1",
            "SEALBOX_SMTP_RELAY_PORT": String(relayPort), "SEALBOX_SMTP_RELAY_SECURITY": "none"])
        defer { stop(server) }
        let signed = "good.example:sel:ed25519:" + key.rawRepresentation.base64EncodedString()
        let sent = try await InboundAuthClient.send(port: smtp, from: "news@good.example", subject: "Forward me", rcpt: "fwd@example.org", sign: [signed])
        #expect(sent.code == 250, "\(sent)")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !FileManager.default.fileExists(atPath: work + "/out/1.eml") { usleep(100_000) }
        let forwarded = String(decoding: try Data(contentsOf: URL(fileURLWithPath: work + "/out/1.eml")), as: UTF8.self)
        #expect(forwarded.contains("ARC-Seal: i=1;") && forwarded.contains("cv=none"), "\(forwarded.prefix(2000))")
        #expect(forwarded.contains("ARC-Authentication-Results: i=1; mx.example.org;"), "\(forwarded.prefix(2000))")
        // Our key records (the forwarding domain example.org) and the author's, answered to dkimpy instead of DNS.
        let records = try await cli.dkimKeyRecords("example.org").records + ["sel._domainkey.good.example=\(authorRecord)"]
        let verified = try await CLIHarness.dkimpy(work + "/out/1.eml", keyRecords: records)
        #expect(verified.ok, "\(verified.output)")
        let line = verified.output.split(separator: "\n").first.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        let arc = object["arc"] as? [String: Any]
        #expect(arc?["cv"] as? String == "pass", "dkimpy arc_verify: \(line)")
        let signatures = object["signatures"] as? [[String: Any]] ?? []
        #expect(signatures.contains { $0["d"] as? String == "good.example" && $0["ok"] as? Bool == true }, "the author's signature survives: \(line)")
        #expect(signatures.contains { $0["d"] as? String == "example.org" && $0["ok"] as? Bool == true }, "the forwarder's DKIM signature: \(line)")
        // The ARC-Authentication-Results repeats what the MX found.
        #expect(forwarded.contains("dkim=pass") && forwarded.contains("header.d=good.example") && forwarded.contains("dmarc=pass"), "\(forwarded.prefix(3000))")
    }

    @Test("message inspect --auth explains a verdict with the node's resolver: each result, the header, what the MX would do",
          .enabled(if: TestDNSServer.isAvailable, "nsd is not installed (scripts/setup-test-deps.sh)"))
    func inspectExplains() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox("user@example.org")
        let dns = try await TestDNSServer(zones: [.init("bank.example", records: """
            @ IN TXT "v=spf1 ip4:192.0.2.1 -all"
            _dmarc IN TXT "v=DMARC1; p=reject"
            """)])
        defer { dns.stop() }
        let path = cli.dataDir + "-spoof.eml"
        try Data("From: <ceo@bank.example>\r\nSubject: wire money\r\n\r\nnow\r\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try await cli.run(["message", "inspect", path, "--auth", "--client-ip", "198.51.100.9", "--helo", "mail.evil.example",
                                   "--mail-from", "ceo@bank.example", "--dns-server", dns.server],
                                  env: ["SEALBOX_DNS_TRUST_ANCHOR": "none", "SEALBOX_SERVER_HOSTNAME": "mx.example.org"])
        #expect(r.ok, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("spf:   fail") && r.stdout.contains("dkim:  none") && r.stdout.contains("dmarc: fail header.from=bank.example p=reject"),
                "\(r.stdout)")
        #expect(r.stdout.contains("Authentication-Results: mx.example.org;") && r.stdout.contains("verdict: refuse with 550 5.7.1"), "\(r.stdout)")
        let bad = try await cli.run(["message", "inspect", path, "--auth", "--client-ip", "not-an-ip"])
        #expect(bad.status == 2 && bad.stderr.contains("--client-ip"), "\(bad.stderr)")
    }

    @Test("a DNS server that never answers: 451 4.4.3 within auth.timeout")
    func silentDNS() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox("user@example.org")
        // A UDP socket that takes queries and never answers.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let (server, smtp, _) = try serve(cli.dataDir, environment: ["SEALBOX_DNS_SERVERS": "127.0.0.1@\(port)", "SEALBOX_DNS_TRUST_ANCHOR": "none",
                                                                      "SEALBOX_DNS_TIMEOUT": "30", "SEALBOX_AUTH_TIMEOUT": "2"])
        defer { stop(server) }
        let started = ContinuousClock.now
        let reply = try await send(port: smtp, from: "someone@slow.example", subject: "Slow DNS")
        #expect(reply.code == 451 && reply.text?.contains("4.4.3") == true, "\(reply)")
        #expect(ContinuousClock.now - started < .seconds(30), "bounded by auth.timeout")
    }
}

import Foundation
import TestSupport
import MailCore
import SealboxApp
import Testing

@Suite("sealbox command line", .serialized)
struct CLITests {
    @Test("domains, aliases, passwords, delivery and listing work end to end")
    func endToEnd() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let added = try await cli.run(["domain", "add", "Example.COM"]).stdout
        #expect(added.hasPrefix("added domain example.com\nmade DKIM keys sb") && added.hasSuffix("`sealbox domain dns example.com` prints\n"), "\(added)")
        #expect(try await cli.run(["domain", "add", "bücher.example"]).stdout.contains("xn--bcher-kva.example"))
        #expect(try await cli.run(["domain", "list"]).stdout == "bücher.example\nexample.com\n")
        #expect(try await cli.run(["alias", "add", "hello@example.com", "--quota", "1G"]).ok)
        #expect(try await cli.run(["alias", "add", "news@example.com", "--no-store", "--forward", "me@elsewhere.org"]).ok)

        let generated = try await cli.run(["password", "generate", "hello@example.com", "--label", "laptop"])
        #expect(generated.ok)
        let password = generated.stdout.trimmingCharacters(in: .newlines)
        #expect(generated.stdout == password + "\n", "stdout carries the password and nothing else")
        #expect(password.count == 29)

        let aliases = try await cli.run(["alias", "list"]).stdout
        #expect(aliases.contains("hello@example.com") && aliases.contains("news@example.com") && aliases.contains("1 GiB"))

        for i in 1...3 {
            let r = try await cli.run(["deliver", "hello+tag@example.com"], stdin: testMessage(subject: "Message \(i)"))
            #expect(r.ok, "\(r.stderr)")
        }
        let ls = try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": password])
        #expect(ls.ok, "\(ls.stderr)")
        let inbox = try #require(ls.stdout.split(separator: "\n").first { $0.hasPrefix("INBOX ") })
        #expect(inbox.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "3")
        for folder in ["Drafts", "Sent", "Trash", "Junk", "Archive"] { #expect(ls.stdout.contains(folder)) }

        let messages = try await cli.run(["mailbox", "ls", "hello@example.com", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": password])
        #expect(messages.ok)
        #expect(messages.stdout.contains("Message 1") && messages.stdout.contains("Message 3") && messages.stdout.contains("alice@example.org"))

        let list = try await cli.run(["password", "list", "hello@example.com"]).stdout
        #expect(list.contains("laptop") && !list.contains(password))
    }

    @Test("deliver stores a bare-LF file with CRLF line endings; message inspect shows what IMAP will send")
    func lineEndingsAndInspect() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        let lf = Array("From: Ann <ann@example.org>\nSubject: LF file\nContent-Type: text/plain\n\nline one\nline two\n".utf8)
        #expect(try await cli.run(["deliver", "hello@example.com"], stdin: lf).ok)
        let node = try SealboxNode.open(dataDirectory: cli.dataDir)
        let stored = try runAsync {
            let session = try await node.mailboxes.unlock(address: try EmailAddress("hello@example.com"), password: password)
            defer { Task { await session.close() } }
            return try await session.messageBytes(in: "INBOX", uid: 1)
        }
        #expect(stored == crlf(String(decoding: lf, as: UTF8.self)))

        let file = cli.dataDir + "/m.eml"
        try Data(crlf("From: Ann <ann@example.org>\nSubject: =?utf-8?q?caf=C3=A9?=\n\nhi\n")).write(to: URL(fileURLWithPath: file))
        let inspect = try await cli.run(["message", "inspect", file])
        #expect(inspect.ok)
        #expect(inspect.stdout.contains("ENVELOPE (NIL \"=?utf-8?q?caf=C3=A9?=\" ((\"Ann\" NIL \"ann\" \"example.org\"))"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1"), "\(inspect.stdout)")
    }

    @Test("errors are one clear line on stderr with a non-zero exit", arguments: [
        (["alias", "add", "x@unknown.example"], "domain"),
        (["password", "generate", "nobody@example.com"], "no such alias"),
        (["alias", "add", "not-an-address"], "invalid address"),
        (["password", "revoke", "hello@example.com", "ffffffffffffffff"], "no password"),
    ])
    func errors(_ args: [String], _ expected: String) async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let r = try await cli.run(args)
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.lowercased().contains(expected), "\(r.stderr)")
    }

    @Test("a wrong password is refused clearly and changes nothing")
    func wrongPassword() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        #expect(try await cli.run(["deliver", "hello@example.com"], stdin: testMessage(subject: "queued")).ok)
        let passwordsBefore = try await cli.run(["password", "list", "hello@example.com"]).stdout
        let mailboxFiles = { cli.allFiles().filter { $0.path.hasPrefix("mailboxes/") }.map { "\($0.path):\($0.bytes.hashValue)" } }
        let filesBefore = mailboxFiles()
        let r = try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": password + "x"])
        #expect(r.status == 1 && r.stderr == "sealbox: authentication failed\n")
        // Nothing changed: the mailbox file was not touched, no password was marked as used.
        #expect(mailboxFiles() == filesBefore)
        #expect(try await cli.run(["password", "list", "hello@example.com"]).stdout == passwordsBefore)
        // The queued message is still waiting and arrives with the right password.
        let ok = try await cli.run(["mailbox", "ls", "hello@example.com", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": password])
        #expect(ok.stdout.contains("queued"))
    }

    @Test("deliver exits with sysexits codes: 67 for an unknown recipient")
    func deliverExitCodes() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let r = try await cli.run(["deliver", "nobody@example.com"], stdin: testMessage(subject: "x"))
        #expect(r.status == 67 && r.stderr.contains("no such recipient"))
        let big = try await cli.run(["deliver", "hello@example.com", "--max-size", "1K"], stdin: testMessage(subject: "x", body: String(repeating: "a", count: 5000)))
        #expect(big.status == 73)
    }

    @Test("a canary in a delivered message never appears in any file, before or after unlock")
    func canary() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        let canary = "CANARY" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let needle = Data(canary.utf8)
        #expect(try await cli.run(["deliver", "hello@example.com"], stdin: testMessage(subject: "s \(canary)", body: "b \(canary)")).ok)
        var files = cli.allFiles()
        #expect(files.contains { $0.path == "queue.sqlite" } && files.contains { $0.path == "directory.sqlite" })
        for file in files { #expect(file.bytes.range(of: needle) == nil, "canary in \(file.path) before unlock") }
        // Also the password and the address never reach a file in plaintext.
        for file in files {
            #expect(file.bytes.range(of: Data(password.utf8)) == nil, "password in \(file.path)")
            #expect(file.bytes.range(of: Data("hello@example.com".utf8)) == nil, "address in \(file.path)")
        }
        let ls = try await cli.run(["mailbox", "ls", "hello@example.com", "--messages", "INBOX"], env: ["SEALBOX_PASSWORD": password])
        #expect(ls.stdout.contains(canary))
        files = cli.allFiles()
        #expect(files.contains { $0.path.hasPrefix("mailboxes/") && $0.path.hasSuffix(".sqlite") })
        for file in files { #expect(file.bytes.range(of: needle) == nil, "canary in \(file.path) after unlock") }
    }

    @Test("several passwords: generate needs a current one; revoke one, the other works; change replaces one")
    func passwords() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let first = try await cli.setUpMailbox()
        let refused = try await cli.run(["password", "generate", "hello@example.com"], env: ["SEALBOX_PASSWORD": "wrong"])
        #expect(!refused.ok && refused.stderr.contains("authentication failed"))
        let second = try await cli.run(["password", "generate", "hello@example.com", "--label", "phone"], env: ["SEALBOX_PASSWORD": first])
        #expect(second.ok, "\(second.stderr)")
        let secondPassword = second.stdout.trimmingCharacters(in: .newlines)
        let ids = try await cli.run(["password", "list", "hello@example.com"]).stdout.split(separator: "\n").dropFirst()
            .map { $0.split(separator: " ")[0] }
        #expect(ids.count == 2)
        let list = try await cli.run(["password", "list", "hello@example.com"]).stdout
        let firstID = String(try #require(list.split(separator: "\n").first { $0.contains("test") }?.split(separator: " ").first))
        let phoneID = String(try #require(list.split(separator: "\n").first { $0.contains("phone") }?.split(separator: " ").first))
        #expect(try await cli.run(["password", "revoke", "hello@example.com", firstID]).ok)
        #expect(try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": first]).status == 1)
        #expect(try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": secondPassword]).ok)
        let last = try await cli.run(["password", "revoke", "hello@example.com", phoneID])
        #expect(!last.ok && last.stderr.contains("last password"))
        let changed = try await cli.run(["password", "change", "hello@example.com", phoneID], env: ["SEALBOX_PASSWORD": secondPassword])
        #expect(changed.ok)
        let third = changed.stdout.trimmingCharacters(in: .newlines)
        #expect(try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": secondPassword]).status == 1)
        #expect(try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": third]).ok)
    }

    @Test("beside a running server, mailbox commands run in it over the control socket; SIGTERM stops it cleanly and removes the socket")
    func lockedDataDirectory() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let password = try await cli.setUpMailbox()
        let serve = try ChildHandle(CLIHarness.binary, ["serve", "--data-dir", cli.dataDir, "--imap-port", "auto", "--managesieve-port", "auto", "--http-port", "auto", "--imaps-port", "auto",
                                                        "--pop3-port", "auto", "--pop3s-port", "auto", "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto"],
                                    environment: ServeProcess.environmentWithoutAuth)
        defer { serve.interrupt() }
        // Wait (bounded) until it says it is ready.
        var ready = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while !ready.contains("node ready") || !FileManager.default.fileExists(atPath: cli.dataDir + "/control.sock"),
              serve.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            ready = serve.stderrText
        }
        #expect(ready.contains("node ready"))
        #expect(FileManager.default.fileExists(atPath: cli.dataDir + "/control.sock"))
        let r = try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": password])
        #expect(r.ok && r.stdout.contains("INBOX"), "\(r.stderr)")
        // A second process would be a second writer: the lock still keeps it out.
        let lockedOut = try await cli.run(["node", "key", "move", "--passphrase"], env: ["SEALBOX_NODE_KEY_NEW_PASSPHRASE": "correct horse battery"])
        #expect(lockedOut.status == 1 && lockedOut.stderr.contains("locked by another sealbox process (pid \(serve.processIdentifier))"), "\(lockedOut.stderr)")
        serve.terminate()
        #expect(await serve.exited(within: .seconds(30)))
        #expect(serve.terminationStatus == 0 && serve.terminationReason == .exit, "\(serve.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: cli.dataDir + "/control.sock"))
        #expect(try await cli.run(["mailbox", "ls", "hello@example.com"], env: ["SEALBOX_PASSWORD": password]).ok)
    }

    @Test("DKIM keys: made at domain add, listed, rotated (the old pair retired and still published); domain dns prints every record")
    func dkimAndDNSRecords() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try await cli.run(["domain", "add", "example.com"]).ok)
        let list = try await cli.run(["domain", "dkim", "list", "example.com"])
        let active = list.stdout.split(separator: "\n").dropFirst().filter { $0.contains("signing") }.map { String($0.split(separator: " ")[0]) }
        #expect(active.count == 2 && active.contains { $0.hasSuffix("e") } && active.contains { $0.hasSuffix("r") }, "\(list.stdout)")
        let rotated = try await cli.run(["domain", "dkim", "rotate", "example.com"])
        #expect(rotated.ok && rotated.stdout.contains("-2e") && rotated.stdout.contains("-2r"), "a second pair the same day: \(rotated.stdout)")
        let after = try await cli.run(["domain", "dkim", "list", "example.com"]).stdout
        #expect(after.components(separatedBy: "retired").count == 3 && after.components(separatedBy: "signing").count == 3, "\(after)")

        let dns = try await cli.run(["domain", "dns", "example.com"], env: ["SEALBOX_SERVER_HOSTNAME": "mx.example.net"])
        #expect(dns.ok, "\(dns.stderr)")
        let lines = dns.stdout.split(separator: "\n").map(String.init)
        func has(_ prefix: String) -> Bool { lines.contains { $0.hasPrefix(prefix) } }
        #expect(has("example.com. 3600 IN MX 10 mx.example.net."))
        #expect(has("example.com. 3600 IN TXT \"v=spf1 mx ~all\""))
        #expect(lines.filter { $0.contains("._domainkey.example.com. 3600 IN TXT \"v=DKIM1; k=") }.count == 4, "two signing and two retired keys")
        #expect(lines.contains { $0.contains("k=rsa") && $0.contains("\" \"") }, "the RSA record split into strings of at most 255")
        for line in lines where line.contains(" TXT ") {
            for string in line.split(separator: "\"").enumerated().filter({ $0.offset % 2 == 1 }) { #expect(string.element.utf8.count <= 255) }
        }
        #expect(has("_dmarc.example.com. 3600 IN TXT \"v=DMARC1; p=quarantine"))
        #expect(has("_mta-sts.example.com. 3600 IN TXT \"v=STSv1; id="))
        #expect(has("_smtp._tls.example.com. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@example.com\""))
        #expect(has("_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mx.example.net."))
        #expect(has("_imaps._tcp.example.com. 3600 IN SRV 0 1 "))
        #expect(dns.stdout.contains("; mode: testing"))
        // Another MTA-STS mode is another policy, so another id.
        let enforce = try await cli.run(["domain", "dns", "example.com", "--mta-sts", "enforce"], env: ["SEALBOX_SERVER_HOSTNAME": "mx.example.net"])
        let id = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("_mta-sts.") }.map(String.init) ?? "" }
        #expect(enforce.stdout.contains("; mode: enforce") && id(enforce.stdout) != id(dns.stdout))
        #expect(try await cli.run(["domain", "dns", "nope.example"]).stderr.contains("no such domain"))
        #expect(try await cli.run(["domain", "dns", "example.com", "--mta-sts", "sometimes"]).ok == false)
    }

    @Test("domain dns --check: every record ok when the zone is what domain dns printed; a missing DKIM key and a changed DMARC policy are named, exit 1",
          .enabled(if: TestDNSServer.isAvailable, "nsd is not installed (scripts/setup-test-deps.sh)"))
    func dnsCheck() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try await cli.run(["domain", "add", "example.com"]).ok)
        let env = ["SEALBOX_SERVER_HOSTNAME": "mx.example.com"]
        let printed = try await cli.run(["domain", "dns", "example.com"], env: env).stdout
        let lines = printed.split(separator: "\n").map(String.init).filter { !$0.hasPrefix(";") && !$0.isEmpty }
        func serve(_ lines: [String]) async throws -> TestDNSServer {
            try await TestDNSServer(zones: [.init("example.com", records: (lines + ["mx.example.com. 3600 IN A 127.0.0.5"]).joined(separator: "\n"))])
        }
        let good = try await serve(lines)
        let checked = try await cli.run(["domain", "dns", "example.com", "--check"],
                                        env: env.merging(["SEALBOX_DNS_SERVERS": good.server, "SEALBOX_DNS_TRUST_ANCHOR": "none"]) { $1 })
        good.stop()
        #expect(checked.ok, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.split(separator: "\n").count == lines.count && checked.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("ok ") },
                "\(checked.stdout)")

        let broken = lines.filter { !($0.contains("._domainkey.") && $0.contains("k=rsa")) }
            .map { $0.hasPrefix("_dmarc.") ? "_dmarc.example.com. 3600 IN TXT \"v=DMARC1; p=none\"" : $0 }
        let bad = try await serve(broken)
        let failed = try await cli.run(["domain", "dns", "example.com", "--check"],
                                       env: env.merging(["SEALBOX_DNS_SERVERS": bad.server, "SEALBOX_DNS_TRUST_ANCHOR": "none"]) { $1 })
        bad.stop()
        #expect(failed.status == 1 && failed.stderr.contains("2 of \(lines.count) records are not as expected"), "\(failed.stdout)\(failed.stderr)")
        #expect(failed.stdout.contains("missing  TXT sb") && failed.stdout.contains("publish sb"), "\(failed.stdout)")
        #expect(failed.stdout.contains("wrong    TXT _dmarc.example.com.: published v=DMARC1; p=none"), "\(failed.stdout)")
    }
}

import Directory
import Foundation
import MailCore
import SealboxApp
import Sieve
import TestSupport
import Testing

/// Sieve at the MX, end to end: `sealbox serve` with a smarthost (Clients/smtp_sink.py), scripts
/// put in the directory of the data directory (as ManageSieve stores them), mail sent with
/// smtplib and read back with imaplib (Clients/sieve_delivery.py).
@Suite("Sieve scripts at the MX", .serialized)
struct SieveDeliveryServeTests {
    static let python = ScriptRunner.python
    static let ready: Bool = {
        ((try? ScriptRunner.runBlocking(python, ["-c", "import aiosmtpd"], timeout: .seconds(30)).ok) ?? false)
    }()
    static let script = ScriptRunner.clientsDirectory + "/sieve_delivery.py"

    struct Sent: Decodable {
        var rcpt: [[Code]]
        var data: [Code]?
        enum Code: Decodable {
            case number(Int), text(String)
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let n = try? c.decode(Int.self) { self = .number(n) } else { self = .text(try c.decode(String.self)) }
            }
            var number: Int? { if case .number(let n) = self { n } else { nil } }
            var text: String { if case .text(let t) = self { t } else { "" } }
        }
        var dataCode: Int? { data?.first?.number }
        var dataText: String { data?.last?.text ?? "" }
    }

    struct Listed: Decodable { var subject: String; var flags: [String]; var headers: [String: String] }

    /// A served node with hello@ and other@example.com, a smarthost, and the node open in this
    /// process too (to put scripts and read the error log: the directory is shared through WAL).
    final class Setup: @unchecked Sendable {
        // @unchecked: every property is set once in `init`.
        let cli: CLIHarness
        let work: String
        let passwords: [String: String]
        let server: ChildHandle
        let sink: ChildHandle
        let smtp: Int
        let imap: Int
        let node: SealboxNode

        init() async throws {
            cli = try CLIHarness()
            work = cli.dataDir + "-sieve"
            try FileManager.default.createDirectory(atPath: work + "/sink", withIntermediateDirectories: true)
            var passwords = ["hello@example.com": try await cli.setUpMailbox("hello@example.com")]
            #expect(try await cli.run(["alias", "add", "other@example.com"]).ok)
            passwords["other@example.com"] = try await cli.run(["password", "generate", "other@example.com"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            self.passwords = passwords
            let relayPort = ServeProcess.freePort()
            (sink, _) = try ServeProcess.startScript(["smtp_sink.py", "--port", String(relayPort), "--ready", work + "/sink.ready",
                                                      "--out", work + "/sink"], readyFile: work + "/sink.ready")
            let environment = ["SEALBOX_SMTP_RELAY_HOST": "127.0.0.1", "SEALBOX_SMTP_RELAY_PORT": String(relayPort),
                               "SEALBOX_SMTP_RELAY_SECURITY": "none", "SEALBOX_OUTBOUND_RETRY_INTERVAL": "1",
                               "SEALBOX_OUTBOUND_MAX_RETRY_INTERVAL": "2", "SEALBOX_SERVER_HOSTNAME": "mx.sealbox.test"]
            (server, smtp, imap, _) = try ServeProcess.start(dataDir: cli.dataDir, environment: environment)
            node = try SealboxNode.open(dataDirectory: cli.dataDir)
        }

        func stop() {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
            ServeProcess.kill9(sink)
            try? FileManager.default.removeItem(atPath: work)
            cli.cleanUp()
        }

        func aliasID(_ address: String) async throws -> String {
            try #require(try await node.directory.alias(address: try EmailAddress(address))).id
        }

        func put(_ address: String, _ text: String) async throws {
            let id = try await aliasID(address)
            _ = try SieveScript.compile(text)  // refuses a script the compiler does not take, with its diagnostics
            try await node.directory.putSieveScript(aliasID: id, name: "main", content: text, at: Date())
            try await node.directory.activateSieveScript(aliasID: id, name: "main")
        }

        func send(from: String, to: [String], subject: String, headers: [String] = [], toField: String? = nil,
                  messageID: String = UUID().uuidString + "@far.example") async throws -> Sent {
            let file = work + "/msg-\(UUID().uuidString).eml"
            let text = (["From: <\(from.isEmpty ? "mailer-daemon@far.example" : from)>", "To: \(toField ?? to.map { "<\($0)>" }.joined(separator: ", "))",
                         "Subject: \(subject)", "Message-ID: <\(messageID)>", "Date: Sun, 6 Dec 2026 12:00:00 +0000"]
                        + headers).joined(separator: "\r\n") + "\r\n\r\nHello.\r\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            var args = [SieveDeliveryServeTests.script, "send", "--port", String(smtp), "--mail-from", from, "--message-file", file]
            for rcpt in to { args += ["--rcpt", rcpt] }
            let r = try await ScriptRunner.run(SieveDeliveryServeTests.python, args, timeout: .seconds(60))
            #expect(r.ok, "send: \(r.output)")
            return try JSONDecoder().decode(Sent.self, from: Data((r.output.split(separator: "\n").first.map(String.init) ?? "").utf8))
        }

        func folders(_ address: String) async throws -> [String: [Listed]] {
            let r = try await ScriptRunner.run(SieveDeliveryServeTests.python, [SieveDeliveryServeTests.script, "folders", "--port", String(imap),
                                                                               "--user", address, "--password", passwords[address]!], timeout: .seconds(60))
            #expect(r.ok, "folders: \(r.output)")
            return try JSONDecoder().decode([String: [Listed]].self, from: Data((r.output.split(separator: "\n").first.map(String.init) ?? "").utf8))
        }

        /// The smarthost's messages so far: (envelope, raw message).
        func sunk() -> [(from: String, to: [String], message: String)] {
            let dir = work + "/sink"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }
                .sorted { Int($0.split(separator: ".")[0]) ?? 0 < Int($1.split(separator: ".")[0]) ?? 0 }
            return names.compactMap { name in
                guard let data = FileManager.default.contents(atPath: dir + "/" + name),
                      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let eml = FileManager.default.contents(atPath: dir + "/" + name.replacingOccurrences(of: ".json", with: ".eml")) else { return nil }
                let from = json["mail_from"] as? String ?? ""
                return (from == "<>" ? "" : from, json["rcpt_tos"] as? [String] ?? [], String(decoding: eml, as: UTF8.self))
            }
        }

        func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ServerHarness.StartError(description: "timed out waiting for \(what)")
        }
    }

    @Test("fileinto :create with flags, a missing folder to INBOX (logged), discard, reject: 550 for one recipient, a DSN for two",
          .enabled(if: ready, "needs the Sieve compiler and aiosmtpd"))
    func filing() async throws {
        let s = try await Setup()
        defer { s.stop() }
        try await s.put("hello@example.com", #"""
            require ["fileinto", "imap4flags", "reject", "mailbox"];
            if header :contains "subject" "[dev]" { fileinto :create :flags "\\Seen" "Lists/dev"; stop; }
            if header :contains "subject" "nowhere" { fileinto "Missing"; stop; }
            if header :contains "subject" "spam" { discard; stop; }
            if header :contains "subject" "go away" { reject "No thanks"; stop; }
            """#)
        #expect(try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "[dev] release").dataCode == 250)
        #expect(try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "nowhere to go").dataCode == 250)
        #expect(try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "cheap spam").dataCode == 250)
        let refused = try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "go away")
        #expect(refused.dataCode == 550 && refused.dataText.contains("5.7.1 No thanks"), "\(refused)")
        let both = try await s.send(from: "sender@far.example", to: ["hello@example.com", "other@example.com"], subject: "go away, both")
        #expect(both.dataCode == 250)

        let hello = try await s.folders("hello@example.com")
        #expect(hello["Lists/dev"]?.map(\.subject) == ["[dev] release"])
        #expect(hello["Lists/dev"]?.first?.flags.contains("\\Seen") == true)
        #expect(hello["INBOX"]?.map(\.subject) == ["nowhere to go"])
        #expect(hello["Missing"] == nil)
        #expect(try await s.folders("other@example.com")["INBOX"]?.map(\.subject) == ["go away, both"])
        // The missing folder is in the alias's error log (recorded when the copy was filed).
        let log = try await s.node.directory.sieveRunErrors(aliasID: try await s.aliasID("hello@example.com"))
        #expect(log.contains { $0.message.contains("\"Missing\"") }, "\(log)")
        // The DSN for the two-recipient reject reaches the sender through the smarthost.
        try await s.waitFor("the rejection DSN") { !s.sunk().isEmpty }
        let dsn = try #require(s.sunk().first)
        #expect(dsn.from == "" && dsn.to == ["sender@far.example"])
        #expect(dsn.message.contains("Final-Recipient: rfc822; hello@example.com") && dsn.message.contains("No thanks"))
        #expect(s.sunk().count == 1)
    }

    @Test("redirect reaches the smarthost with an SRS sender, DKIM-signed for the alias's domain (dkimpy); :copy keeps one too",
          .enabled(if: ready, "needs the Sieve compiler and aiosmtpd"))
    func redirect() async throws {
        let s = try await Setup()
        defer { s.stop() }
        try await s.put("hello@example.com", #"""
            require ["copy"];
            if header :contains "subject" "copy" { redirect :copy "far@elsewhere.example"; } else { redirect "far@elsewhere.example"; }
            """#)
        #expect(try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "redirect me").dataCode == 250)
        #expect(try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "copy me").dataCode == 250)
        try await s.waitFor("two redirects") { s.sunk().count >= 2 }
        for sent in s.sunk() {
            #expect(sent.to == ["far@elsewhere.example"])
            #expect(sent.from.hasPrefix("SRS0=") && sent.from.hasSuffix("@mx.sealbox.test"), "\(sent.from)")
            #expect(sent.message.hasPrefix("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;"))
            #expect(sent.message.contains("\r\nDelivered-To: hello@example.com\r\n"))
        }
        let file = s.work + "/sink/1.eml"
        let (keyRecords, _) = try await s.cli.dkimKeyRecords("example.com")
        let verified = try await CLIHarness.dkimpy(file, keyRecords: keyRecords)
        #expect(verified.ok && verified.output.contains("\"a\": \"ed25519-sha256\", \"ok\": true"), "dkimpy: \(verified.output)")
        #expect(try await s.folders("hello@example.com")["INBOX"]?.map(\.subject) == ["copy me"])
    }

    @Test("editheader's copy is the one stored; duplicate (RFC 7352) discards the second copy of a Message-ID",
          .enabled(if: ready, "needs the Sieve compiler and aiosmtpd"))
    func editheaderAndDuplicate() async throws {
        let s = try await Setup()
        defer { s.stop() }
        try await s.put("hello@example.com", #"""
            require ["editheader", "duplicate", "fileinto"];
            if duplicate { discard; stop; }
            addheader "X-Sieve-Filtered" "yes";
            deleteheader "X-Tracking";
            """#)
        for _ in 0..<2 {
            #expect(try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "once", headers: ["X-Tracking: 42"],
                                     messageID: "same@far.example").dataCode == 250)
        }
        #expect(try await s.send(from: "sender@far.example", to: ["hello@example.com"], subject: "other id").dataCode == 250)
        let inbox = try await s.folders("hello@example.com")["INBOX"] ?? []
        #expect(inbox.map(\.subject) == ["once", "other id"])
        #expect(inbox.first?.headers["x-sieve-filtered"] == "yes" && inbox.first?.headers["x-tracking"] == nil, "\(inbox)")
        // Each Message-ID remembered once, as a keyed hash.
        let memories = try await s.node.directory.sieveMemories(aliasID: try await s.aliasID("hello@example.com"), kind: .duplicate, now: Date())
        #expect(memories.count == 2)
    }

    @Test("vacation: one reply per period to the envelope sender (null return path); none for bulk, not addressed, <>; two users' vacations answer once each",
          .enabled(if: ready, "needs the Sieve compiler and aiosmtpd"))
    func vacation() async throws {
        let s = try await Setup()
        defer { s.stop() }
        let script = #"require "vacation"; vacation :days 1 :subject "Away" "I am away until Monday.";"#
        try await s.put("hello@example.com", script)
        try await s.put("other@example.com", script)
        for subject in ["first", "second"] {
            #expect(try await s.send(from: "alice@far.example", to: ["hello@example.com"], subject: subject).dataCode == 250)
        }
        #expect(try await s.send(from: "bob@far.example", to: ["hello@example.com"], subject: "news", headers: ["Precedence: bulk"]).dataCode == 250)
        #expect(try await s.send(from: "carol@far.example", to: ["hello@example.com"], subject: "bcc", toField: "<team@far.example>").dataCode == 250)
        #expect(try await s.send(from: "", to: ["hello@example.com"], subject: "bounce").dataCode == 250)
        try await s.waitFor("the vacation reply") { !s.sunk().isEmpty }
        // Two users on vacation write to each other: each answers once, the answers are not answered.
        #expect(try await s.send(from: "hello@example.com", to: ["other@example.com"], subject: "from hello").dataCode == 250)
        #expect(try await s.send(from: "other@example.com", to: ["hello@example.com"], subject: "from other").dataCode == 250)
        try await s.waitFor("the local replies") {
            let hello = try await s.folders("hello@example.com")["INBOX"] ?? [], other = try await s.folders("other@example.com")["INBOX"] ?? []
            return hello.contains { $0.subject == "Away" } && other.contains { $0.subject == "Away" }
        }
        try await Task.sleep(for: .seconds(3))  // anything answered twice would arrive now
        let sunk = s.sunk()
        #expect(sunk.count == 1, "\(sunk.map { ($0.from, $0.to) })")
        let reply = try #require(sunk.first)
        #expect(reply.from == "" && reply.to == ["alice@far.example"])
        for field in ["Auto-Submitted: auto-replied (vacation)", "Precedence: bulk", "X-Auto-Response-Suppress: All", "Subject: Away", "In-Reply-To: <"] {
            #expect(reply.message.contains("\r\n" + field), "\(field)")
        }
        #expect(reply.message.contains("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;"))
        let hello = try await s.folders("hello@example.com")["INBOX"]?.map(\.subject) ?? []
        let other = try await s.folders("other@example.com")["INBOX"]?.map(\.subject) ?? []
        #expect(hello.filter { $0 == "Away" }.count == 1 && other.filter { $0 == "Away" }.count == 1, "\(hello) \(other)")
        #expect(hello.count == 7 && other.count == 2, "\(hello) \(other)")
    }
}

/// Vacation against Pigeonhole: the same script and the same sequence of deliveries through
/// `sealbox deliver --from` and through Debian's dovecot-lda with a fake sendmail
/// (Clients/lda_vacation_oracle.sh); which deliveries get a reply, and to whom, must agree.
@Suite("vacation: Sealbox against dovecot-lda")
struct SieveVacationOracleTests {
    static let ready: Bool = {
        FileManager.default.isExecutableFile(atPath: "/usr/lib/dovecot/dovecot-lda")
            && FileManager.default.fileExists(atPath: "/usr/lib/dovecot/modules/lib90_sieve_plugin.so")
    }()

    /// (envelope sender, To:, extra header fields)
    static let cases: [(from: String, to: String, headers: [String])] = [
        ("alice@far.example", "hello@example.com", []),
        ("alice@far.example", "hello@example.com", []),                        // answered already
        ("", "hello@example.com", []),                                           // null sender
        ("bob@far.example", "hello@example.com", ["Precedence: bulk"]),
        ("carol@far.example", "team@far.example", []),                           // not addressed
        ("MAILER-DAEMON@far.example", "hello@example.com", []),
        ("dave@far.example", "hello@example.com", ["Auto-Submitted: auto-generated"]),
        ("erin@far.example", "hello@example.com", ["List-Id: <dev.far.example>"]),
        ("frank@far.example", "team@far.example", ["Cc: Hello <hello@example.com>"]),
        ("owner-dev@far.example", "hello@example.com", []),
        ("dev-request@far.example", "hello@example.com", []),
        ("grace@far.example", "hello@example.com", ["X-Auto-Response-Suppress: OOF"]),
        ("heidi@far.example", "team@far.example", ["Resent-To: hello@example.com"]),
        ("hello@example.com", "hello@example.com", []),                          // own address
        ("ivan@far.example", "hello@example.com", ["Precedence: junk"]),
        ("judy@far.example", "hello@example.com", ["Auto-Submitted: no"]),
        ("bob@far.example", "hello@example.com", []),                           // bulk before: not remembered
    ]

    @Test("the same deliveries get the same replies", .enabled(if: ready, "needs the Sieve compiler and dovecot-lda with the sieve plugin"))
    func differential() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox("hello@example.com")
        let script = #"require "vacation"; vacation :days 1 :subject "Away" "I am away until Monday.";"#
        let casesDir = cli.dataDir + "-cases"
        try FileManager.default.createDirectory(atPath: casesDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: casesDir) }
        try Data(script.utf8).write(to: URL(fileURLWithPath: casesDir + "/script.sieve"))
        var messages: [[UInt8]] = []
        for (i, c) in Self.cases.enumerated() {
            let text = (["From: <\(c.from.isEmpty ? "mailer-daemon@far.example" : c.from)>", "To: \(c.to)", "Subject: case \(i + 1)",
                         "Message-ID: <case\(i + 1)@far.example>", "Date: Sun, 6 Dec 2026 12:00:00 +0000"] + c.headers)
                .joined(separator: "\r\n") + "\r\n\r\nHello.\r\n"
            messages.append(Array(text.utf8))
            try Data(text.utf8).write(to: URL(fileURLWithPath: casesDir + "/\(i + 1).eml"))
            try Data(c.from.utf8).write(to: URL(fileURLWithPath: casesDir + "/\(i + 1).from"))
        }
        let oracle = try await ScriptRunner.run("/bin/sh", [ScriptRunner.clientsDirectory + "/lda_vacation_oracle.sh", casesDir + "/script.sieve",
                                                            "hello@example.com", casesDir], timeout: .seconds(120))
        #expect(oracle.ok, "\(oracle.output)")
        let expected = oracle.output.split(separator: "\n").map(String.init)

        do {
            let node = try SealboxNode.open(dataDirectory: cli.dataDir)
            let alias = try #require(try await node.directory.alias(address: try EmailAddress("hello@example.com")))
            try await node.directory.putSieveScript(aliasID: alias.id, name: "vacation", content: script, at: Date())
            try await node.directory.activateSieveScript(aliasID: alias.id, name: "vacation")
        }
        var got: [String] = []
        let before = try SealboxNode.open(dataDirectory: cli.dataDir)
        for (i, c) in Self.cases.enumerated() {
            let jobsBefore = try await before.queue.outboundJobs().count
            let r = try await cli.run(["deliver", "--from", c.from, "hello@example.com"], stdin: messages[i])
            #expect(r.ok, "case \(i + 1): \(r.stderr)")
            let jobs = try await before.queue.outboundJobs()
            got.append(jobs.count > jobsBefore ? "send " + (jobs.last?.recipients.joined(separator: " ") ?? "") : "none")
        }
        #expect(got.count == Self.cases.count)
        #expect(got == expected, "Sealbox \(got)\nPigeonhole \(expected)")
        #expect(got.filter { $0.hasPrefix("send") }.count >= 3)
    }
}

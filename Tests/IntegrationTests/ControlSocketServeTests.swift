import Foundation
import TestSupport
import Testing

/// The CLI beside a running `serve`: its commands go over `<data-dir>/control.sock` and run in the
/// node, with the same output and exit codes as without a node, and their effect is seen at once.
@Suite("sealbox CLI beside a running serve (control socket)", .serialized)
struct ControlSocketServeTests {
    /// One command line of the comparison, with what it reads.
    struct Step: Sendable {
        var args: [String]
        var stdin: [UInt8] = []
        var password: Password = .none
        /// With a backup destination of its own (SEALBOX_BACKUP_DESTINATION).
        var backup = false
        enum Password: Sendable { case none, right, wrong }
    }

    static let message = Array("""
        Date: Sat, 05 Dec 2026 10:00:00 +0000\r
        From: Ann <ann@example.net>\r
        Subject: control socket\r
        \r
        Hello.\r

        """.utf8)

    static func steps(_ a: String) -> [Step] {
        [
            Step(args: ["domain", "list"]),
            Step(args: ["alias", "add", "second@example.com", "--quota", "10M"]),
            Step(args: ["alias", "add", "second@example.com"]),
            Step(args: ["alias", "list"]),
            Step(args: ["password", "list", a]),
            Step(args: ["mailbox", "ls", a], password: .right),
            Step(args: ["mailbox", "ls", a], password: .wrong),
            Step(args: ["mailbox", "ls", a]),
            Step(args: ["deliver", a], stdin: message),
            Step(args: ["deliver", "nobody@example.com"], stdin: message),
            Step(args: ["deliver", a, "--max-size", "10"], stdin: message),
            Step(args: ["mailbox", "ls", a, "--messages", "INBOX"], password: .right),
            Step(args: ["sieve", "put", a, "filter", "-", "--activate"], stdin: Array("require \"fileinto\";\nfileinto \"Lists\";\n".utf8)),
            Step(args: ["sieve", "put", a, "broken", "-"], stdin: Array("fileinto \"x\"".utf8)),
            Step(args: ["sieve", "list", a]),
            Step(args: ["sieve", "get", a, "missing"]),
            Step(args: ["queue", "list"]),
            Step(args: ["mailbox", "export", a, "--format", "mbox", "--output", "export.mbox", "--folder", "INBOX"], password: .right),
            Step(args: ["mailbox", "export", a, "--format", "mbox", "--output", "export.mbox", "--folder", "INBOX"], password: .right),
            Step(args: ["backup", "run", a], backup: true),
            Step(args: ["backup", "list", a], backup: true),
            Step(args: ["backup", "restore", a], password: .right, backup: true),
            Step(args: ["mailbox", "ls", a], password: .right),
            Step(args: ["alias", "remove", "second@example.com"]),
            Step(args: ["alias", "remove", "second@example.com", "--purge"]),
            Step(args: ["alias", "remove", "second@example.com", "--purge"]),
        ]
    }

    /// Output without what differs between two data directories: passwords, ids, dates, paths.
    static func normalized(_ text: String, password: String, dataDir: String, work: String) -> String {
        var t = text.replacingOccurrences(of: password, with: "<password>")
            .replacingOccurrences(of: dataDir, with: "<data-dir>").replacingOccurrences(of: work, with: "<work>")
        for (pattern, replacement) in [(#"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"#, "<date>"),
                                       (#"mailboxes/[0-9a-f]{2}/[0-9A-Za-z_-]+"#, "mailboxes/<file>"),
                                       (#"[0-9]{8}T[0-9]{6}Z"#, "<generation>"), (#"[0-9.]+ (KiB|KB|MiB|MB|B)\b"#, "<size>"),
                                       (#"\b[0-9a-f]{8}\b"#, "<id>")] {
            t = t.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        // Column widths follow the ids' and dates' lengths, which are the same on both sides.
        return t
    }

    @Test("every command gives the same output and exit status with and without a serving node (relative paths, stdin, secrets, refusals)")
    func sameOutputWithAndWithoutNode() async throws {
        let server = try await ServerHarness(quota: nil)
        defer { _ = server.stop() }
        let local = try CLIHarness()
        defer { local.cleanUp() }
        let localPassword = try await local.setUpMailbox(server.address)
        defer { for dir in [local.dataDir, server.cli.dataDir] { try? FileManager.default.removeItem(atPath: dir + "-backups") } }
        let a = server.address
        for (i, step) in Self.steps(a).enumerated() {
            var results: [(String, CLIHarness.Result)] = []
            for (cli, password) in [(local, localPassword), (server.cli, server.password)] {
                let work = NSTemporaryDirectory() + "sealbox-ctl-\(UUID().uuidString)"
                try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: work) }
                if i == 18 { FileManager.default.createFile(atPath: work + "/export.mbox", contents: Data()) }  // exists: refused
                var env: [String: String] = [:]
                if step.backup { env["SEALBOX_BACKUP_DESTINATION"] = "file://" + cli.dataDir + "-backups" }
                switch step.password {
                case .none: break
                case .right: env["SEALBOX_PASSWORD"] = password
                case .wrong: env["SEALBOX_PASSWORD"] = "not the password"
                }
                let r = try await cli.run(step.args, stdin: step.stdin, env: env, directory: work)
                if i == 17 {
                    let exported = (try? String(contentsOfFile: work + "/export.mbox", encoding: .utf8)) ?? ""
                    #expect(exported.contains("Subject: control socket"), "step \(i) \(step.args): the export is in the client's working directory")
                }
                var n = r
                n.stdout = Self.normalized(r.stdout, password: password, dataDir: cli.dataDir, work: work)
                n.stderr = Self.normalized(r.stderr, password: password, dataDir: cli.dataDir, work: work)
                results.append((cli.dataDir, n))
            }
            let (here, there) = (results[0].1, results[1].1)
            #expect(here.status == there.status && here.stdout == there.stdout && here.stderr == there.stderr,
                    "step \(i) \(step.args): without a node: \(here.status) [\(here.stdout)] [\(here.stderr)]; beside serve: \(there.status) [\(there.stdout)] [\(there.stderr)]")
        }
        // The commands ran in the node, not beside it: its log says nothing went wrong and the socket is there.
        #expect(FileManager.default.fileExists(atPath: server.cli.dataDir + "/control.sock"))
        #expect(!server.log.contains("locked by another"), "\(server.log)")
    }

    @Test("a deliver wakes IDLE and a revoked password ends its IMAP session at once; another user is refused; purge right after a session; a client that goes away leaves the node serving")
    func liveEffects() async throws {
        let server = try await ServerHarness()
        defer { _ = server.stop() }
        let r = try await ScriptRunner.run(ScriptRunner.python, [
            ScriptRunner.clientsDirectory + "/control_socket_live.py", "--port", String(server.imapPort), "--address", server.address,
            "--password", server.password, "--sealbox", CLIHarness.binary, "--data-dir", server.cli.dataDir,
        ], timeout: .seconds(120))
        #expect(r.ok, "\(r.output)\nserve said:\n\(server.log)")
        #expect(r.output.contains("OK idle woken by deliver") && r.output.contains("OK bye on revoke") && r.output.contains("OK client gone") && r.output.contains("OK purged while serving"), "\(r.output)")
    }

    @Test("commands write through emit/writeStandardOutput/writeStandardError and read through CommandIO (a bare print would go to the node's own stdout)")
    func commandsUseCommandIO() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/sealbox").standardized.path
        let exempt: Set<String> = ["CommandIO.swift", "ControlClient.swift", "ServeCommand.swift"]
        let files = try FileManager.default.contentsOfDirectory(atPath: sources).filter { $0.hasSuffix(".swift") && !exempt.contains($0) }
        #expect(!files.isEmpty)
        let forbidden = try NSRegularExpression(pattern: #"(?<![A-Za-z_])print\(|FileHandle\.standard(Output|Error|Input)|readLine\("#)
        for file in files {
            let text = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let s = String(line)
                if forbidden.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil {
                    Issue.record("\(file):\(n + 1): \(s.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
    }
}

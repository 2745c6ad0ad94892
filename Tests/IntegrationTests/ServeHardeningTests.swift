import Foundation
import TestSupport
import Testing

/// `sealbox serve` as an attacker and a careless operator meet it: the audit log of failed logins
/// (read with the shipped fail2ban filter), absurd IMAP literals, and secret files left open.
@Suite("sealbox serve: audit log, literals, file permissions")
struct ServeHardeningTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = root.appendingPathComponent("Tests/IntegrationTests/ServerChecks/auth_audit_checks.py").path
    static let filter = root.appendingPathComponent("docs/fail2ban/sealbox.conf").path
    static let python = ProcessInfo.processInfo.environment["SEALBOX_TEST_PYTHON"] ?? "/usr/bin/python3"

    /// Starts `serve` (every port `auto`) and waits, bounded, until `until` is in its output.
    static func serve(_ cli: CLIHarness, _ extra: [String] = [], until: [String]) async throws -> ChildHandle {
        let process = try ChildHandle(CLIHarness.binary, ["serve", "--data-dir", cli.dataDir, "--imap-port", "auto", "--managesieve-port", "auto", "--http-port", "auto", "--imaps-port", "auto",
                                                          "--pop3-port", "auto", "--pop3s-port", "auto", "--smtp-port", "auto", "--submission-port", "auto", "--submissions-port", "auto"] + extra,
                                      environment: ServeProcess.environmentWithoutAuth)
        let deadline = ContinuousClock.now + .seconds(60)
        while !until.allSatisfy(process.stderrText.contains), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return process
    }

    static func port(_ name: String, in text: String) -> Int {
        guard let r = text.range(of: "listening: \(name) 127.0.0.1:") else { return 0 }
        return Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// The filter's `failregex`, with fail2ban's `<HOST>` made an IP group.
    static func failRegex() throws -> NSRegularExpression {
        let text = try String(contentsOfFile: filter, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("failregex") }),
              let eq = line.firstIndex(of: "=") else { throw CocoaError(.fileReadCorruptFile) }
        let pattern = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            .replacingOccurrences(of: "<HOST>", with: "(?<host>[0-9A-Fa-f:.]+)")
        return try NSRegularExpression(pattern: pattern)
    }

    @Test("failed IMAP and POP3 logins are logged as the fail2ban filter reads them, never with the password; {99999999999+} gets BYE [TOOBIG]")
    func auditLog() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let process = try await Self.serve(cli, ["--allow-insecure-auth"], until: ["listening: imap ", "listening: pop3 "])
        defer { process.terminate(); process.waitUntilExit() }
        let started = process.stderrText
        let imapPort = Self.port("imap", in: started), pop3Port = Self.port("pop3", in: started)
        #expect(imapPort > 0 && pop3Port > 0, "\(started)")

        let wrong = "Wr0ng-Secret-\(UUID().uuidString.prefix(8))"
        let check = try ChildHandle(Self.python, [Self.script, "127.0.0.1", "\(imapPort)", "\(pop3Port)", "hello@example.com", wrong])
        if !(await check.exited(within: .seconds(60))) { check.kill9() }
        #expect(check.terminationStatus == 0, "\(check.stdoutText)\(check.stderrText)")

        // Both failures are logged before they are answered (bounded wait for the pipe).
        let deadline = ContinuousClock.now + .seconds(10)
        var log = process.stderrText
        while log.components(separatedBy: "auth failure:").count < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            log = process.stderrText
        }
        let regex = try Self.failRegex()
        var matched: [String: String] = [:]
        for line in log.split(separator: "\n").map(String.init) where line.contains("auth failure:") {
            let range = NSRange(line.startIndex..., in: line)
            guard let m = regex.firstMatch(in: line, range: range), let host = Range(m.range(withName: "host"), in: line) else {
                Issue.record("the filter does not match: \(line)"); continue
            }
            #expect(line[host] == "127.0.0.1")
            #expect(line.contains(" notice "), "\(line)")
            for proto in ["imap", "pop3"] where line.contains("protocol=\(proto) ") { matched[proto] = line }
        }
        #expect(matched["imap"]?.contains("user=\"hello@example.com\" reason=bad-credentials") == true, "\(log)")
        #expect(matched["pop3"]?.contains("user=\"hello@example.com\" reason=bad-credentials") == true, "\(log)")
        #expect(!log.contains(wrong) && !process.stdoutText.contains(wrong))
    }

    @Test("an operator's TLS key others can read: serve refuses and says what to run")
    func openTLSKey() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let base = NSTemporaryDirectory() + "sealbox-operator-" + UUID().uuidString
        let cert = base + "-cert.pem", key = base + "-key.pem"
        defer { try? FileManager.default.removeItem(atPath: cert); try? FileManager.default.removeItem(atPath: key) }
        #expect(FileManager.default.createFile(atPath: cert, contents: Data("x".utf8), attributes: [.posixPermissions: 0o644]))
        #expect(FileManager.default.createFile(atPath: key, contents: Data("x".utf8), attributes: [.posixPermissions: 0o644]))
        let r = try await cli.run(["serve", "--imap-port", "auto", "--tls-certificate", cert, "--tls-key", key], timeout: .seconds(30))
        #expect(r.status == 1)
        #expect(r.stderr.contains("refusing to start: the TLS key \(key) (tls.key) is open to others (mode 0644); run `chmod 600 \(key)`"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test("a world-writable data directory: serve refuses and says what to run")
    func worldWritableDataDirectory() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(chmod(cli.dataDir, 0o777) == 0)
        let r = try await cli.run(["serve", "--imap-port", "auto"], timeout: .seconds(30))
        #expect(r.status == 1)
        #expect(r.stderr.contains("refusing to start: the data directory \(cli.dataDir) is writable by others (mode 0777); run `chmod 700 \(cli.dataDir)`"),
                "\(r.stderr)")
    }

    @Test("node.key left readable (0644): serve sets it back to 0600 with a warning and starts")
    func nodeKeyFixed() async throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        _ = try await cli.setUpMailbox()
        let nodeKey = cli.dataDir + "/node.key"
        #expect(chmod(nodeKey, 0o644) == 0)
        let process = try await Self.serve(cli, until: ["node ready"])
        defer { process.terminate(); process.waitUntilExit() }
        let text = process.stderrText
        #expect(text.contains("warning: \(nodeKey) could be read by others (mode 0644); it is now 0600"), "\(text)")
        #expect(text.contains("node ready"))
        let mode = (try FileManager.default.attributesOfItem(atPath: nodeKey)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
    }
}

import Foundation
import Testing

/// Observability of a running node (docs/observability.md): `/metrics` scraped and parsed by PyPI
/// `prometheus_client` around real logins and a delivery (Clients/metrics_check.py), `/readyz`,
/// and the JSON log (`log.format=json`): every entry one JSON object, the session summary lines,
/// the audit line, and never the password.
@Suite("Observability: /metrics, /readyz and JSON logs of sealbox serve")
struct MetricsServeTests {
    static let hasPrometheusClient: Bool = {
        guard ScriptRunner.has(ScriptRunner.python) else { return false }
        let result = try? ScriptRunner.runBlocking(ScriptRunner.python, ["-c", "import prometheus_client.parser"], timeout: .seconds(30))
        return result?.ok == true
    }()

    /// The log entries (lines that are JSON objects); every other line must be one of serve's own
    /// `sealbox: …` lines, never a text-format log entry.
    static func jsonEntries(_ log: String) -> (entries: [[String: Any]], strays: [String]) {
        var entries: [[String: Any]] = []
        var strays: [String] = []
        for line in log.split(separator: "\n").map(String.init) where !line.isEmpty {
            if line.hasPrefix("{") {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                    entries.append(object)
                } else {
                    strays.append(line)
                }
            } else if !line.hasPrefix("sealbox: ") {
                strays.append(line)
            }
        }
        return (entries, strays)
    }

    @Test("counters move with an IMAP login, a failed login and an SMTP delivery; /readyz 200; JSON log lines, session summaries, no password",
          .enabled(if: hasPrometheusClient, "PyPI prometheus_client is not installed (scripts/setup-test-deps.sh)"))
    func scrapeAndLogs() async throws {
        let server = try await ServerHarness(environment: ["SEALBOX_LOG_FORMAT": "json"])
        defer { server.stop() }
        // The HTTP listener is up once its line is printed (bounded wait).
        let deadline = ContinuousClock.now + .seconds(30)
        var httpsPort = ServerHarness.port(in: server.log, service: "https")
        while httpsPort == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            httpsPort = ServerHarness.port(in: server.log, service: "https")
        }
        let port = try #require(httpsPort, "no `listening: https` line:\n\(server.log)")

        let result = try await ScriptRunner.run(ScriptRunner.python, [
            "metrics_check.py", server.host, "\(server.imapPort)", "\(server.smtpPort)", "\(port)", server.address, server.password,
            "\(server.pop3Port)", "\(server.submissionPort)", "\(server.manageSievePort)",
        ], timeout: .seconds(120))
        #expect(result.ok, "metrics_check.py:\n\(result.output)\nserve:\n\(server.log)")

        // The summary lines come when the sessions end: wait (bounded) for one of each protocol (two IMAP).
        func summaries() -> [[String: Any]] {
            Self.jsonEntries(server.log).entries.filter { $0["message"] as? String == "session end" }
        }
        func ended(_ protocolName: String) -> [[String: Any]] { summaries().filter { $0["session.protocol"] as? String == protocolName } }
        let logDeadline = ContinuousClock.now + .seconds(20)
        while ended("imap").count < 2 || ["smtp", "pop3", "submission", "managesieve"].contains(where: { ended($0).isEmpty }),
              ContinuousClock.now < logDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let log = server.log
        let (entries, strays) = Self.jsonEntries(log)
        #expect(strays.isEmpty, "lines that are neither JSON entries nor serve's own: \(strays)")
        #expect(!entries.isEmpty)
        for entry in entries {
            #expect(entry["time"] is String && entry["level"] is String && entry["message"] is String, "\(entry)")
        }

        let imapSessions = summaries().filter { $0["session.protocol"] as? String == "imap" }
        let loggedIn = imapSessions.first { $0["session.user"] as? String == server.address }
        #expect(loggedIn?["session.end"] as? String == "quit", "\(imapSessions)")
        #expect(loggedIn?["session.ip"] as? String == "127.0.0.1")
        #expect(Int(loggedIn?["session.commands"] as? String ?? "") ?? 0 >= 3, "LOGIN, SELECT, LOGOUT: \(String(describing: loggedIn))")
        #expect(Int(loggedIn?["session.bytes.in"] as? String ?? "") ?? 0 > 0)
        #expect(Int(loggedIn?["session.bytes.out"] as? String ?? "") ?? 0 > 0)
        #expect((loggedIn?["session.duration"] as? String)?.hasSuffix("s") == true)
        let smtp = ended("smtp").first
        #expect(smtp?["session.end"] as? String == "quit", "\(String(describing: smtp))")
        #expect(smtp?["session.user"] == nil)
        for name in ["pop3", "submission", "managesieve"] {
            let summary = ended(name).first
            #expect(summary?["session.user"] as? String == server.address, "\(name): \(String(describing: summary))")
            #expect(summary?["session.end"] as? String == "quit", "\(name): \(String(describing: summary))")
        }

        // The audit line keeps its text inside the JSON message.
        let audit = entries.first { ($0["message"] as? String)?.hasPrefix("auth failure: protocol=imap ip=127.0.0.1 ") == true }
        #expect(audit?["level"] as? String == "notice", "\(entries.filter { $0["level"] as? String == "notice" })")

        #expect(!log.contains(server.password), "the password appears in serve's output")
        #expect(!log.contains(String(server.password.reversed())))
    }
}

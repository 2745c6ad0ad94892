import Foundation
import Testing
@testable import MailNet
@testable import SealboxApp
@testable import SMTPServer

/// The exposition `/metrics` serves: the process's one registry (bootstrapped once, however many
/// tests touch it), the node's metric families with their types, and values that move. Other
/// tests of this process may count too: values are compared before and after, at least.
@Suite struct SealboxMetricsTests {
    /// `name{labels} value` lines → value.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        return out
    }

    static var exposition: String { String(decoding: SealboxMetrics.shared.exposition(), as: UTF8.self) }

    @Test("logins, sessions, SMTP and backup metrics appear with their types and move")
    func exposition() {
        _ = SealboxMetrics.shared  // bootstrapped before any metric object below is made
        let before = Self.samples(Self.exposition)
        let logins = LoginMetrics()
        logins.count(.failed, protocolName: "imap")
        logins.count(.throttled(retryAfter: .seconds(1)), protocolName: "pop3")
        logins.count(.failed, protocolName: "some-new-protocol")
        logins.lockout(.ip)
        let listener = ListenerMetrics(protocolName: "managesieve")
        listener.total.increment()
        listener.active.increment()
        let smtp = SMTPMetrics()
        smtp.accept(submission: false)
        smtp.refuse(.size, submission: false)
        smtp.unknownRecipients.increment()
        let backup = BackupMetrics(started: Date(timeIntervalSinceNow: -100))
        backup.refresh(now: Date())
        let text = Self.exposition
        let after = Self.samples(text)
        func moved(_ key: String) -> Double { (after[key] ?? 0) - (before[key] ?? 0) }

        #expect(moved(#"sealbox_logins_total{protocol="imap",result="failed"}"#) >= 1, "\(text)")
        #expect(moved(#"sealbox_logins_total{protocol="pop3",result="throttled"}"#) >= 1)
        #expect(moved(#"sealbox_logins_total{protocol="some-new-protocol",result="failed"}"#) >= 1)
        #expect(moved(#"sealbox_auth_lockouts_total{scope="ip"}"#) >= 1)
        #expect(moved(#"sealbox_sessions_total{protocol="managesieve"}"#) >= 1)
        #expect(moved(#"sealbox_smtp_messages_received_total"#) >= 1)
        #expect(moved(#"sealbox_smtp_messages_refused_total{reason="size"}"#) >= 1)
        #expect(moved(#"sealbox_smtp_unknown_recipients_total"#) >= 1)
        #expect((after[#"sealbox_backup_last_success_age_seconds"#] ?? 0) >= 99)
        for (family, type) in [("sealbox_logins_total", "counter"), ("sealbox_sessions_active", "gauge"),
                               ("sealbox_smtp_messages_refused_total", "counter"), ("sealbox_backup_last_success_age_seconds", "gauge")] {
            #expect(text.contains("# TYPE \(family) \(type)\n"), "\(family)")
        }
        listener.active.decrement()
    }

    @Test("every family the node registers is named sealbox_… without dots")
    func names() {
        _ = SealboxMetrics.shared
        _ = LoginMetrics(); _ = SMTPMetrics(); _ = BackupMetrics()
        let families = Self.exposition.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(!families.isEmpty)
        for family in families {
            #expect(family.hasPrefix("sealbox_") && !family.contains("."), "\(family)")
        }
    }

    @Test("/readyz's listener check: every listener expected must have bound, each named once")
    func readiness() {
        let readiness = ListenerReadiness()
        #expect(readiness.problems.isEmpty)
        for name in ["imap", "imaps", "smtp", "imap"] { readiness.expect(name) }
        readiness.bound("imaps")
        #expect(readiness.problems == ["listener not bound: imap", "listener not bound: smtp"])
        readiness.bound("imap"); readiness.bound("smtp")
        #expect(readiness.problems.isEmpty)
    }

    @Test("the session summary: protocol, listener, ip, user escaped, duration, commands, bytes, how it ended")
    func sessionSummary() {
        let started = ContinuousClock.now
        let meter = SessionMeter(started: started)
        meter.countCommand(); meter.countCommand()
        meter.received(10); meter.sent(25)
        meter.account = "user@example.com"
        meter.ended(.idleTimeout)
        meter.ended(.quit)  // the first reason stands
        let summary = meter.summary(protocolName: "imap", listener: "imaps", ip: "127.0.0.1", now: started + .milliseconds(1500))
        #expect(summary == [
            "session.protocol": "imap", "session.listener": "imaps", "session.ip": "127.0.0.1", "session.duration": "1.5s",
            "session.commands": "2", "session.bytes.in": "10", "session.bytes.out": "25", "session.end": "idle-timeout",
            "session.user": "user@example.com",
        ])
        let anonymous = SessionMeter(started: started).summary(protocolName: "smtp", listener: "smtp", ip: "::1", now: started)
        #expect(anonymous["session.user"] == nil && anonymous["session.end"] == "disconnected")
    }
}

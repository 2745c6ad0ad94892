import Foundation
import TestSupport
import Testing

/// The web pages and autoconfiguration of a real `sealbox serve` (HTTPS on its self-signed
/// certificate): without a browser (Clients/web_checks.py: autoconfig and Autodiscover XML parsed
/// and checked against the listeners, security headers, CSRF refusals, sign-in as a browser
/// without JavaScript does), and in a real browser (Clients/web_browser.py: Debian's chromium and
/// chromedriver through selenium, headless; a generated password used over IMAP and revoked;
/// the admin's pages; screenshots checked, and saved to docs/screenshots with SEALBOX_UPDATE_SCREENSHOTS=1).
@Suite("Web pages and autoconfiguration against sealbox serve", .serialized)
struct WebServeTests {
    static let hasPython = ScriptRunner.has(ScriptRunner.python)
    static let hasBrowser = hasPython && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
        && ScriptRunner.runBlockingOK([ScriptRunner.python, "-c", "import selenium"])
    static let hostname = "mail.example.com"
    /// docs/screenshots (the README shows them) when SEALBOX_UPDATE_SCREENSHOTS=1; else a temporary
    /// directory, so that a test run leaves the working tree as it was.
    static let screenshots: String = ProcessInfo.processInfo.environment["SEALBOX_UPDATE_SCREENSHOTS"] == "1"
        ? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/screenshots").path
        : NSTemporaryDirectory() + "sealbox-screenshots-\(getpid())"

    func run(_ what: String, _ args: [String], timeout: Duration = .seconds(300)) async throws -> String {
        let result = try await ScriptRunner.run(ScriptRunner.python, args, timeout: timeout)
        if !result.ok { Attachment.record(result.output, named: "\(what).txt") }
        #expect(result.ok, "\(what) exited \(result.status)\(result.timedOut ? " (timed out)" : ""):\n\(RealClientTests.tail(result.output))")
        return result.output
    }

    func ports(_ server: ServerHarness, _ port: Int) -> [String] {
        ["--port", String(port), "--address", server.address, "--password", server.password, "--imaps", String(server.imapsPort)]
    }

    @Test("autoconfig, Autodiscover and the pages without a browser: XML checked against the listeners, headers, CSRF refused",
          .enabled(if: hasPython, "python3 is not installed"))
    func withoutBrowser() async throws {
        let server = try await ServerHarness(environment: ["SEALBOX_SERVER_HOSTNAME": Self.hostname])
        defer { server.stop() }
        let port = try await server.webPort()
        let delivered = try await server.deliver(Array("From: a@example.org\r\nTo: \(server.address)\r\nSubject: web export\r\n\r\nhello\r\n".utf8))
        #expect(delivered.ok, "deliver: \(delivered.stderr)")
        let output = try await run("web_checks", ["web_checks.py"] + ports(server, port) + [
            "--hostname", Self.hostname, "--imap", String(server.imapPort),
            "--submissions", String(server.submissionsPort), "--submission", String(server.submissionPort)])
        #expect(output.contains("all web checks passed"))
    }

    @Test("chromium (headless, selenium): sign in, generate a password, use it over IMAP, revoke it; admin pages; no JavaScript; screenshots",
          .enabled(if: hasBrowser, "chromium, chromium-driver or selenium is not installed (scripts/setup-test-deps.sh)"))
    func browser() async throws {
        // An authoritative DNS server for the domain with its MX only: the live check finds the MX
        // and reports the other records missing.
        let dns = TestDNSServer.isAvailable
            ? try await TestDNSServer(zones: [.init("example.com", records: "@ IN MX 10 mail\nmail IN A 127.0.0.1")]) : nil
        defer { dns?.stop() }
        var environment = ["SEALBOX_SERVER_HOSTNAME": Self.hostname]
        if let dns {
            environment["SEALBOX_DNS_SERVERS"] = dns.server
            environment["SEALBOX_DNS_TRUST_ANCHOR"] = "none"
            environment["SEALBOX_DNS_TIMEOUT"] = "2"
        }
        var adminToken: String?
        let server = try await ServerHarness(environment: environment) { cli in
            // `sealbox admin token create` prints the token (once) on its own line.
            let made = try await cli.run(["admin", "token", "create", "--label", "web-test"])
            if made.ok {
                adminToken = made.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                    .last { !$0.isEmpty && !$0.contains(" ") }
            }
        }
        defer { server.stop() }
        let port = try await server.webPort()
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        let output = try await run("web_browser", ["web_browser.py"] + ports(server, port) + ["--screenshots", Self.screenshots]
                                   + (adminToken.map { ["--admin-token", $0] } ?? []) + (dns != nil ? ["--dns-served"] : []))
        #expect(output.contains("all browser checks passed"))
        #expect(output.contains("IMAP login with the revoked password fails"))
        if adminToken != nil {
            #expect(output.contains("admin-domain-check.png saved"))
            if dns != nil { #expect(output.contains("the live check finds the published MX")) }
        }
        for name in ["signin", "account", "account-new-password", "account-new-password-nojs"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(Self.screenshots)/\(name).png")[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name).png")
        }
    }
}

extension ServerHarness {
    /// The HTTPS listener's port, from its `listening: https 127.0.0.1:PORT` line (bounded wait).
    func webPort() async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let port = Self.port(in: log, service: "https") ?? Self.port(in: log, service: "http") { return port }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw StartError(description: "serve printed no https listening line:\n\(log)")
    }
}

extension ScriptRunner {
    /// Whether a quick command exits 0 (for a test's `.enabled(if:)`).
    static func runBlockingOK(_ command: [String]) -> Bool {
        guard let first = command.first, has(first) else { return false }
        return (try? runBlocking(first, Array(command.dropFirst()), timeout: .seconds(30)).ok) ?? false
    }
}

import Foundation
import Testing

/// Real senders (Python smtplib and raw sockets, swaks) against `sealbox serve`'s MX on 127.0.0.1,
/// with imaplib checking what arrived. Each test starts a server on a fresh data directory.
@Suite("real SMTP clients against sealbox serve", .serialized)
struct SMTPClientTests {
    static let hasPython = ScriptRunner.has(ScriptRunner.python)
    static let maxSize = 300_000
    static let maxConnections = 5

    /// A server with `user@example.com` (quota 1G), `other@example.com` (its own mailbox) and
    /// `small@example.com` (a 1 KiB quota: always over it), SIZE limited to `maxSize`.
    static func server() async throws -> (ServerHarness, otherPassword: String) {
        var other = ""
        let server = try await ServerHarness(environment: ["SEALBOX_SMTP_MAX_MESSAGE_SIZE": String(maxSize),
                                                     "SEALBOX_SMTP_MAX_CONNECTIONS_PER_IP": String(maxConnections)]) { cli in
            _ = try await cli.run(["alias", "add", "other@example.com"])
            other = try await cli.run(["password", "generate", "other@example.com"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await cli.run(["alias", "add", "small@example.com", "--quota", "1K"])
            let small = try await cli.run(["password", "generate", "small@example.com"])
            guard small.ok, !other.isEmpty else { throw ServerHarness.StartError(description: "setup failed: \(small.stderr)") }
        }
        return (server, other)
    }

    func suite(_ server: ServerHarness, other: String, only: String? = nil) async throws -> ScriptRunner.Result {
        var args = ["smtp_suite.py", "--host", server.host, "--smtp-port", String(server.smtpPort), "--imap-port", String(server.imapPort),
                    "--user", server.address, "--password", server.password, "--other-user", "other@example.com",
                    "--other-password", other, "--small-user", "small@example.com", "--max-size", String(Self.maxSize), "--max-connections", String(Self.maxConnections)]
        if let cert = server.certificatePath { args += ["--cafile", cert] }
        if let only { args += ["--only", only] }
        return try await ScriptRunner.run(ScriptRunner.python, args, timeout: .seconds(300))
    }

    @Test("smtplib and raw sockets: single and many recipients, PIPELINING, BDAT, SMTPUTF8, STARTTLS, oversize, refusals, smuggling, loops, malformed commands, IDLE, the per-IP connection limit",
          .enabled(if: hasPython, "python3 is not installed"))
    func smtplibSuite() async throws {
        let (server, other) = try await Self.server()
        defer { #expect(server.stop(), "serve stops on SIGTERM") }
        let result = try await suite(server, other: other)
        if !result.ok { Attachment.record(result.output, named: "smtp_suite.txt") }
        #expect(result.ok, "smtp_suite exited \(result.status):\n\(RealClientTests.tail(result.output))")
        print(result.output.split(separator: "\n").filter { $0.hasPrefix("idle:") }.joined(separator: "\n"))
    }

    @Test("swaks: plain, pipelined, STARTTLS with the certificate verified, an attachment, refused recipients, raw bare-LF data",
          .enabled(if: ScriptRunner.has("swaks") && hasPython, "swaks is not installed"))
    func swaks() async throws {
        let (server, other) = try await Self.server()
        defer { server.stop() }
        var args = ["swaks_suite.sh", "--host", server.host, "--port", String(server.smtpPort), "--imap-port", String(server.imapPort),
                    "--user", server.address, "--password", server.password]
        if let cert = server.certificatePath { args += ["--cafile", cert] }
        _ = other
        let result = try await ScriptRunner.run("bash", args, timeout: .seconds(300))
        if !result.ok { Attachment.record(result.output, named: "swaks_suite.txt") }
        #expect(result.ok, "swaks_suite exited \(result.status):\n\(RealClientTests.tail(result.output))")
    }
}

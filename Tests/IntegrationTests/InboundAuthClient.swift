import Foundation
import TestSupport
import Testing

/// `sealbox serve` as an MX with inbound authentication on (hostname mx.example.org, IMAP and SMTP
/// on loopback), and Clients/inbound_auth.py driving it: what InboundAuthServeTests and
/// PostfixOpenDKIMTests share.
enum InboundAuthClient {
    static let script = ScriptRunner.clientsDirectory + "/inbound_auth.py"

    /// An SMTP reply, as inbound_auth.py's `send` prints it.
    struct Reply: Decodable { var code: Int; var text: String? }
    /// A folder's messages, as inbound_auth.py's `folder` prints them.
    struct Listing: Decodable {
        struct Message: Decodable { var subject: String?; var ar: [String]; var received: String }
        var messages: [Message]
    }

    /// Starts `serve` on `dataDir` with `environment` (DNS settings and the like; the hostname and
    /// `SEALBOX_AUTH_ENABLED=true` unless given); its SMTP and IMAP ports. A server that does not
    /// start within 60 s is killed.
    static func serve(_ dataDir: String, environment: [String: String]) throws -> (process: ChildHandle, smtp: Int, imap: Int) {
        let (process, output) = try ServeProcess.launch(
            ["serve", "--data-dir", dataDir, "--imap-port", "auto", "--imaps-port", "off", "--pop3-port", "off", "--pop3s-port", "off",
             "--smtp-port", "auto", "--submission-port", "off", "--submissions-port", "off", "--listen", "127.0.0.1", "--allow-insecure-auth"],
            environment: environment.merging(["SEALBOX_SERVER_HOSTNAME": "mx.example.org", "SEALBOX_AUTH_ENABLED": "true"]) { own, _ in own })
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, process.isRunning,
              ServerHarness.port(in: output.text, service: "smtp") == nil || ServerHarness.port(in: output.text, service: "imap") == nil {
            usleep(50_000)
        }
        guard let smtp = ServerHarness.port(in: output.text, service: "smtp"), let imap = ServerHarness.port(in: output.text, service: "imap") else {
            ServeProcess.kill9(process)
            throw ServerHarness.StartError(description: "serve did not start: \(output.text)")
        }
        return (process, smtp, imap)
    }

    /// Sends one message to `rcpt` through the SMTP server at `port` (smtplib; signed by dkimpy for
    /// each `sign` spec `DOMAIN:SELECTOR:ALG:KEYB64`); the server's reply.
    static func send(port: Int, from: String, subject: String, rcpt: String = "user@example.org", helo: String = "client.good.example",
                     mailFrom: String? = nil, sign: [String] = [], headers: [String] = [], timeout: Duration = .seconds(90)) async throws -> Reply {
        var args = [script, "send", "--port", String(port), "--helo", helo, "--mail-from", mailFrom ?? from,
                    "--rcpt", rcpt, "--from", from, "--subject", subject]
        for s in sign { args += ["--sign", s] }
        for h in headers { args += ["--header", h] }
        let r = try await ScriptRunner.run(ScriptRunner.python, args, timeout: timeout)
        #expect(r.ok, "send: \(r.output)")
        let line = r.output.split(separator: "\n").first.map(String.init) ?? ""
        return try JSONDecoder().decode(Reply.self, from: Data(line.utf8))
    }

    /// The messages of user@example.org's folder `name`, over IMAP.
    static func folder(port: Int, password: String, _ name: String) async throws -> [Listing.Message] {
        let r = try await ScriptRunner.run(ScriptRunner.python, [script, "folder", "--port", String(port), "--user", "user@example.org",
                                                                 "--password", password, "--folder", name], timeout: .seconds(60))
        #expect(r.ok, "folder: \(r.output)")
        let line = r.output.split(separator: "\n").first.map(String.init) ?? ""
        return try JSONDecoder().decode(Listing.self, from: Data(line.utf8)).messages
    }
}

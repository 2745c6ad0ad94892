import Foundation
import Outbound
import Testing

@Suite("SMTPRelayClient against aiosmtpd on 127.0.0.1")
struct SMTPRelayClientTests {
    typealias Client = SMTPRelayClient

    /// Lines beginning with ".", a line that is only ".", 8-bit text, CRLF throughout.
    static let tricky: [UInt8] = Array((
        "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: dots\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
        ".leading dot\r\n.\r\n..two dots\r\nnot a dot . in the middle\r\n. space after dot\r\nnaïve café\r\n\r\n" +
        ".\r\nlast line\r\n").utf8)

    func configuration(_ port: Int) -> Client.Configuration {
        var c = Client.Configuration(host: "127.0.0.1", port: port)
        c.heloName = "relay.sealbox.test"
        c.commandTimeout = .seconds(20)
        c.connectTimeout = .seconds(10)
        return c
    }

    @Test("plain SMTP: byte-exact delivery, dots unstuffed as sent, BODY=8BITMIME and SIZE")
    func plainDelivery() async throws {
        try await withSMTPServer { server, _ in
            let client = Client(configuration: configuration(server.port))
            let results = try await client.send(from: "alice@example.org", recipients: ["bob@example.net", "carol@example.net"],
                                                message: Self.tricky)
            #expect(results == ["bob@example.net": .accepted, "carol@example.net": .accepted])
            let got = try server.received()
            try #require(got.count == 1)
            #expect(got[0].message == Self.tricky)
            #expect(got[0].mailFrom == "alice@example.org")
            #expect(got[0].rcptTo == ["bob@example.net", "carol@example.net"])
            #expect(got[0].mailOptions.contains("BODY=8BITMIME"))
            #expect(got[0].mailOptions.contains("SIZE=\(Self.tricky.count)"))
            #expect(!got[0].mailOptions.contains("SMTPUTF8"))
            #expect(!got[0].tls)
        }
    }

    @Test("a message without a final line break gets CRLF before the terminating dot; bare LF becomes CRLF")
    func lineEndings() async throws {
        try await withSMTPServer(["--pipelining"]) { server, _ in
            let message = Array("Subject: x\n\nline one\nline two".utf8)
            _ = try await Client(configuration: configuration(server.port))
                .send(from: "a@example.org", recipients: ["b@example.net"], message: message)
            let got = try server.received()
            try #require(got.count == 1)
            #expect(got[0].message == Array("Subject: x\r\n\r\nline one\r\nline two\r\n".utf8))
        }
    }

    @Test("SMTPUTF8 is used when the envelope is not ASCII")
    func smtputf8() async throws {
        try await withSMTPServer { server, _ in
            let message = Array("From: José <josé@exämple.org>\r\nSubject: ünïcode\r\n\r\nbody\r\n".utf8)
            let results = try await Client(configuration: configuration(server.port))
                .send(from: "josé@exämple.org", recipients: ["zoë@example.net"], message: message)
            #expect(results == ["zoë@example.net": .accepted])
            let got = try server.received()
            try #require(got.count == 1)
            #expect(got[0].mailOptions.contains("SMTPUTF8"))
            #expect(got[0].mailFrom == "josé@exämple.org")
            #expect(got[0].message == message)
        }
    }

    @Test("rejected (550) and temporarily rejected (452) recipients, with and without PIPELINING", arguments: [false, true])
    func rejectedRecipients(pipelining: Bool) async throws {
        let args = ["--reject", "nobody@example.net", "--tempfail", "full@example.net"] + (pipelining ? ["--pipelining"] : [])
        try await withSMTPServer(args) { server, _ in
            let results = try await Client(configuration: configuration(server.port))
                .send(from: "a@example.org", recipients: ["nobody@example.net", "ok@example.net", "full@example.net"],
                      message: Self.tricky)
            #expect(results["ok@example.net"] == .accepted)
            guard case .rejected(let code, let enhanced, let text)? = results["nobody@example.net"] else {
                Issue.record("nobody@example.net not rejected: \(String(describing: results))"); return
            }
            #expect(code == 550)
            #expect(enhanced == "5.1.1")
            #expect(text.contains("no such user"))
            guard case .rejected(let code2, let enhanced2, _)? = results["full@example.net"] else {
                Issue.record("full@example.net not rejected"); return
            }
            #expect(code2 == 452)
            #expect(enhanced2 == "4.2.2")
            let got = try server.received()
            try #require(got.count == 1)
            #expect(got[0].rcptTo == ["ok@example.net"])
            #expect(got[0].message == Self.tricky)
        }
    }

    @Test("every recipient rejected: no DATA, results returned")
    func allRejected() async throws {
        try await withSMTPServer(["--reject", "x@example.net", "--pipelining"]) { server, _ in
            let results = try await Client(configuration: configuration(server.port))
                .send(from: "a@example.org", recipients: ["x@example.net"], message: Self.tricky)
            #expect(results == ["x@example.net": .rejected(code: 550, enhanced: "5.1.1",
                                                             text: "<x@example.net>: Recipient address rejected: no such user")])
            let received = try server.received()
            #expect(received.isEmpty)
        }
    }

    @Test("STARTTLS with the self-signed certificate trusted through trustRoots")
    func startTLS() async throws {
        try await withSMTPServer(certificate: true) { server, certs in
            var config = configuration(server.port)
            config.security = .starttls
            config.trustRoots = [certs!.cert]
            let results = try await Client(configuration: config)
                .send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            #expect(results == ["b@example.net": .accepted])
            let got = try server.received()
            try #require(got.count == 1)
            #expect(got[0].tls)
            #expect(got[0].message == Self.tricky)
        }
    }

    @Test("STARTTLS fails (temporarily) when the certificate is not trusted, and when it is not offered")
    func startTLSFailures() async throws {
        try await withSMTPServer(certificate: true) { server, _ in
            var config = configuration(server.port)
            config.security = .starttls
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await Client(configuration: config).send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            }
            #expect(error?.permanent == false)
            let received = try server.received()
            #expect(received.isEmpty)

            config.verifyCertificate = false
            let results = try await Client(configuration: config)
                .send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            #expect(results == ["b@example.net": .accepted])
        }
        try await withSMTPServer { server, _ in
            var config = configuration(server.port)
            config.security = .starttls
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await Client(configuration: config).send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            }
            #expect(error?.permanent == false)
            #expect(error?.description.contains("STARTTLS") == true)
            let received = try server.received()
            #expect(received.isEmpty)
        }
    }

    @Test("implicit TLS")
    func implicitTLS() async throws {
        try await withSMTPServer(["--implicit-tls"], certificate: true) { server, certs in
            var config = configuration(server.port)
            config.security = .tls
            config.trustRoots = [certs!.cert]
            let results = try await Client(configuration: config)
                .send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            #expect(results == ["b@example.net": .accepted])
            let got = try server.received()
            try #require(got.count == 1)
            #expect(got[0].tls)
            #expect(got[0].message == Self.tricky)
        }
    }

    @Test("AUTH after STARTTLS: a wrong password fails permanently (535) without showing it; the right one is used",
          arguments: [[], ["--auth-exclude", "PLAIN"]])
    func authentication(extra: [String]) async throws {
        let secret = "s3cret-Pa55word"
        try await withSMTPServer(["--auth", "relayuser:\(secret)"] + extra, certificate: true) { server, certs in
            var config = configuration(server.port)
            config.security = .starttls
            config.trustRoots = [certs!.cert]
            config.username = "relayuser"
            config.password = "wrong-\(secret)"
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await Client(configuration: config).send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            }
            #expect(error?.permanent == true)
            #expect(error?.code == 535)
            #expect(error?.description.contains(secret) == false)
            #expect(!String(describing: config).contains(secret))
            #expect(!String(reflecting: config).contains(secret))
            var dumped = ""
            dump(config, to: &dumped)
            #expect(!dumped.contains(secret))
            let received = try server.received()
            #expect(received.isEmpty)

            config.password = secret
            let results = try await Client(configuration: config)
                .send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            #expect(results == ["b@example.net": .accepted])
            let got = try server.received()
            try #require(got.count == 1)
            #expect(got[0].login == "relayuser")
            #expect(got[0].tls)
        }
    }

    @Test("a reply to MAIL FROM other than 2xx throws: 5xx permanent, 4xx temporary", arguments: [
        ("550 5.7.1 sender rejected", true, 550), ("451 4.3.0 try again later", false, 451),
    ])
    func mailRejected(reply: String, permanent: Bool, code: Int) async throws {
        try await withSMTPServer(["--mail-reply", reply, "--pipelining"]) { server, _ in
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await Client(configuration: configuration(server.port))
                    .send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            }
            #expect(error?.permanent == permanent)
            #expect(error?.code == code)
            #expect(error?.description.contains(reply) == true)
            let received = try server.received()
            #expect(received.isEmpty)
        }
    }

    @Test("a message larger than the server's SIZE is refused before MAIL FROM, permanently")
    func tooLarge() async throws {
        try await withSMTPServer { server, _ in
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await Client(configuration: configuration(server.port))
                    .send(from: "a@example.org", recipients: ["b@example.net"], message: Array(repeating: 0x41, count: 33_554_433))
            }
            #expect(error?.permanent == true)
        }
    }

    @Test("no server listening: a temporary error")
    func connectionRefused() async throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await SMTPTestServer.start([], in: dir)
        let port = server.port
        await server.stop()
        let error = await #expect(throws: Client.RelayError.self) {
            _ = try await Client(configuration: configuration(port)).send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
        }
        #expect(error?.permanent == false)
        #expect(error?.code == nil)
    }

    @Test("8-bit content to a server without 8BITMIME is refused for good, before MAIL; 7-bit content goes")
    func no8BitMIME() async throws {
        try await withSMTPServer(["--no-8bitmime"]) { server, _ in
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await Client(configuration: configuration(server.port)).send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            }
            #expect(error?.permanent == true && error?.description.contains("8BITMIME") == true, "\(error?.description ?? "")")
            let ascii = Array("From: a@example.org\r\nSubject: plain\r\n\r\nonly ASCII\r\n".utf8)
            let results = try await Client(configuration: configuration(server.port)).send(from: "a@example.org", recipients: ["b@example.net"], message: ascii)
            #expect(results == ["b@example.net": .accepted])
            #expect(try server.received().count == 1 && !server.received()[0].mailOptions.contains("BODY=8BITMIME"))
        }
    }

    @Test("a server that never answers the end of DATA: a temporary timeout error")
    func timeout() async throws {
        try await withSMTPServer(["--stall-data"]) { server, _ in
            var config = configuration(server.port)
            config.commandTimeout = .seconds(1)
            let start = ContinuousClock.now
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await Client(configuration: config).send(from: "a@example.org", recipients: ["b@example.net"], message: Self.tricky)
            }
            #expect(error?.permanent == false)
            #expect(error?.description.contains("timed out") == true, "\(error?.description ?? "")")
            #expect(ContinuousClock.now - start < .seconds(15))
        }
    }

    @Test("envelope addresses with CR, LF or angle brackets are refused before connecting")
    func injection() async throws {
        let client = Client(configuration: configuration(1))
        for bad in ["a@example.org>\r\nRCPT TO:<evil@example.net", "a@example.org\n", "<a@example.org>"] {
            let error = await #expect(throws: Client.RelayError.self) {
                _ = try await client.send(from: bad, recipients: ["b@example.net"], message: Self.tricky)
            }
            #expect(error?.permanent == true)
        }
    }
}

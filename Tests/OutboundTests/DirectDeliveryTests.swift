import Foundation
import Outbound
import Testing

/// Fixed DNS answers: MX records per domain (nil: none), addresses per host; names listed in
/// `nonexistent` are NXDOMAIN, in `failing` SERVFAIL.
struct FixedResolver: DeliveryResolver {
    var mx: [String: [MailExchanger]] = [:]
    var hosts: [String: [String]] = [:]
    var nonexistent: Set<String> = []
    var failing: Set<String> = []

    func mailExchangers(of domain: String) async throws -> [MailExchanger]? {
        if nonexistent.contains(domain) { throw DeliveryDNSError(permanent: true, description: "\(domain) does not exist (NXDOMAIN)") }
        if failing.contains(domain) { throw DeliveryDNSError(permanent: false, description: "SERVFAIL") }
        return mx[domain]
    }

    func addresses(of host: String) async throws -> [String] {
        if nonexistent.contains(host) { throw DeliveryDNSError(permanent: true, description: "\(host) does not exist (NXDOMAIN)") }
        return hosts[host] ?? []
    }
}

/// Direct delivery to MX hosts (RFC 5321 §5, RFC 7505, RFC 7435) against aiosmtpd servers on
/// 127.0.0.x loopback addresses sharing one port, the way MX hosts share port 25.
@Suite("direct delivery to MX hosts", .serialized)
struct DirectDeliveryTests {
    let message = Array("From: a@example.org\r\nTo: b@dest.test\r\nSubject: direct\r\n\r\nHello over port 25.\r\n".utf8)

    func delivery(_ resolver: FixedResolver, port: Int) -> DirectDelivery {
        var c = DirectDelivery.Configuration(heloName: "mx.example.org")
        c.port = port
        c.connectTimeout = .seconds(5)
        c.commandTimeout = .seconds(20)
        return DirectDelivery(configuration: c, resolver: resolver)
    }

    /// Starts a test server on `host` (and `port`, 0 for any) in its own directory.
    func server(_ host: String, port: Int = 0, _ arguments: [String] = [], certificate: Bool = false) async throws -> (SMTPTestServer, URL) {
        let dir = try TestEnvironment.temporaryDirectory()
        var args = ["--host", host, "--port", String(port)] + arguments
        if certificate {
            let certs = try await TestEnvironment.makeCertificate(in: dir)
            args += ["--cert", certs.cert, "--key", certs.key]
        }
        return (try await SMTPTestServer.start(args, in: dir), dir)
    }

    @Test("MX by preference: a dead first host is passed over; all recipients of the domain in one session, over opportunistic STARTTLS")
    func preferenceAndTLS() async throws {
        let (up, dir) = try await server("127.0.0.2", certificate: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let resolver = FixedResolver(mx: ["dest.test": [MailExchanger(preference: 20, host: "up.dest.test."),
                                                        MailExchanger(preference: 10, host: "down.dest.test.")]],
                                     hosts: ["up.dest.test": ["127.0.0.2"], "down.dest.test": ["127.0.0.9"]])
        let outcomes = await delivery(resolver, port: up.port).deliver(from: "a@example.org", to: ["b@dest.test", "c@dest.test"],
                                                                       domain: "dest.test", message: message)
        await up.stop()
        #expect(outcomes == ["b@dest.test": .delivered(host: "up.dest.test", tls: true), "c@dest.test": .delivered(host: "up.dest.test", tls: true)])
        let received = try up.received()
        #expect(received.count == 1)
        #expect(received.first?.rcptTo == ["b@dest.test", "c@dest.test"] && received.first?.tls == true)
        #expect(received.first?.envelope["helo"] as? String == "mx.example.org")
    }

    @Test("no MX: the domain's own address, in clear when STARTTLS is not offered; null MX, NXDOMAIN and SERVFAIL")
    func implicitMXAndDNSOutcomes() async throws {
        let (plain, dir) = try await server("127.0.0.3")
        defer { try? FileManager.default.removeItem(at: dir) }
        let resolver = FixedResolver(mx: ["nullmx.test": [MailExchanger(preference: 0, host: ".")]],
                                     hosts: ["dest.test": ["127.0.0.3"]],
                                     nonexistent: ["gone.test"], failing: ["flaky.test"])
        let d = delivery(resolver, port: plain.port)
        #expect(await d.deliver(from: "a@example.org", to: ["b@dest.test"], domain: "dest.test", message: message)
                == ["b@dest.test": .delivered(host: "dest.test", tls: false)])
        await plain.stop()
        #expect(try plain.received().count == 1)
        let nullMX = await d.deliver(from: "a@example.org", to: ["x@nullmx.test"], domain: "nullmx.test", message: message)
        guard case .failed(let status, _) = nullMX["x@nullmx.test"] else { Issue.record("\(nullMX)"); return }
        #expect(status == "5.1.10")
        let gone = await d.deliver(from: "a@example.org", to: ["x@gone.test"], domain: "gone.test", message: message)
        guard case .failed("5.1.2", _) = gone["x@gone.test"] else { Issue.record("\(gone)"); return }
        let flaky = await d.deliver(from: "a@example.org", to: ["x@flaky.test"], domain: "flaky.test", message: message)
        guard case .deferred = flaky["x@flaky.test"] else { Issue.record("\(flaky)"); return }
        // Every host down: deferred with the last error.
        let down = await d.deliver(from: "a@example.org", to: ["b@dest.test"], domain: "dest.test", message: message)
        guard case .deferred(let why) = down["b@dest.test"] else { Issue.record("\(down)"); return }
        #expect(why.contains("127.0.0.3"), "\(why)")
    }

    @Test("per recipient: 5xx fails, 4xx defers, others delivered; a 5xx greeting passes to the next MX; a refused MAIL fails all")
    func replies() async throws {
        let (refusing, dir1) = try await server("127.0.0.2", ["--greeting-reply", "554 5.3.2 not accepting mail"])
        defer { try? FileManager.default.removeItem(at: dir1) }
        let (picky, dir2) = try await server("127.0.0.3", port: refusing.port, ["--reject", "nobody@dest.test", "--tempfail", "full@dest.test"])
        defer { try? FileManager.default.removeItem(at: dir2) }
        let resolver = FixedResolver(mx: ["dest.test": [MailExchanger(preference: 5, host: "a.dest.test"), MailExchanger(preference: 10, host: "b.dest.test")]],
                                     hosts: ["a.dest.test": ["127.0.0.2"], "b.dest.test": ["127.0.0.3"]])
        let outcomes = await delivery(resolver, port: refusing.port).deliver(
            from: "a@example.org", to: ["ok@dest.test", "nobody@dest.test", "full@dest.test"], domain: "dest.test", message: message)
        await picky.stop()
        #expect(outcomes["ok@dest.test"] == .delivered(host: "b.dest.test", tls: false))
        guard case .failed("5.1.1", _) = outcomes["nobody@dest.test"] else { Issue.record("\(outcomes)"); return }
        guard case .deferred = outcomes["full@dest.test"] else { Issue.record("\(outcomes)"); return }
        #expect(try picky.received().first?.rcptTo == ["ok@dest.test"])

        let (refusesMail, dir3) = try await server("127.0.0.3", port: refusing.port, ["--mail-reply", "550 5.7.1 sender refused"])
        defer { try? FileManager.default.removeItem(at: dir3) }
        let refused = await delivery(resolver, port: refusing.port).deliver(from: "a@example.org", to: ["ok@dest.test"], domain: "dest.test", message: message)
        await refusesMail.stop()
        await refusing.stop()
        guard case .failed("5.7.1", _) = refused["ok@dest.test"] else { Issue.record("\(refused)"); return }
    }

    @Test("recipients grouped by domain (case and IDNA folded); equal preferences shuffled, lower ones first")
    func grouping() {
        let groups = DirectDelivery.byDomain(["a@X.test", "b@y.test", "c@x.TEST", "d@bücher.test"])
        #expect(groups.map(\.domain) == ["x.test", "y.test", "xn--bcher-kva.test"])
        #expect(groups[0].recipients == ["a@X.test", "c@x.TEST"])
        var firsts: Set<String> = []
        for _ in 0..<50 {
            let order = DirectDelivery.orderedForTesting([MailExchanger(preference: 20, host: "c"), MailExchanger(preference: 10, host: "a"),
                                                          MailExchanger(preference: 10, host: "b")])
            #expect(order.last?.host == "c")
            firsts.insert(order[0].host)
        }
        #expect(firsts == ["a", "b"], "both equal hosts come first sometimes")
    }
}

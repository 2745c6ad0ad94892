import DNSCore
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
    /// DNSSEC: MX answers of these domains are secure; TLSA records by host (secure).
    var secure: Set<String> = []
    var tlsa: [String: [TLSARecord]] = [:]

    func mailExchangers(of domain: String) async throws -> MXAnswer {
        if nonexistent.contains(domain) { throw DeliveryDNSError(permanent: true, description: "\(domain) does not exist (NXDOMAIN)") }
        if failing.contains(domain) { throw DeliveryDNSError(permanent: false, description: "SERVFAIL") }
        return MXAnswer(exchangers: mx[domain], secure: secure.contains(domain))
    }

    func tlsa(port: Int, host: String) async throws -> (records: [TLSARecord], secure: Bool) {
        if failing.contains(host) { throw DeliveryDNSError(permanent: false, description: "SERVFAIL") }
        return (tlsa[host] ?? [], true)
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
    func server(_ host: String, port: Int = 0, _ arguments: [String] = [], certificate: Bool = false,
                certificateName: String? = nil) async throws -> (SMTPTestServer, URL) {
        let dir = try TestEnvironment.temporaryDirectory()
        var args = ["--host", host, "--port", String(port)] + arguments
        if certificate || certificateName != nil {
            let certs = try await TestEnvironment.makeCertificate(in: dir, name: certificateName)
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
        #expect(outcomes == ["b@dest.test": .delivered(host: "up.dest.test", security: .opportunistic), "c@dest.test": .delivered(host: "up.dest.test", security: .opportunistic)])
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
                == ["b@dest.test": .delivered(host: "dest.test", security: .none)])
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
        #expect(outcomes["ok@dest.test"] == .delivered(host: "b.dest.test", security: .none))
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

    @Test("MTA-STS enforce: verified TLS to a policy host delivers; a wrong certificate, no STARTTLS or a host outside the policy defers and sends nothing")
    func mtaSTSEnforce() async throws {
        let (good, dir1) = try await server("127.0.0.2", certificateName: "mx.dest.test")
        defer { try? FileManager.default.removeItem(at: dir1) }
        let (wrongName, dir2) = try await server("127.0.0.3", port: good.port, certificateName: "other.example")
        defer { try? FileManager.default.removeItem(at: dir2) }
        let (plain, dir3) = try await server("127.0.0.4", port: good.port)
        defer { try? FileManager.default.removeItem(at: dir3) }
        let policyText = "version: STSv1\r\nmode: enforce\r\nmx: mx.dest.test\r\nmx: *.mail.dest.test\r\nmax_age: 86400\r\n"
        let cache = MTASTSPolicyCache(txt: { name in name == "_mta-sts.dest.test" ? ["v=STSv1; id=1"] : [] },
                                      fetch: { _ in policyText })
        func deliver(_ mx: String, _ address: String, trust: [String]) async -> DirectDelivery.Outcome? {
            var c = DirectDelivery.Configuration(heloName: "mx.example.org")
            c.port = good.port
            c.connectTimeout = .seconds(5)
            c.commandTimeout = .seconds(20)
            c.trustRoots = trust
            let resolver = FixedResolver(mx: ["dest.test": [MailExchanger(preference: 10, host: mx)]], hosts: [mx: [address]])
            return await DirectDelivery(configuration: c, resolver: resolver, mtaSTS: cache)
                .deliver(from: "a@example.org", to: ["b@dest.test"], domain: "dest.test", message: message)["b@dest.test"]
        }
        let goodCA = dir1.appendingPathComponent("cert.pem").path, wrongCA = dir2.appendingPathComponent("cert.pem").path
        #expect(await deliver("mx.dest.test", "127.0.0.2", trust: [goodCA]) == .delivered(host: "mx.dest.test", security: .mtaSTS))
        // The same host with a certificate nobody vouches for: deferred, never sent in clear.
        guard case .deferred = await deliver("mx.dest.test", "127.0.0.2", trust: []) else { Issue.record("untrusted certificate"); return }
        // A trusted certificate for another name.
        guard case .deferred = await deliver("mx.dest.test", "127.0.0.3", trust: [wrongCA]) else { Issue.record("wrong name"); return }
        // No STARTTLS at all.
        guard case .deferred = await deliver("mx.dest.test", "127.0.0.4", trust: [goodCA]) else { Issue.record("plain host"); return }
        // An MX the policy does not list.
        guard case .deferred(let why) = await deliver("evil.example", "127.0.0.2", trust: [goodCA]) else { Issue.record("outside policy"); return }
        #expect(why.contains("MTA-STS"))
        await good.stop(); await wrongName.stop(); await plain.stop()
        #expect(try good.received().count == 1 && good.received()[0].tls)
        #expect(try wrongName.received().isEmpty && plain.received().isEmpty)
    }
}

/// DANE for SMTP (RFC 7672) with certificates made by openssl and TLSA data computed by openssl.
@Suite("DANE (RFC 7672)", .serialized)
struct DANETests {
    let message = Array("From: a@example.org\r\nTo: b@dest.test\r\nSubject: dane\r\n\r\nHello.\r\n".utf8)

    func sh(_ script: String) async throws -> String {
        let r = try await TestEnvironment.run("/bin/sh", ["-c", script])
        guard r.status == 0 else { throw TestChild.Failure(description: "sh failed: \(r.stderr)") }
        return String(decoding: r.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = [], chars = Array(text)
        while chars.count >= 2 { out.append(UInt8(String(chars[0..<2]), radix: 16)!); chars.removeFirst(2) }
        return out
    }

    /// A CA and a leaf for `name` signed by it, the leaf file carrying the chain (leaf, CA).
    func chain(in dir: URL, name: String) async throws -> (chain: String, key: String, ca: String) {
        let d = dir.path
        _ = try await sh("""
            cd '\(d)' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 \
              -subj /CN=Test-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null && \
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=\(name) 2>/dev/null && \
            printf 'subjectAltName=DNS:\(name)\\nextendedKeyUsage=serverAuth\\n' > ext && \
            openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext 2>/dev/null && \
            cat leaf.pem ca.pem > chain.pem
            """)
        return (d + "/chain.pem", d + "/leaf.key", d + "/ca.pem")
    }

    func deliver(port: Int, resolver: FixedResolver) async -> DirectDelivery.Outcome? {
        var c = DirectDelivery.Configuration(heloName: "mx.example.org")
        c.port = port
        c.connectTimeout = .seconds(5)
        c.commandTimeout = .seconds(20)
        return await DirectDelivery(configuration: c, resolver: resolver)
            .deliver(from: "a@example.org", to: ["b@dest.test"], domain: "dest.test", message: message)["b@dest.test"]
    }

    @Test("DANE-EE 3 1 1 and DANE-TA 2 0 1 verify; a wrong digest, a leaf for another name under the TA, no STARTTLS or a failed TLSA lookup defer; insecure MX ignores TLSA")
    func dane() async throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let goodDir = dir.appendingPathComponent("good"), otherDir = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: goodDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: otherDir, withIntermediateDirectories: true)
        let good = try await chain(in: goodDir, name: "mx.dest.test")
        // Signed by the same CA, for another name.
        _ = try await sh("""
            cd '\(otherDir.path)' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=other.test 2>/dev/null && \
            printf 'subjectAltName=DNS:other.test\\n' > ext && \
            openssl x509 -req -in leaf.csr -CA '\(good.ca)' -CAkey '\(goodDir.path)/ca.key' -CAcreateserial -out leaf.pem -days 2 -extfile ext 2>/dev/null && \
            cat leaf.pem '\(good.ca)' > chain.pem
            """)
        let leafSPKI = hex(try await sh("openssl x509 -in '\(goodDir.path)/leaf.pem' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64"))
        let caDigest = hex(try await sh("openssl x509 -in '\(good.ca)' -outform DER | sha256sum | cut -c1-64"))
        #expect(leafSPKI.count == 32 && caDigest.count == 32)

        let (server, sdir) = try await DirectDeliveryTests().server("127.0.0.2", ["--cert", good.chain, "--key", good.key])
        defer { try? FileManager.default.removeItem(at: sdir) }
        let (other, odir) = try await DirectDeliveryTests().server("127.0.0.3", port: server.port,
                                                                    ["--cert", otherDir.path + "/chain.pem", "--key", otherDir.path + "/leaf.key"])
        defer { try? FileManager.default.removeItem(at: odir) }
        let (plain, pdir) = try await DirectDeliveryTests().server("127.0.0.4", port: server.port)
        defer { try? FileManager.default.removeItem(at: pdir) }

        func resolver(_ address: String, _ records: [TLSARecord], secure: Bool = true, failing: Set<String> = []) -> FixedResolver {
            FixedResolver(mx: ["dest.test": [MailExchanger(preference: 10, host: "mx.dest.test")]], hosts: ["mx.dest.test": [address]],
                          failing: failing, secure: secure ? ["dest.test"] : [], tlsa: ["mx.dest.test": records])
        }
        let ee = TLSARecord(usage: 3, selector: 1, matchingType: 1, data: leafSPKI)
        let ta = TLSARecord(usage: 2, selector: 0, matchingType: 1, data: caDigest)
        var wrong = ee
        wrong.data[0] ^= 0xFF
        // Names and the CA do not matter for DANE-EE: only the key.
        #expect(await deliver(port: server.port, resolver: resolver("127.0.0.2", [ee])) == .delivered(host: "mx.dest.test", security: .dane))
        #expect(await deliver(port: server.port, resolver: resolver("127.0.0.2", [ta])) == .delivered(host: "mx.dest.test", security: .dane))
        #expect(await deliver(port: server.port, resolver: resolver("127.0.0.2", [wrong, TLSARecord(usage: 1, selector: 1, matchingType: 1, data: leafSPKI)]))
                != .delivered(host: "mx.dest.test", security: .dane), "a wrong 3 1 1; PKIX-EE(1) is not usable for SMTP")
        guard case .deferred = await deliver(port: server.port, resolver: resolver("127.0.0.3", [ta])) else { Issue.record("TA signs a leaf for another name"); return }
        guard case .deferred = await deliver(port: server.port, resolver: resolver("127.0.0.4", [ee])) else { Issue.record("no STARTTLS"); return }
        guard case .deferred = await deliver(port: server.port, resolver: resolver("127.0.0.2", [ee], failing: ["mx.dest.test"])) else { Issue.record("TLSA lookup failed"); return }
        // MX answer not DNSSEC-validated: TLSA ignored, opportunistic TLS.
        #expect(await deliver(port: server.port, resolver: resolver("127.0.0.2", [wrong], secure: false)) == .delivered(host: "mx.dest.test", security: .opportunistic))
        await server.stop(); await other.stop(); await plain.stop()
        #expect(try server.received().count == 3, "DANE-EE, DANE-TA, insecure")
        #expect(try other.received().isEmpty && plain.received().isEmpty)
    }
}

@Suite("MTA-STS policies (RFC 8461)")
struct MTASTSTests {
    @Test("policy text: fields, line ends, limits; errors for what is missing or malformed")
    func parse() throws {
        let p = try MTASTSPolicy.parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\nfuture: ignored\n")
        #expect(p == MTASTSPolicy(mode: .enforce, mx: ["mail.example.com", "*.example.net"], maxAge: 604_800))
        #expect(try MTASTSPolicy.parse("version: STSv1\r\nmode: none\r\nmax_age: 999999999\r\n").maxAge == MTASTSPolicy.maxAgeLimit)
        for bad in ["mode: enforce\nmx: a.example\nmax_age: 1\n", "version: STSv1\nmode: sometimes\nmx: a.example\nmax_age: 1\n",
                    "version: STSv1\nmode: enforce\nmax_age: 1\n", "version: STSv1\nmode: enforce\nmx: a.example\n",
                    "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", "version: STSv1\nmode: testing\nmx: a.example\nmax_age: -1\n",
                    String(repeating: "x", count: 70_000)] {
            #expect(throws: MTASTSPolicy.Failure.self) { try MTASTSPolicy.parse(bad) }
        }
    }

    @Test("mx patterns: exact names, and *. for exactly one more label; case and a final dot ignored")
    func patterns() {
        let p = MTASTSPolicy(mode: .enforce, mx: ["mail.example.com", "*.example.net"], maxAge: 1)
        #expect(p.allows("MAIL.example.com.") && p.allows("mx1.example.net"))
        #expect(!p.allows("example.net") && !p.allows("a.b.example.net") && !p.allows("xmail.example.com") && !p.allows("evil-example.net"))
    }

    @Test("the TXT record: one v=STSv1 record with an id of 1–32 letters or digits")
    func record() {
        #expect(MTASTSRecord.find(in: ["v=spf1 -all", "v=STSv1; id=20160831085700Z;"]) == MTASTSRecord(id: "20160831085700Z"))
        #expect(MTASTSRecord.find(in: ["v=STSv1; id=a", "v=STSv1; id=b"]) == nil)
        #expect(MTASTSRecord.parse("v=STSv1; id=no-dashes") == nil && MTASTSRecord.parse("v=STSv1;") == nil)
    }

    @Test("the cache: fetched once per id; kept when the record goes or a fetch fails, until max_age; refetched for a new id")
    func cache() async {
        actor State { var txt = ["v=STSv1; id=one"]; var fetches = 0; var fail = false
            func set(txt: [String]) { self.txt = txt }; func set(fail: Bool) { self.fail = fail }; func fetched() { fetches += 1 } }
        let state = State()
        let cache = MTASTSPolicyCache(txt: { _ in await state.txt }, fetch: { _ in
            await state.fetched()
            if await state.fail { throw MTASTSPolicy.Failure(description: "down") }
            return "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 3600\n"
        })
        let t0 = Date()
        #expect(await cache.policy(for: "example.com", now: t0)?.mode == .enforce)
        #expect(await cache.policy(for: "Example.COM", now: t0.addingTimeInterval(10))?.mode == .enforce)
        #expect(await state.fetches == 1)
        await state.set(txt: [])
        #expect(await cache.policy(for: "example.com", now: t0.addingTimeInterval(20)) != nil, "the record gone: the cached policy stays")
        await state.set(txt: ["v=STSv1; id=two"]); await state.set(fail: true)
        #expect(await cache.policy(for: "example.com", now: t0.addingTimeInterval(30)) != nil, "a failed fetch keeps the cached policy")
        #expect(await state.fetches == 2)
        #expect(await cache.policy(for: "example.com", now: t0.addingTimeInterval(4000)) == nil, "past max_age with nothing new: none")
        await state.set(fail: false)
        #expect(await cache.policy(for: "example.com", now: t0.addingTimeInterval(4010)) != nil)
        #expect(await cache.policy(for: "other.example", now: t0) != nil, "another domain, its own entry")
    }
}

@Suite("MTA-STS policy fetch over HTTPS")
struct MTASTSFetchTests {
    @Test("a policy over verified HTTPS; refused: an untrusted certificate, a redirect, another media type, more than 64 KB")
    func fetch() async throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let certs = try await TestEnvironment.makeCertificate(in: dir)
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/OutboundTests/Servers/policy_https_server.py").path
        let ready = dir.appendingPathComponent("ready").path
        let child = try TestChild(TestEnvironment.venvPython, [script, "--cert", certs.cert, "--key", certs.key, "--ready", ready])
        let port = Int(try await TestEnvironment.waitForFile(ready, while: { !child.hasExited }).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let base = "https://localhost:\(port)"
        let trusted = MTASTSFetcher(trustRoots: [certs.cert], connectTimeout: .seconds(3)), untrusted = MTASTSFetcher(connectTimeout: .seconds(3))
        let text = try await trusted.fetch(base + "/.well-known/mta-sts.txt")
        #expect(try MTASTSPolicy.parse(text).mx == ["mx.dest.test"])
        for (fetcher, path) in [(untrusted, "/.well-known/mta-sts.txt"), (trusted, "/redirect"), (trusted, "/html"), (trusted, "/big")] {
            await #expect(throws: (any Error).self, "\(path)") { try await fetcher.fetch(base + path) }
        }
        await child.stop()
    }
}

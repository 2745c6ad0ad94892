import DNSCore
import MailAuth
import Synchronization
import Testing

/// A resolver over a table that counts the questions it is asked.
final class CountingResolver: DNSResolving {
    let table: InMemoryDNSResolver
    let asked = Mutex(0)
    init(_ table: InMemoryDNSResolver) { self.table = table }
    var count: Int { asked.withLock { $0 } }
    func query(_ name: DNSName, _ type: DNSRecordType) async throws -> DNSAnswer<DNSRecord> {
        asked.withLock { $0 += 1 }
        return try await table.query(name, type)
    }
}

@Suite struct SPFVerifierTests {
    static let client = IPAddress("192.0.2.10")!

    static func zone(_ entries: [(String, [DNSRecord])]) -> InMemoryDNSResolver {
        var resolver = InMemoryDNSResolver()
        for (name, records) in entries { resolver.add(try! DNSName(name), records) }
        return resolver
    }

    static func txt(_ text: String) -> DNSRecord { .txt(TXTRecord(strings: [Array(text.utf8)])) }

    @Test("pass, fail with its explanation, reason and identity") func basics() async throws {
        let resolver = Self.zone([
            ("example.com", [Self.txt("v=spf1 ip4:192.0.2.0/28 a:mail.example.com -all exp=why.example.com")]),
            ("why.example.com", [Self.txt("%{i} may not send for %{d} (%{s}, seen by %{r})")]),
            ("mail.example.com", [.a(IPAddress("198.51.100.7")!)]),
        ])
        let verifier = SPFVerifier(resolver: resolver, receivingHost: "mx.sealbox.test")
        let pass = await verifier.verify(ip: Self.client, helo: "client.example.org", mailFrom: "alice@example.com")
        #expect(pass == SPFOutcome(result: .pass, identity: .mailFrom, domain: "example.com", sender: "alice@example.com",
                                   reason: "ip4:192.0.2.0/28 in the SPF record of example.com"))
        let viaA = await verifier.verify(ip: IPAddress("198.51.100.7")!, helo: "x", mailFrom: "<bob@example.com>")
        #expect(viaA.result == .pass && viaA.sender == "bob@example.com")
        let fail = await verifier.verify(ip: IPAddress("203.0.113.5")!, helo: "x", mailFrom: "bob@example.com")
        #expect(fail.result == .fail)
        #expect(fail.explanation == "203.0.113.5 may not send for example.com (bob@example.com, seen by mx.sealbox.test)")
        #expect(fail.reason == "-all in the SPF record of example.com")
        let mapped = await verifier.verify(ip: IPAddress("::ffff:192.0.2.10")!, helo: "x", mailFrom: "bob@example.com")
        #expect(mapped.result == .pass)
    }

    @Test("null MAIL FROM checks postmaster@HELO; a HELO that is no domain gives none") func heloIdentity() async throws {
        let resolver = Self.zone([("mx.example.org", [Self.txt("v=spf1 a -all"), .a(Self.client)])])
        let verifier = SPFVerifier(resolver: resolver)
        let helo = await verifier.verify(ip: Self.client, helo: "mx.example.org", mailFrom: "")
        #expect(helo.result == .pass && helo.identity == .helo && helo.sender == "postmaster@mx.example.org" && helo.domain == "mx.example.org")
        #expect(await verifier.verify(ip: Self.client, helo: "mx.example.org", mailFrom: "<>").identity == .helo)
        for bad in ["[192.0.2.10]", "192.0.2.10", "localhost", "", "a..b", "bad name.example"] {
            let outcome = await verifier.verify(ip: Self.client, helo: bad, mailFrom: "")
            #expect(outcome.result == .none && outcome.identity == .helo, "\(bad)")
        }
        let noLocal = await verifier.checkHost(ip: Self.client, domain: "mx.example.org", sender: "@mx.example.org", helo: "h")
        #expect(noLocal.sender == "postmaster@mx.example.org" && noLocal.result == .pass)
    }

    @Test("DNS failures are temperror, a missing record none, two records permerror") func recordSelection() async throws {
        var resolver = Self.zone([
            ("two.example.com", [Self.txt("v=spf1 -all"), Self.txt("v=spf1 +all"), Self.txt("google-site-verification=x")]),
            ("other.example.com", [Self.txt("not spf"), Self.txt("v=spf10 +all")]),
            ("split.example.com", [.txt(TXTRecord(strings: [Array("v=spf1 ip4:192.0.2.10".utf8), Array(" -all".utf8)]))]),
        ])
        resolver.fail(try DNSName("down.example.com"), .txt, with: .serverFailure)
        resolver.fail(try DNSName("bogus.example.com"), .txt, with: .bogus)
        let verifier = SPFVerifier(resolver: resolver)
        func result(_ domain: String) async -> SPFResult { await verifier.checkHost(ip: Self.client, domain: domain, sender: "a@\(domain)", helo: "h").result }
        #expect(await result("two.example.com") == .permerror)
        #expect(await result("other.example.com") == .none)
        #expect(await result("nowhere.example.com") == .none)
        #expect(await result("split.example.com") == .pass)
        #expect(await result("down.example.com") == .temperror)
        #expect(await result("bogus.example.com") == .temperror)
        #expect(await result(String(repeating: "a", count: 64) + ".example.com") == .none)
    }

    @Test("an include loop is permerror after 10 DNS-querying terms") func includeLoop() async throws {
        let resolver = CountingResolver(Self.zone([
            ("a.example.com", [Self.txt("v=spf1 include:b.example.com -all")]),
            ("b.example.com", [Self.txt("v=spf1 include:a.example.com -all")]),
        ]))
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await SPFVerifier(resolver: resolver).checkHost(ip: Self.client, domain: "a.example.com", sender: "x@a.example.com", helo: "h")
        #expect(outcome.result == .permerror)
        #expect(outcome.reason?.contains("more than 10 DNS-querying") == true, "\(outcome.reason ?? "")")
        #expect(resolver.count == 11)  // the first TXT lookup and one per include
        #expect(clock.now - start < .seconds(2))
    }

    @Test("a redirect to itself is permerror") func redirectLoop() async throws {
        let resolver = Self.zone([("loop.example.com", [Self.txt("v=spf1 redirect=loop.example.com")])])
        let outcome = await SPFVerifier(resolver: resolver).checkHost(ip: Self.client, domain: "loop.example.com", sender: "x@loop.example.com", helo: "h")
        #expect(outcome.result == .permerror)
    }

    @Test("hostile records end in permerror quickly, with a bounded number of queries") func hostile() async throws {
        // 180 `mx` terms, each target with 10 MX hosts; a chain of 50 includes; a huge record; a
        // record whose macros expand to ~5 KB names (cut to 253 bytes, then void); void lookups.
        var entries: [(String, [DNSRecord])] = [
            ("mx.example.com", [Self.txt("v=spf1" + String(repeating: " mx:hosts.example.com", count: 180))]),
            ("hosts.example.com", (0..<10).map { .mx(MXRecord(preference: UInt16($0), exchange: try! DNSName("h\($0).example.com"))) }),
            ("huge.example.com", [.txt(TXTRecord(strings: [Array("v=spf1".utf8)] + Array(repeating: Array(" ip4:192.0.2.1".utf8), count: 300)))]),
            ("macro.example.com", [Self.txt("v=spf1 " + String(repeating: "exists:" + String(repeating: "%{s}", count: 250) + ".com ", count: 3))]),
            ("void.example.com", [Self.txt("v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com a:n4.example.com +all")]),
        ]
        for i in 0..<50 { entries.append(("c\(i).example.com", [Self.txt("v=spf1 include:c\(i + 1).example.com")])) }
        for i in 0..<10 { entries.append(("h\(i).example.com", [.a(IPAddress("198.51.100.\(i)")!)])) }
        let resolver = CountingResolver(Self.zone(entries))
        let verifier = SPFVerifier(resolver: resolver)
        let clock = ContinuousClock()
        for (domain, maxQueries) in [("mx.example.com", 1 + 10 * 11), ("c0.example.com", 11), ("huge.example.com", 1),
                                     ("macro.example.com", 4), ("void.example.com", 4)] {
            let before = resolver.count
            let start = clock.now
            let outcome = await verifier.checkHost(ip: Self.client, domain: domain, sender: "x@\(domain)", helo: "h")
            #expect(outcome.result == .permerror, "\(domain): \(outcome)")
            #expect(resolver.count - before <= maxQueries, "\(domain): \(resolver.count - before) queries")
            #expect(clock.now - start < .seconds(2), "\(domain)")
        }
    }

    @Test("more than 10 MX records is permerror; 10 PTR names are checked, the rest ignored") func recordLimits() async throws {
        var entries: [(String, [DNSRecord])] = [
            ("mx11.example.com", [Self.txt("v=spf1 mx -all")] + (0..<11).map { .mx(MXRecord(preference: 0, exchange: try! DNSName("m\($0).example.com"))) }),
            ("ptr.example.com", [Self.txt("v=spf1 ptr -all")]),
            ("10.2.0.192.in-addr.arpa", (0..<11).map { .ptr(try! DNSName("p\($0).\($0 == 10 ? "ptr" : "other").example.com")) }),
        ]
        for i in 0..<11 { entries.append(("p\(i).\(i == 10 ? "ptr" : "other").example.com", [.a(Self.client)])) }
        let verifier = SPFVerifier(resolver: Self.zone(entries))
        #expect(await verifier.checkHost(ip: Self.client, domain: "mx11.example.com", sender: "x@mx11.example.com", helo: "h").result == .permerror)
        #expect(await verifier.checkHost(ip: Self.client, domain: "ptr.example.com", sender: "x@ptr.example.com", helo: "h").result == .fail)
        let more = SPFVerifier(resolver: Self.zone(entries), limits: SPFLimits(mxAddresses: 11, ptrNames: 11))
        #expect(await more.checkHost(ip: Self.client, domain: "ptr.example.com", sender: "x@ptr.example.com", helo: "h").result == .pass)
        #expect(await more.checkHost(ip: Self.client, domain: "mx11.example.com", sender: "x@mx11.example.com", helo: "h").result == .fail)
    }

    @Test("void lookups: two are allowed, the third is permerror") func voidLookups() async throws {
        let resolver = Self.zone([
            ("two.example.com", [Self.txt("v=spf1 a:n1.example.com exists:n2.example.com ?all")]),
            ("three.example.com", [Self.txt("v=spf1 a:n1.example.com mx:n2.example.com exists:n3.example.com ?all")]),
        ])
        let verifier = SPFVerifier(resolver: resolver)
        #expect(await verifier.checkHost(ip: Self.client, domain: "two.example.com", sender: "x@two.example.com", helo: "h").result == .neutral)
        #expect(await verifier.checkHost(ip: Self.client, domain: "three.example.com", sender: "x@three.example.com", helo: "h").result == .permerror)
    }

    @Test("a cancelled check is temperror") func cancellation() async throws {
        let resolver = Self.zone([("example.com", [Self.txt("v=spf1 -all")])])
        let task = Task { await SPFVerifier(resolver: SlowResolver(inner: resolver)).checkHost(ip: Self.client, domain: "example.com", sender: "a@example.com", helo: "h") }
        task.cancel()
        #expect(await task.value.result == .temperror)
    }
}

/// Waits (cancellably) before each answer.
struct SlowResolver: DNSResolving {
    let inner: InMemoryDNSResolver
    func query(_ name: DNSName, _ type: DNSRecordType) async throws -> DNSAnswer<DNSRecord> {
        try await Task.sleep(for: .seconds(30))
        return try await inner.query(name, type)
    }
}

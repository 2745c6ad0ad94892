import DNSCore
import Testing

@Suite("a resolver's result: records, or the error that tells permanent from temporary")
struct DNSResolutionTests {
    let question = DNSQuestion(try! DNSName("example.com"), .mx)
    static let mx: [UInt8] = [0, 10, 2, 0x6D, 0x78, 0]

    func result(rcode: Int = 0, hasData: Bool = true, nx: Bool = false, secure: Bool = false, bogus: Bool = false,
                canonical: String? = nil, rdata: [[UInt8]] = [mx]) -> DNSResolution {
        DNSResolution(rcode: rcode, hasData: hasData, nameDoesNotExist: nx, secure: secure, bogus: bogus,
                      whyBogus: bogus ? "signature expired" : nil, ttl: 300, canonicalName: canonical, rdata: rdata)
    }

    @Test("records with TTL, security and the canonical name")
    func answer() throws {
        let a = try result(secure: true, canonical: "mx.example.net.").answer(to: question)
        #expect(a.records == [.mx(MXRecord(preference: 10, exchange: try DNSName("mx")))])
        #expect(a.ttl == 300 && a.isSecure)
        #expect(a.canonicalName == (try DNSName("mx.example.net")) && a.followedAlias)
        #expect(try !result().answer(to: question).followedAlias)
    }

    @Test("bogus wins over everything, even data (libunbound hands the tampered data over)")
    func bogus() {
        #expect { try result(secure: false, bogus: true).answer(to: question) } throws: { error in
            guard let e = error as? DNSError else { return false }
            return e.code == .bogus && e.isTemporary && e.reason == "signature expired" && e.question == question
        }
    }

    @Test("NXDOMAIN and NODATA are permanent, with the DNSSEC proof and negative TTL")
    func denials() {
        #expect { try result(rcode: 3, hasData: false, nx: true, secure: true, rdata: []).answer(to: question) } throws: { error in
            guard let e = error as? DNSError else { return false }
            return e.code == .nameNotFound && !e.isTemporary && e.isNotFound && e.isSecure && e.ttl == 300
        }
        #expect { try result(hasData: false, rdata: []).answer(to: question) } throws: { error in
            guard let e = error as? DNSError else { return false }
            return e.code == .noData && !e.isTemporary && e.isNotFound && !e.isSecure
        }
    }

    @Test("error rcodes are temporary server failures, named", arguments: [(2, "SERVFAIL"), (5, "REFUSED"), (1, "FORMERR"), (9, "rcode 9")])
    func serverFailures(rcode: Int, name: String) {
        #expect { try result(rcode: rcode, hasData: false, rdata: []).answer(to: question) } throws: { error in
            guard let e = error as? DNSError else { return false }
            return e.code == .serverFailure && e.isTemporary && !e.isNotFound && e.reason == name
        }
    }

    @Test("one malformed record fails the answer; so do too many records")
    func malformed() {
        #expect { try result(rdata: [Self.mx, [0, 1]]).answer(to: question) } throws: { error in
            (error as? DNSError)?.code == .malformedAnswer && (error as? DNSError)?.question == question
        }
        let many = Array(repeating: Self.mx, count: DNSLimits.maxRecordsPerAnswer + 1)
        #expect { try result(rdata: many).answer(to: question) } throws: { ($0 as? DNSError)?.code == .malformedAnswer }
    }

    @Test("descriptions say the question and what happened")
    func descriptions() {
        #expect(DNSError(.nameNotFound, question: question, isSecure: true).description == "example.com MX: no such name (NXDOMAIN, DNSSEC-proven)")
        #expect(DNSError(.timedOut, question: question).description == "example.com MX: no answer in time")
        #expect(DNSError(.bogus, reason: "x").description == "DNSSEC validation failed (bogus): x")
    }
}

@Suite("the typed helpers and the in-memory resolver")
struct InMemoryDNSResolverTests {
    func resolver() throws -> InMemoryDNSResolver {
        var r = InMemoryDNSResolver()
        r.add(try DNSName("example.com"), [.mx(MXRecord(preference: 20, exchange: try DNSName("b.example.com"))),
                                           .mx(MXRecord(preference: 10, exchange: try DNSName("a.example.com"))),
                                           .mx(MXRecord(preference: 20, exchange: try DNSName("c.example.com"))),
                                           .txt(TXTRecord(strings: [Array("v=spf1 ".utf8), Array("-all".utf8)]))])
        r.add(try DNSName("a.example.com"), [.a(IPAddress("192.0.2.1")!)], isSecure: true)
        r.add(try DNSName("www.example.com"), [.cname(try DNSName("a.example.com"))])
        r.add(try DNSName("_25._tcp.a.example.com"), [.tlsa(TLSARecord(usage: 3, selector: 1, matchingType: 1, data: [1]))])
        r.add(DNSName.reverse(IPAddress("192.0.2.1")!), [.ptr(try DNSName("a.example.com"))])
        r.fail(try DNSName("broken.example.com"), .txt, with: .serverFailure)
        return r
    }

    @Test("MX by preference (stable among equals), TXT joined, CNAME followed, TLSA by port, PTR by address")
    func helpers() async throws {
        let r = try resolver()
        let mx = try await r.mx(try DNSName("example.com"))
        #expect(mx.records.map(\.exchange.description) == ["a.example.com", "b.example.com", "c.example.com"])
        #expect(try await r.txt(try DNSName("example.com")).records.map(\.text) == ["v=spf1 -all"])
        let www = try await r.a(try DNSName("www.example.com"))
        #expect(www.records.map(\.description) == ["192.0.2.1"] && www.canonicalName.description == "a.example.com" && www.isSecure)
        #expect(try await r.tlsa(port: 25, host: try DNSName("a.example.com")).records.first?.usage == 3)
        #expect(try await r.ptr(IPAddress("192.0.2.1")!).records.map(\.description) == ["a.example.com"])
    }

    @Test("unknown names are NXDOMAIN, known names without the type NODATA, listed failures fail")
    func errors() async throws {
        let r = try resolver()
        await #expect { try await r.a(try DNSName("nowhere.example.com")) } throws: { ($0 as? DNSError)?.code == .nameNotFound }
        await #expect { try await r.aaaa(try DNSName("a.example.com")) } throws: { ($0 as? DNSError)?.code == .noData }
        await #expect { try await r.txt(try DNSName("broken.example.com")) } throws: { ($0 as? DNSError)?.isTemporary == true }
    }
}

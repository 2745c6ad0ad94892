import DNSCore
import DNSResolver
import Foundation
import TestSupport
import Testing

@Suite("the resolver against a real authoritative server (nsd on loopback)", .enabled(if: TestDNSServer.isAvailable, "nsd and ldnsutils are not installed"))
struct UnboundResolverTests {
    @Test("MX by preference, A, AAAA, TXT with its strings, TLSA, SRV, PTR for IPv4 and IPv6: with TTLs, insecure")
    func recordTypes() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server)
        defer { dns.shutdown() }

        let mx = try await dns.mx(name("plain.example"))
        #expect(mx.records.map { "\($0.preference) \($0.exchange)" } == ["10 mx1.plain.example", "20 mx2.plain.example"])
        #expect((1...300).contains(mx.ttl) && !mx.isSecure && !mx.followedAlias)
        let null = try await dns.mx(name("nullmx.plain.example"))
        #expect(null.records.count == 1 && null.records[0].isNullMX)

        #expect(try await dns.a(name("mx1.plain.example")).records.map(\.description) == ["1.2.3.4"])
        #expect(try await dns.aaaa(name("MX1.Plain.Example.")).records.map(\.description) == ["2a01:4f8::25"])

        let txt = try await dns.txt(name("plain.example"))
        #expect(Set(txt.records.map(\.text)) == ["v=spf1 ip4:1.2.3.0/24 -all", "second record"])
        #expect(txt.records.first { $0.text.hasPrefix("v=spf1") }?.strings.count == 2)

        let tlsa = try await dns.tlsa(port: 25, host: name("mx1.plain.example"))
        #expect(tlsa.records == [TLSARecord(usage: 3, selector: 1, matchingType: 1, data: hexBytes(DNSTestZones.tlsaHex))])

        let srv = try await dns.srv(name("_submissions._tcp.plain.example"))
        #expect(srv.records == [SRVRecord(priority: 0, weight: 1, port: 465, target: name("mx1.plain.example"))])

        #expect(try await dns.ptr(DNSTestZones.ipv4).records == [name("mx1.plain.example")])
        #expect(try await dns.ptr(DNSTestZones.ipv6).records == [name("mx1.plain.example")])
    }

    @Test("a CNAME chain is followed and the answer names where it ended; a dangling one is NXDOMAIN")
    func cnameChain() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server)
        defer { dns.shutdown() }
        let a = try await dns.a(name("alias.plain.example"))
        #expect(a.records.map(\.description) == ["1.2.3.4"])
        #expect(a.canonicalName == name("mx1.plain.example") && a.followedAlias)
        #expect(await dnsError { try await dns.a(name("dangling.plain.example")) }?.code == .nameNotFound)
        // Asking for the CNAME itself gives the CNAME.
        #expect(try await dns.query(name("alias.plain.example"), .cname).records == [.cname(name("alias2.plain.example"))])
    }

    @Test("NXDOMAIN and NODATA are told apart, both permanent")
    func denials() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server)
        defer { dns.shutdown() }
        let nx = await dnsError { try await dns.a(name("nope.plain.example")) }
        #expect(nx?.code == .nameNotFound && nx?.isTemporary == false && nx?.isSecure == false)
        #expect(nx?.question == DNSQuestion(name("nope.plain.example"), .a))
        let nodata = await dnsError { try await dns.aaaa(name("mx2.plain.example")) }
        #expect(nodata?.code == .noData && nodata?.isTemporary == false && nodata?.isNotFound == true)
    }

    @Test("a zone the server refuses is a server failure: temporary")
    func serverFailure() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server)
        defer { dns.shutdown() }
        let error = await dnsError { try await dns.mx(name("unserved.example")) }
        #expect(error?.code == .serverFailure && error?.isTemporary == true, "\(String(describing: error))")
    }

    @Test("a server that never answers: the query ends with a timeout, a temporary error")
    func timeout() async throws {
        let silent = try SilentDNSServer()
        let dns = try silent.resolver(timeout: .seconds(1))
        defer { dns.shutdown() }
        let error = await dnsError { try await dns.mx(name("plain.example")) }
        #expect(error?.code == .timedOut && error?.isTemporary == true, "\(String(describing: error))")
        #expect(error?.question == DNSQuestion(name("plain.example"), .mx))
    }

    @Test("cancelling the caller's task ends its query with CancellationError")
    func cancellation() async throws {
        let silent = try SilentDNSServer()
        let dns = try silent.resolver(timeout: .seconds(300))
        defer { dns.shutdown() }
        let task = Task { try await dns.a(name("plain.example")) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The resolver still works for others after a cancellation.
        let second = Task { try await dns.a(name("mx1.plain.example")) }
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
    }

    @Test("DNSSEC: signed answers are secure, a tampered record is bogus, an unsigned zone is insecure, denials are proven")
    func dnssec() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server, anchored: true)
        defer { dns.shutdown() }

        let a = try await dns.a(name("mx.signed.example"))
        #expect(a.records.map(\.description) == ["1.2.3.7"] && a.isSecure)
        let tlsa = try await dns.tlsa(port: 25, host: name("mx.signed.example"))
        #expect(tlsa.isSecure && tlsa.records.count == 1)
        #expect(try await dns.mx(name("signed.example")).isSecure)

        let bogus = await dnsError { try await dns.a(name("bad.signed.example")) }
        #expect(bogus?.code == .bogus && bogus?.isTemporary == true, "\(String(describing: bogus))")
        #expect(bogus?.reason?.isEmpty == false)

        let nx = await dnsError { try await dns.a(name("nope.signed.example")) }
        #expect(nx?.code == .nameNotFound && nx?.isSecure == true)
        let nodata = await dnsError { try await dns.aaaa(name("mx.signed.example")) }
        #expect(nodata?.code == .noData && nodata?.isSecure == true)
        // DANE's case: no TLSA records, proven (RFC 7672 §2.2: then no DANE, rather than a deferral).
        let noTLSA = await dnsError { try await dns.tlsa(port: 25, host: name("signed.example")) }
        #expect(noTLSA?.isNotFound == true && noTLSA?.isSecure == true)

        // Outside the anchored zone: answers, but insecure.
        let plain = try await dns.mx(name("plain.example"))
        #expect(!plain.isSecure && plain.records.count == 2)
        let plainNX = await dnsError { try await dns.a(name("nope.plain.example")) }
        #expect(plainNX?.code == .nameNotFound && plainNX?.isSecure == false)
    }

    @Test("without a trust anchor nothing is secure, and the tampered record is not detected")
    func noTrustAnchor() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server, anchored: false)
        defer { dns.shutdown() }
        #expect(try await !dns.a(name("mx.signed.example")).isSecure)
        #expect(try await dns.a(name("bad.signed.example")).records.map(\.description) == ["1.2.3.9"])
    }

    @Test("answers are cached for their TTL: after the server has gone, a cached answer still comes")
    func cache() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        let dns = try DNSTestZones.resolver(server, timeout: .seconds(2))
        defer { dns.shutdown() }
        let first = try await dns.mx(name("plain.example"))
        server.stop()
        let again = try await dns.mx(name("plain.example"))
        #expect(again.records == first.records && again.ttl <= first.ttl)
        // A question never asked is not in the cache (TXT: nsd sends no TXT records as additional data).
        #expect(await dnsError { try await dns.txt(name("mx2.plain.example")) }?.isTemporary == true)
    }

    @Test("bounded concurrency: 200 queries at once through 4 slots are all answered")
    func concurrency() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server, concurrency: 4)
        defer { dns.shutdown() }
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<200 {
                group.addTask { try await dns.a(name(i % 2 == 0 ? "mx1.plain.example" : "mx2.plain.example")).records[0].description }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(answers.count == 200)
        #expect(Set(answers) == ["1.2.3.4", "1.2.3.5"])
    }

    @Test("past the waiting limit a query fails at once as overloaded (temporary)")
    func overload() async throws {
        let silent = try SilentDNSServer()
        let dns = try silent.resolver(timeout: .seconds(2), concurrency: 1, waiting: 1)
        defer { dns.shutdown() }
        let codes = await withTaskGroup(of: DNSError.Code?.self) { group in
            for i in 0..<4 { group.addTask { await dnsError { try await dns.a(name("host\(i).plain.example")) }?.code } }
            return await group.reduce(into: [DNSError.Code?]()) { $0.append($1) }
        }
        #expect(codes.contains(.overloaded))
        #expect(codes.allSatisfy { $0 == .overloaded || $0 == .timedOut }, "\(codes)")
    }

    @Test("a slot is free again as soon as its query has ended: one slot, no waiting, queries one after another")
    func slotAccounting() async throws {
        let server = try await TestDNSServer(zones: DNSTestZones.zones)
        defer { server.stop() }
        let dns = try DNSTestZones.resolver(server, concurrency: 1, waiting: 0)
        defer { dns.shutdown() }
        for host in ["mx1", "mx2", "mx1", "nope", "mx2"] {
            let error = await dnsError { try await dns.a(name("\(host).plain.example")) }
            #expect(error == nil || error?.code == .nameNotFound, "\(host): \(String(describing: error))")
        }
        let silent = try SilentDNSServer()
        let slow = try silent.resolver(timeout: .seconds(1), concurrency: 1, waiting: 0)
        defer { slow.shutdown() }
        for _ in 0..<2 { #expect(await dnsError { try await slow.a(name("plain.example")) }?.code == .timedOut) }
    }

    @Test("shutdown fails pending and later queries with shutDown")
    func shutdown() async throws {
        let silent = try SilentDNSServer()
        let dns = try silent.resolver(timeout: .seconds(300))
        let pending = Task { await dnsError { try await dns.a(name("plain.example")) } }
        dns.shutdown()
        #expect(await pending.value?.code == .shutDown)
        #expect(await dnsError { try await dns.a(name("plain.example")) }?.code == .shutDown)
        dns.shutdown()  // idempotent
    }

    @Test("configuration errors are clear: a forwarder that is not an address, an unusable trust anchor")
    func configurationErrors() throws {
        for (server, problem) in [("dns.example.com", "not an IP address"), ("127.0.0.1@0", "port"), ("127.0.0.1@x", "port"), ("::1@70000", "port")] {
            #expect { try UnboundResolver(configuration: .init(servers: [server])) } throws: { "\($0)".contains(problem) }
        }
        #expect(throws: Never.self) { try UnboundResolver.checkServer("::1@5353") }
        #expect(throws: Never.self) { try UnboundResolver.checkServer("127.0.0.1") }
        let empty = NSTemporaryDirectory() + "sealbox-ta-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: empty, contents: Data("; nothing here\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect { try UnboundResolver(configuration: .init(trustAnchorFile: empty)) } throws: { "\($0)".contains("no DS or DNSKEY") }
        #expect { try UnboundResolver(configuration: .init(trustAnchorFile: "/nonexistent/root.key")) } throws: { "\($0)".contains("cannot be read") }
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(hex.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
        chars = chars.dropFirst(2)
    }
    return out
}

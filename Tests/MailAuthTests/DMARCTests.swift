import DNSCore
import Foundation
import MailAuth
import Testing

@Suite struct PublicSuffixListTests {
    let list = PublicSuffixList(text: """
        // comment
        com
        uk
        co.uk
        *.ck
        !www.ck
        jp
        *.kawasaki.jp
        !city.kawasaki.jp
        github.io
        """)

    @Test func organizationalDomains() {
        #expect(list.organizationalDomain(of: "mail.example.com") == "example.com")
        #expect(list.organizationalDomain(of: "Example.COM.") == "example.com")
        #expect(list.organizationalDomain(of: "a.b.example.co.uk") == "example.co.uk")
        #expect(list.organizationalDomain(of: "co.uk") == "co.uk")
        #expect(list.organizationalDomain(of: "x.y.foo.ck") == "y.foo.ck")  // *.ck: foo.ck is a suffix
        #expect(list.organizationalDomain(of: "a.www.ck") == "www.ck")  // !www.ck: www.ck is not
        #expect(list.organizationalDomain(of: "a.city.kawasaki.jp") == "city.kawasaki.jp")
        #expect(list.organizationalDomain(of: "a.b.other.kawasaki.jp") == "b.other.kawasaki.jp")
        #expect(list.organizationalDomain(of: "me.github.io") == "me.github.io")
        #expect(list.organizationalDomain(of: "host.unknown-tld") == "host.unknown-tld")  // default rule "*"
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: PublicSuffixList.debianPath), "Debian publicsuffix is not installed"))
    func debianList() throws {
        let debian = try PublicSuffixList()
        #expect(debian.ruleCount > 5_000)
        #expect(debian.organizationalDomain(of: "mail.bbc.co.uk") == "bbc.co.uk")
        #expect(debian.organizationalDomain(of: "x.blogspot.com") == "x.blogspot.com")
    }
}

@Suite struct DMARCRecordTests {
    @Test func parsesTags() throws {
        let r = try DMARCRecord.parse("v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=25; rua=mailto:a@example.com,mailto:b@example.com!10m; fo=1")
        #expect(r.policy == .quarantine && r.subdomainPolicy == .reject && r.dkimAlignment == .strict && r.spfAlignment == .relaxed)
        #expect(r.percent == 25 && r.aggregateReportURIs.count == 2)
    }

    @Test func refusals() {
        #expect(throws: DMARCRecord.ParseError.self) { try DMARCRecord.parse("p=reject; v=DMARC1") }  // v= must be first
        #expect(throws: DMARCRecord.ParseError.self) { try DMARCRecord.parse("v=DMARC1; p=bogus") }
        #expect(throws: DMARCRecord.ParseError.self) { try DMARCRecord.parse("v=DMARC1") }
        #expect(throws: DMARCRecord.ParseError.self) { try DMARCRecord.parse("v=DMARC1; p=reject; pct=150") }
        #expect(throws: DMARCRecord.ParseError.self) { try DMARCRecord.parse("v=spf1 -all") }
        // No valid p= but a valid rua=: p=none (RFC 7489 §6.6.3).
        #expect((try? DMARCRecord.parse("v=DMARC1; rua=mailto:r@example.com"))?.policy == DMARCRecord.Policy.none)
    }
}

@Suite struct DMARCVerifierTests {
    static let list = PublicSuffixList(text: "com\nexample\nco.uk")

    static func resolver(_ records: [(String, String)]) throws -> InMemoryDNSResolver {
        var r = InMemoryDNSResolver()
        for (name, text) in records { r.add(try DNSName(name), [.txt(TXTRecord(strings: [Array(text.utf8)]))]) }
        return r
    }

    @Test func alignmentAndPolicies() async throws {
        let dns = try Self.resolver([
            ("_dmarc.bank.example", "v=DMARC1; p=reject"),
            ("_dmarc.shop.example", "v=DMARC1; p=quarantine; sp=none; adkim=s; aspf=s"),
            ("_dmarc.news.example", "v=DMARC1; p=reject; pct=0"),
        ])
        let v = DMARCVerifier(resolver: dns, publicSuffixList: Self.list, sample: { 50 })
        // Relaxed alignment: a subdomain's DKIM pass aligns with the organizational domain.
        var o = await v.evaluate(fromDomain: "bank.example", spfPassDomain: nil, dkimPassDomains: ["mail.bank.example"])
        #expect(o.result == .pass && o.disposition == .none)
        o = await v.evaluate(fromDomain: "bank.example", spfPassDomain: "bank.example", dkimPassDomains: [])
        #expect(o.result == .pass)
        o = await v.evaluate(fromDomain: "bank.example", spfPassDomain: "evil.example", dkimPassDomains: ["evil.example"])
        #expect(o.result == .fail && o.disposition == .reject && o.policyDomain == "bank.example")
        // A subdomain without a record of its own: the organizational domain's record (p, no sp).
        o = await v.evaluate(fromDomain: "alerts.bank.example", spfPassDomain: nil, dkimPassDomains: [])
        #expect(o.result == .fail && o.disposition == .reject && o.policyDomain == "bank.example")
        // Strict alignment refuses the subdomain; sp=none applies to subdomains.
        o = await v.evaluate(fromDomain: "shop.example", spfPassDomain: "mail.shop.example", dkimPassDomains: ["mail.shop.example"])
        #expect(o.result == .fail && o.disposition == .quarantine)
        o = await v.evaluate(fromDomain: "x.shop.example", spfPassDomain: nil, dkimPassDomains: [])
        #expect(o.result == .fail && o.requestedPolicy == DMARCRecord.Policy.none && o.disposition == .none)
        // pct=0: sampled out, the next weaker policy.
        o = await v.evaluate(fromDomain: "news.example", spfPassDomain: nil, dkimPassDomains: [])
        #expect(o.result == .fail && o.requestedPolicy == .reject && o.disposition == .quarantine)
        // RFC 9091: np= for a subdomain that does not exist; sp= for one that does.
        var withNP = dns
        try withNP.add(DNSName("_dmarc.corp.example"), [.txt(TXTRecord(strings: [Array("v=DMARC1; p=none; sp=quarantine; np=reject".utf8)]))])
        try withNP.add(DNSName("real.corp.example"), [.a(#require(IPAddress("192.0.2.10")))])
        let npVerifier = DMARCVerifier(resolver: withNP, publicSuffixList: Self.list, sample: { 50 })
        o = await npVerifier.evaluate(fromDomain: "ghost.corp.example", spfPassDomain: nil, dkimPassDomains: [])
        #expect(o.result == .fail && o.requestedPolicy == .reject && o.disposition == .reject)
        o = await npVerifier.evaluate(fromDomain: "real.corp.example", spfPassDomain: nil, dkimPassDomains: [])
        #expect(o.result == .fail && o.requestedPolicy == .quarantine)
        // No record anywhere.
        o = await v.evaluate(fromDomain: "plain.example", spfPassDomain: nil, dkimPassDomains: [])
        #expect(o.result == .none)
    }

    @Test func dnsFailuresAndOddRecords() async throws {
        var dns = try Self.resolver([
            ("_dmarc.two.example", "v=DMARC1; p=reject"),
            ("_dmarc.two.example", "v=DMARC1; p=none"),
            ("_dmarc.junk.example", "v=DMARC1; p=whatever"),
        ])
        dns.fail(try DNSName("_dmarc.slow.example"), .txt, with: .timedOut)
        let v = DMARCVerifier(resolver: dns, publicSuffixList: Self.list)
        #expect(await v.evaluate(fromDomain: "slow.example", spfPassDomain: nil, dkimPassDomains: []).result == .temperror)
        #expect(await v.evaluate(fromDomain: "two.example", spfPassDomain: nil, dkimPassDomains: []).result == .none)  // two records: none
        #expect(await v.evaluate(fromDomain: "junk.example", spfPassDomain: nil, dkimPassDomains: []).result == .none)
        #expect(await v.evaluate(fromDomain: "not a domain", spfPassDomain: nil, dkimPassDomains: []).result == .permerror)
    }
}

@Suite struct AuthenticationResultsTests {
    @Test func fieldFormat() {
        let ar = AuthenticationResults(authservID: "mx.example.org", methods: [
            .init("spf", "pass", properties: [("smtp.mailfrom", "a.b@sender.example")]),
            .init("dkim", "fail", comment: "body hash (did not) match", properties: [("header.d", "sender.example"), ("header.b", "abc+/=12")]),
            .init("dmarc", "pass", comment: "p=reject dis=none", properties: [("header.from", "sender.example")]),
            .init("spf", "none", properties: [("smtp.mailfrom", "odd local\"part@x.example")]),
        ])
        #expect(ar.field == "Authentication-Results: mx.example.org;\r\n\tspf=pass smtp.mailfrom=a.b@sender.example;\r\n"
            + "\tdkim=fail (body hash \\(did not\\) match) header.d=sender.example header.b=abc+/=12;\r\n"
            + "\tdmarc=pass (p=reject dis=none) header.from=sender.example;\r\n"
            + "\tspf=none smtp.mailfrom=\"odd local\\\"part@x.example\"\r\n")
        #expect(AuthenticationResults(authservID: "mx", methods: []).field == "Authentication-Results: mx; none\r\n")
        #expect(ar.resultsText == "spf=pass smtp.mailfrom=a.b@sender.example; dkim=fail (body hash \\(did not\\) match) header.d=sender.example "
            + "header.b=abc+/=12; dmarc=pass (p=reject dis=none) header.from=sender.example; spf=none smtp.mailfrom=\"odd local\\\"part@x.example\"")
    }

    /// What the MX hands to the forwarder (`auth.results`) is what ARCSealer takes: one line, folded by the sealer.
    @Test func reportResultsSealAForward() async throws {
        var dns = InMemoryDNSResolver()
        dns.add(try DNSName("sender.example"), [.txt(TXTRecord(strings: [Array("v=spf1 ip4:192.0.2.1 -all".utf8)]))])
        let auth = InboundAuthenticator(resolver: dns, publicSuffixList: PublicSuffixList(text: "example"), configuration: .unhurried("mx.test"))
        let message = Array("From: <a@sender.example>\r\nSubject: x\r\n\r\nbody\r\n".utf8)
        let report = await auth.check(message: message, clientIP: "192.0.2.1", helo: "mta.sender.example", mailFrom: "a@sender.example")
        #expect(report.results.methods.count == 4 && !report.results.resultsText.contains("\r") && !report.results.resultsText.contains("\n"))
        let key = try DKIMSigningKey.generate(domain: "fwd.example", selector: "arc", algorithm: .rsa)
        let sealed = try ARCSealer.seal(message, key: key, authservID: "mx.test", authenticationResults: report.results.resultsText, chain: report.arc)
        let text = String(decoding: sealed, as: UTF8.self)
        #expect(text.contains("ARC-Authentication-Results: i=1; mx.test;\r\n\tspf=pass") && text.contains(";\r\n\tarc=none\r\n"), "\(text)")
    }

    @Test func removesOnlyFieldsClaimingOurID() throws {
        let message = Array("""
            Authentication-Results: (forged) MX.example.org; dkim=pass\r
            Authentication-Results: other.example;\r
            \tspf=pass\r
            Authentication-Results: mx.example.org;\r
            \tdmarc=pass\r
            Subject: hi\r
            \r
            body\r

            """.utf8)
        let cleaned = try #require(AuthenticationResults.removingForged(from: message, authservID: "mx.example.org"))
        #expect(String(decoding: cleaned, as: UTF8.self) == "Authentication-Results: other.example;\r\n\tspf=pass\r\nSubject: hi\r\n\r\nbody\r\n")
        #expect(AuthenticationResults.removingForged(from: Array("Subject: x\r\n\r\nb\r\n".utf8), authservID: "mx.example.org") == nil)
        #expect(AuthenticationResults.authservID(ofValue: Array(" (c (nested)) host.example ; x".utf8)) == "host.example")
    }
}

@Suite struct InboundAuthenticatorTests {
    static let list = PublicSuffixList(text: "example\ncom")

    @Test func forwardConfirmedReverseDNS() async throws {
        var dns = InMemoryDNSResolver()
        dns.add(DNSName.reverse(try #require(IPAddress("192.0.2.7"))), [.ptr(try DNSName("mail.sender.example"))])
        dns.add(try DNSName("mail.sender.example"), [.a(try #require(IPAddress("192.0.2.7")))])
        dns.add(DNSName.reverse(try #require(IPAddress("192.0.2.8"))), [.ptr(try DNSName("liar.example"))])
        dns.add(try DNSName("liar.example"), [.a(try #require(IPAddress("203.0.113.1")))])
        let auth = InboundAuthenticator(resolver: dns, publicSuffixList: Self.list, configuration: .unhurried("mx.test"))
        #expect(await auth.clientName(for: "192.0.2.7") == "mail.sender.example")
        #expect(await auth.clientName(for: "192.0.2.8") == nil)  // the name does not point back
        #expect(await auth.clientName(for: "192.0.2.9") == nil)  // no PTR
    }

    @Test func verdicts() async throws {
        var dns = InMemoryDNSResolver()
        func txt(_ name: String, _ text: String) throws { dns.add(try DNSName(name), [.txt(TXTRecord(strings: [Array(text.utf8)]))]) }
        try txt("bank.example", "v=spf1 ip4:192.0.2.1 -all")
        try txt("_dmarc.bank.example", "v=DMARC1; p=reject")
        try txt("_dmarc.shop.example", "v=DMARC1; p=quarantine")
        try txt("_dmarc.open.example", "v=DMARC1; p=none")
        dns.fail(try DNSName("slow.example"), .txt, with: .timedOut)
        try txt("_dmarc.slow.example", "v=DMARC1; p=reject")
        func message(from: String) -> [UInt8] { Array("From: <\(from)>\r\nSubject: x\r\n\r\nbody\r\n".utf8) }
        var configuration = InboundAuthenticator.Configuration.unhurried("mx.test")
        let auth = InboundAuthenticator(resolver: dns, publicSuffixList: Self.list, configuration: configuration)
        let spoofed = await auth.check(message: message(from: "ceo@bank.example"), clientIP: "192.0.2.99", helo: "x.example", mailFrom: "ceo@bank.example")
        #expect(spoofed.spf?.result == .fail && spoofed.dmarc.result == .fail)
        guard case .refuse(550, "5.7.1", _) = spoofed.verdict else { Issue.record("\(spoofed.verdict)"); return }
        #expect(await auth.check(message: message(from: "a@shop.example"), clientIP: "192.0.2.99", helo: "x", mailFrom: "a@shop.example").verdict == .junk)
        #expect(await auth.check(message: message(from: "a@open.example"), clientIP: "192.0.2.99", helo: "x", mailFrom: "a@open.example").verdict == .deliver)
        // SPF could not be checked: DMARC is a temporary error, and with p=reject the MX defers.
        let slow = await auth.check(message: message(from: "a@slow.example"), clientIP: "192.0.2.99", helo: "x", mailFrom: "a@slow.example")
        #expect(slow.dmarc.result == .temperror)
        guard case .refuse(451, "4.4.3", _) = slow.verdict else { Issue.record("\(slow.verdict)"); return }
        // auth.dmarcReject = junk; auth.dnsFailure = accept.
        configuration.rejectToJunk = true
        configuration.deferOnDNSFailure = false
        let lenient = InboundAuthenticator(resolver: dns, publicSuffixList: Self.list, configuration: configuration)
        #expect(await lenient.check(message: message(from: "ceo@bank.example"), clientIP: "192.0.2.99", helo: "x", mailFrom: "ceo@bank.example").verdict == .junk)
        #expect(await lenient.check(message: message(from: "a@slow.example"), clientIP: "192.0.2.99", helo: "x", mailFrom: "a@slow.example").verdict == .deliver)
        // Two From domains: the stricter outcome decides.
        let two = Array("From: <a@open.example>, <b@bank.example>\r\n\r\nx\r\n".utf8)
        guard case .refuse(550, _, _) = await auth.check(message: two, clientIP: "192.0.2.99", helo: "x", mailFrom: "").verdict else {
            Issue.record("two From domains"); return
        }
        // Thousands of signatures: the verifier checks 8, the header lists 10 and sums up the rest.
        let many = Array((String(repeating: "DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA\r\n", count: 2000)
            + "From: <a@open.example>\r\n\r\nx\r\n").utf8)
        let flooded = await auth.check(message: many, clientIP: "192.0.2.99", helo: "x", mailFrom: "a@open.example")
        #expect(flooded.dkim.count == 2000)
        let dkimEntries = flooded.results.methods.filter { $0.name == "dkim" }
        #expect(dkimEntries.count == 11 && dkimEntries.last?.comment == "1990 more signatures not checked", "\(dkimEntries.last.map(\.text) ?? "")")
        #expect(flooded.results.field.utf8.count < 3_000)
        // The header: every method, our authserv-id.
        let field = spoofed.results.field
        #expect(field.hasPrefix("Authentication-Results: mx.test;") && field.contains("spf=fail") && field.contains("dkim=none")
                && field.contains("dmarc=fail (p=reject dis=reject) header.from=bank.example") && field.contains("arc=none"), "\(field)")
    }
}

extension InboundAuthenticator.Configuration {
    /// For tests: a time budget no starved test process reaches (the suite runs beside others that
    /// block the cooperative pool; 20 s of wall time there is not 20 s of work). The budget itself
    /// is tested with a DNS server that never answers (InboundAuthServeTests).
    static func unhurried(_ authservID: String) -> Self {
        var configuration = Self(authservID: authservID)
        configuration.timeout = .seconds(600)
        return configuration
    }
}
